internal import Foundation

// What the debugging tools see of a tape: the inspector that anomaly detection and call-site
// capture hang on a tape, and a type-erased look at a node's values (for messages, graphs and
// statistics).
//
// The core pays for these tools only through `Tape.inspector`: `nil` unless one of them is on, so
// recording a node costs one branch (`Tape.append`) and a sweep one branch per node
// (`Sweep.run`). Everything else lives in this folder's inspection files:
// AnomalyDetection.swift, CallSite.swift, Tape+Graphviz.swift, Tape+Statistics.swift.

/// The state of the debugging tools that watch a tape while it records and sweeps.
final class TapeInspector {
  /// Whether recording and sweeping stop at the first non-finite value.
  var detectsAnomalies: Bool
  /// Whether a node recorded without a named call site (an operator, `log`, …) captures a
  /// backtrace, resolved to the caller's line when asked.
  var capturesCallSites: Bool
  /// The backtraces captured for nodes without a named call site, by node index.
  var backtraces: [Int: CapturedBacktrace] = [:]
  /// How many sweeps of this tape are running: operations recorded meanwhile are the sweep's
  /// own (`createGraph: true`), checked as gradients rather than as forward values.
  var sweepDepth = 0

  init(detectsAnomalies: Bool, capturesCallSites: Bool) {
    self.detectsAnomalies = detectsAnomalies
    self.capturesCallSites = capturesCallSites
  }

  /// The inspector a tape made now starts with: one when anomaly detection is on for this task
  /// (``withAnomalyDetection(_:)``), else none.
  static func forNewTape() -> TapeInspector? {
    AnomalyDetection.isEnabled
      ? TapeInspector(detectsAnomalies: true, capturesCallSites: true) : nil
  }

  /// Whether the inspector does nothing and holds nothing, so the tape can drop it.
  var isIdle: Bool { !detectsAnomalies && !capturesCallSites && backtraces.isEmpty }

  /// Called by the tape right after it appends `node` at `index`.
  func didAppend<Scalar>(_ node: Node<Scalar>, at index: Int, on tape: Tape) {
    if capturesCallSites, node.location == nil, sweepDepth == 0 {
      backtraces[index] = CapturedBacktrace.capture()
    }
    if detectsAnomalies, sweepDepth == 0 { checkOutput(of: node, at: index, on: tape) }
  }
}

extension Tape {
  /// The inspector of this tape, made on first use.
  var activeInspector: TapeInspector {
    if let inspector { return inspector }
    let inspector = TapeInspector(detectsAnomalies: false, capturesCallSites: false)
    self.inspector = inspector
    return inspector
  }

  /// Drops the inspector when it has nothing left to do, so recording is back to one branch.
  func dropInspectorIfIdle() {
    if inspector?.isIdle == true { inspector = nil }
  }

  /// Whether operations recorded without a named call site capture the caller's line.
  ///
  /// Some named functions (`matmul`, slicing, concatenation, `customOperation`) record the
  /// `#fileID` and `#line` of their caller with their node, so those nodes always know where
  /// they were called. Operators (`+`, `*`, …), the elementary functions (`log`, `sin`, …) and
  /// the other functions do not; with this property on, each of their nodes captures a short
  /// backtrace (about 10 µs), which is resolved to the first line outside Autodiff when a
  /// graph, a statistic or an anomaly message needs it. Resolving needs debug information
  /// (`swift build` has it by default); without it the node's call site stays unknown.
  ///
  /// Off by default. Turning on anomaly detection turns it on too. Only nodes recorded while it
  /// is on have call sites.
  public var capturesCallSites: Bool {
    get { inspector?.capturesCallSites ?? false }
    set {
      exclusively("switching call-site capture") {
        activeInspector.capturesCallSites = newValue
        dropInspectorIfIdle()
      }
    }
  }

  /// The call site of node `index`: the named function's caller, else the captured line.
  func callSite(ofNode index: Int) -> String? {
    if let location = node(at: index).location { return location.description }
    return inspector?.backtraces[index]?.callSite
  }
}

// MARK: - A type-erased look at nodes

/// A node's values, seen without knowing its scalar type.
protocol InspectableNode: AnyNode {
  /// The output's summary: shape, range, non-finite elements.
  var outputSummary: ValueSummary { get }
  /// The number of operands.
  var operandCount: Int { get }
  /// The summary of operand `position`'s value.
  func operandSummary(_ position: Int) -> ValueSummary
  /// Whether the node is a watched tensor with nothing recorded below it.
  var isLeaf: Bool { get }
  /// The buffers the node keeps alive, output first: identity and size in bytes.
  var heldBuffers: [(id: ObjectIdentifier, bytes: Int)] { get }
  /// The output's shape.
  var outputShape: [Int] { get }
}

extension Node: InspectableNode {
  var outputSummary: ValueSummary { ValueSummary(output) }
  var operandCount: Int { operands.count }
  func operandSummary(_ position: Int) -> ValueSummary { ValueSummary(operands[position].value) }
  var isLeaf: Bool {
    if case .leaf = rule { return true }
    return false
  }
  var heldBuffers: [(id: ObjectIdentifier, bytes: Int)] {
    let stride = MemoryLayout<Scalar>.stride
    return [(ObjectIdentifier(output.storage), output.scalarCount * stride)]
      + operands.map { (ObjectIdentifier($0.storage), $0.storage.count * stride) }
  }
  var outputShape: [Int] { output.shape }
}

extension Tape {
  /// Node `index`, with its values.
  func inspectableNode(_ index: Int) -> any InspectableNode {
    let node = node(at: index)
    guard let inspectable = node as? any InspectableNode else {
      fatalError("tape inspection: node \(index) (\(node.name)) is not a Node")
    }
    return inspectable
  }
}

/// What messages and graphs say about a tensor's values: its shape, its range and where it
/// stops being finite.
struct ValueSummary {
  var shape: [Int]
  var count: Int
  /// The least and greatest elements that are not NaN (infinities included); `nil` when every
  /// element is NaN or there are none.
  var range: ClosedRange<Double>?
  var nanCount: Int
  /// The first element, in row-major order, that is NaN or infinite.
  var firstNonFinite: (index: Int, value: Double)?
  /// The only element, when there is exactly one.
  var scalar: Double?

  init<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>) {
    shape = tensor.shape
    count = tensor.scalarCount
    var low = Double.infinity
    var high = -Double.infinity
    var nanCount = 0
    var firstNonFinite: (index: Int, value: Double)?
    tensor.withUnsafeBufferPointer { elements in
      for (index, element) in elements.enumerated() {
        let value = Double(element)
        if value.isNaN {
          nanCount += 1
        } else {
          low = Swift.min(low, value)
          high = Swift.max(high, value)
        }
        if firstNonFinite == nil, !value.isFinite { firstNonFinite = (index, value) }
      }
    }
    range = nanCount < count ? low...high : nil
    self.nanCount = nanCount
    self.firstNonFinite = firstNonFinite
    scalar = count == 1 ? tensor.withUnsafeBufferPointer { Double($0[0]) } : nil
  }

  var isFinite: Bool { firstNonFinite == nil }

  /// `[0, 2]`, `[0, 2] and 1 NaN`, `all NaN`, `empty`.
  var rangeDescription: String {
    guard count > 0 else { return "empty" }
    guard let range else { return count == 1 ? "NaN" : "all \(count) NaN" }
    let bounds = "[\(formatted(range.lowerBound)), \(formatted(range.upperBound))]"
    return nanCount == 0 ? bounds : "\(bounds) and \(nanCount) NaN"
  }

  /// `shape [2, 3], range [0, 2]`, or `value 0.5` for a scalar.
  var description: String {
    if let scalar { return "shape \(shape.shapeDescription), value \(formatted(scalar))" }
    return "shape \(shape.shapeDescription), range \(rangeDescription)"
  }
}

/// A number as messages and graphs show it: six significant digits (`%g`); NaN as `nan`
/// whatever its sign bit (which `%g` would print as `-nan`).
func formatted(_ value: Double) -> String {
  value.isNaN ? "nan" : String(format: "%.6g", value)
}
