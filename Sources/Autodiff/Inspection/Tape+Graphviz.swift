internal import Foundation

// The recorded graph as Graphviz DOT text: one node per recorded operation, with its name,
// shape, call site, forward value and (after a sweep) gradient; one node per constant operand;
// edges from each operand to the operation that read it, in the order the operations ran.

extension Tape {
  /// The graph recorded on this tape, as Graphviz DOT text.
  ///
  /// See ``graphviz(gradientOf:seed:labels:file:line:)``, which adds each node's gradient.
  public func graphviz() -> String {
    exclusively("drawing its graph") { dot(labels: [:], gradients: [:], target: nil) }
  }

  /// The graph recorded on this tape, as Graphviz DOT text, with names for some of its tensors.
  ///
  /// See ``graphviz(gradientOf:seed:labels:file:line:)``, which adds each node's gradient.
  ///
  /// - Precondition: Each labeled tensor is recorded on this tape.
  public func graphviz<Scalar: TensorScalar>(
    labels: KeyValuePairs<String, Tensor<Scalar>>,
    file: StaticString = #fileID, line: UInt = #line
  ) -> String {
    exclusively("drawing its graph") {
      dot(
        labels: nodeLabels(labels, at: SourceLocation(file: file, line: line)), gradients: [:],
        target: nil)
    }
  }

  /// The graph recorded on this tape, as Graphviz DOT text, with the gradient of `target` with
  /// respect to every node.
  ///
  /// Each recorded operation is a node showing its name and index on the tape, its output's
  /// shape, its call site when known (see ``capturesCallSites``), its value and its gradient:
  /// the number itself for a scalar, the range of the elements otherwise. Edges run from each
  /// operand to the operation that read it, in the order the operations ran; an operation with
  /// several operands numbers its edges by operand position. Styles tell the kinds apart:
  ///
  /// - Watched tensors (``watch(_:)``, the *parameters*): green ellipses.
  /// - Constant operands (tensors that are not recorded: data, literals, *inputs* in that sense):
  ///   grey notes.
  /// - Outputs (`target`; without a target, the results no recorded operation read): bold red
  ///   boxes.
  /// - Other operations: rounded boxes.
  ///
  /// ```swift
  /// let tape = Tape()
  /// let x = tape.watch(Tensor<Double>(3))
  /// let y = (x * x).squared()
  /// let text = tape.graphviz(gradientOf: y, labels: ["x": x, "y": y])
  /// let svg = try renderSVG(dot: text)   // when Graphviz is installed
  /// ```
  ///
  /// The gradients come from a sweep of their own that keeps the gradient of every node instead
  /// of only the sources' (so it costs a sweep and holds every gradient until it returns); it
  /// leaves the tape as it was. A node `target` does not depend on gets no gradient line.
  ///
  /// - Parameters:
  ///   - target: The tensor whose gradient to show, recorded on this tape.
  ///   - seed: The gradient flowing into `target`, of its shape; 1 by default, and required when
  ///     `target` has more than one element.
  ///   - labels: Names to show for tensors recorded on this tape, as in `["x1": x1, "f": f]`.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Returns: A `digraph` that `dot -Tsvg` renders (see ``renderSVG(dot:searchPath:)``).
  /// - Precondition: `target` and the labeled tensors are recorded on this tape; `seed` has
  ///   `target`'s shape; `target` is a scalar when no seed is given.
  /// - Complexity: One sweep, and O(elements) per node to summarize values and gradients.
  public func graphviz<Scalar: TensorScalar>(
    gradientOf target: Tensor<Scalar>, seed: Tensor<Scalar>? = nil,
    labels: KeyValuePairs<String, Tensor<Scalar>> = [:],
    file: StaticString = #fileID, line: UInt = #line
  ) -> String {
    let taken = beginUse("drawing its graph")
    defer { endUse(taken) }
    let location = SourceLocation(file: file, line: line)
    let targetNode = node(of: target, "graphviz", "the target", at: location)
    let upstream = self.upstream(
      of: target, seed: seed, keepingRecorded: false, "graphviz", at: location)
    // Every node up to the target is a source, so the sweep keeps every gradient it computes.
    let gradients = Sweep<Scalar>.withSweep(
      tape: self, target: targetNode, sources: Array(0...targetNode), createGraph: false
    ) { sweep in
      sweep.run(seed: upstream)
      var gradients: [Int: ValueSummary] = [:]
      for index in 0...targetNode {
        if let gradient = sweep.gradient(at: index) { gradients[index] = ValueSummary(gradient) }
      }
      return gradients
    }
    return dot(
      labels: nodeLabels(labels, at: location), gradients: gradients, target: targetNode)
  }

  /// The node index of each labeled tensor.
  private func nodeLabels<Scalar>(
    _ labels: KeyValuePairs<String, Tensor<Scalar>>, at location: SourceLocation
  ) -> [Int: String] {
    var result: [Int: String] = [:]
    for (label, tensor) in labels {
      guard let trace = tensor.trace, trace.tape === self else {
        fail(
          "graphviz: the tensor labeled \"\(label)\" (shape \(tensor.shape.shapeDescription)) is "
            + "not recorded on this tape", at: location)
      }
      result[trace.node] = result[trace.node].map { "\($0), \(label)" } ?? label
    }
    return result
  }

  /// The DOT text of the whole tape.
  private func dot(labels: [Int: String], gradients: [Int: ValueSummary], target: Int?) -> String {
    var isRead = [Bool](repeating: false, count: entries.count)
    for index in entries.indices {
      for case let input? in inputNodes(of: index) { isRead[input] = true }
    }
    var lines = [
      "digraph tape {",
      "  node [fontname=\"Helvetica\", fontsize=11];",
      "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\"];",
    ]
    for index in entries.indices {
      let node = inspectableNode(index)
      let inputs = node.inputNodes
      // Constant operands first, each a node of its own.
      for (position, input) in inputs.enumerated() where input == nil {
        let value = node.operandSummary(position)
        let text = ["constant", shapeLine(value.shape), valueLine("value", value)]
        lines.append(
          "  c\(index)_\(position) [label=\"\(escaped(text.joined(separator: "\n")))\", "
            + "shape=note, style=filled, fillcolor=\"#eeeeee\", fontsize=10];")
      }
      let title: String
      let style: String
      if node.isLeaf {
        title = "\(labels[index] ?? "watch") #\(index)"
        style = "shape=ellipse, style=filled, fillcolor=\"#d5e8d4\""
      } else {
        title = "\(labels[index].map { "\($0) = " } ?? "")\(node.name) #\(index)"
        style =
          index == target || (!isRead[index] && target == nil)
          ? "shape=box, style=\"rounded,filled,bold\", fillcolor=\"#f8cecc\""
          : "shape=box, style=rounded"
      }
      var text = [title, shapeLine(node.outputShape)]
      if let callSite = callSite(ofNode: index) { text.append("at \(callSite)") }
      text.append(valueLine("value", node.outputSummary))
      if let gradient = gradients[index] { text.append(valueLine("grad", gradient)) }
      lines.append(
        "  n\(index) [label=\"\(escaped(text.joined(separator: "\n")))\", \(style)];")
      for (position, input) in inputs.enumerated() {
        let from = input.map { "n\($0)" } ?? "c\(index)_\(position)"
        let label = inputs.count > 1 ? " [label=\"\(position)\"]" : ""
        lines.append("  \(from) -> n\(index)\(label);")
      }
    }
    lines.append("}")
    return lines.joined(separator: "\n") + "\n"
  }

  private func shapeLine(_ shape: [Int]) -> String {
    shape.isEmpty ? "scalar" : shape.shapeDescription
  }

  /// `value 0.5` for one element, `value ∈ [0, 2]` for several.
  private func valueLine(_ name: String, _ summary: ValueSummary) -> String {
    if let scalar = summary.scalar { return "\(name) \(formatted(scalar))" }
    return "\(name) ∈ \(summary.rangeDescription)"
  }

  /// `text` inside a DOT double-quoted string: quotes and backslashes escaped, line breaks as
  /// `\n` (a centered line).
  private func escaped(_ text: String) -> String {
    var result = ""
    for character in text {
      switch character {
      case "\"": result += "\\\""
      case "\\": result += "\\\\"
      case "\n": result += "\\n"
      default: result.append(character)
      }
    }
    return result
  }
}

// MARK: - Rendering

/// Why Graphviz could not render a graph.
public enum GraphvizError: Error, CustomStringConvertible, Equatable {
  /// No executable `dot` in any directory of the search path.
  case dotNotFound(searchPath: String)
  /// `dot` ran and failed; `message` is what it wrote to standard error.
  case dotFailed(status: Int32, message: String)
  /// The input could not be written, `dot` could not be started, or its output could not be read.
  case cannotRun(reason: String)

  public var description: String {
    switch self {
    case .dotNotFound(let searchPath):
      "Graphviz's dot was not found on the search path (\(searchPath)). Install Graphviz "
        + "(apt-get install graphviz on Debian and Ubuntu, brew install graphviz on macOS), or "
        + "render the DOT text elsewhere."
    case .dotFailed(let status, let message):
      "dot -Tsvg failed with status \(status): \(message)"
    case .cannotRun(let reason):
      "could not run dot: \(reason)"
    }
  }
}

/// Renders DOT text to SVG with Graphviz's `dot`, found on the search path.
///
/// ```swift
/// let svg = try renderSVG(dot: tape.graphviz())
/// try svg.write(toFile: "tape.svg", atomically: true, encoding: .utf8)
/// ```
///
/// - Parameters:
///   - dot: A graph in the DOT language, such as ``Tape/graphviz()`` returns.
///   - searchPath: Directories to look for `dot` in, separated by colons; the `PATH` environment
///     variable by default.
/// - Returns: The SVG document.
/// - Throws: ``GraphvizError/dotNotFound(searchPath:)`` when Graphviz is not installed (the
///   error's description says how to install it), ``GraphvizError/dotFailed(status:message:)``
///   when the text is not valid DOT.
public func renderSVG(dot: String, searchPath: String? = nil) throws(GraphvizError) -> String {
  let path = searchPath ?? ProcessInfo.processInfo.environment["PATH"] ?? ""
  let fileManager = FileManager.default
  let candidates = path.split(separator: ":").map { "\($0)/dot" }
  guard let executable = candidates.first(where: { fileManager.isExecutableFile(atPath: $0) })
  else { throw .dotNotFound(searchPath: path) }

  // Files rather than pipes for input, output and errors: a pipe that fills up while the other
  // end waits for its turn would deadlock on a large graph.
  let directory = fileManager.temporaryDirectory
    .appendingPathComponent("autodiff-graphviz-\(UUID().uuidString)")
  let input = directory.appendingPathComponent("graph.dot")
  let output = directory.appendingPathComponent("graph.svg")
  let errors = directory.appendingPathComponent("errors.txt")
  defer { try? fileManager.removeItem(at: directory) }
  let status: Int32
  do {
    try fileManager.createDirectory(at: directory, withIntermediateDirectories: true)
    try Data(dot.utf8).write(to: input)
    _ = fileManager.createFile(atPath: errors.path, contents: nil)
    let errorHandle = try FileHandle(forWritingTo: errors)
    defer { try? errorHandle.close() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = ["-Tsvg", input.path, "-o", output.path]
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    process.standardError = errorHandle
    try process.run()
    process.waitUntilExit()
    status = process.terminationStatus
  } catch {
    throw .cannotRun(reason: "\(error)")
  }
  guard status == 0 else {
    let message = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
    throw .dotFailed(
      status: status, message: message.trimmingCharacters(in: .whitespacesAndNewlines))
  }
  do {
    return try String(contentsOf: output, encoding: .utf8)
  } catch {
    throw .cannotRun(reason: "could not read dot's output: \(error)")
  }
}
