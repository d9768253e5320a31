// Anomaly detection: stop at the first operation whose output, or whose gradient, is NaN or
// infinite, and say which operation it was, where it was called and what it was given.
//
// Off by default, it costs the core one branch per recorded node and one per swept node
// (`Tape.inspector` is `nil`). On, every output and every gradient an operation sends back is
// scanned once, and operations without a named call site capture a backtrace (CallSite.swift).

/// The switch that tapes made on the current task read when they are created.
enum AnomalyDetection {
  @TaskLocal static var isEnabled = false
}

/// Runs `body` with anomaly detection on for every tape created inside it.
///
/// Each tape made while `body` runs — by `Tape()`, or by `gradient(at:of:)` and the other
/// functional forms — starts with ``Tape/detectsAnomalies`` and ``Tape/capturesCallSites`` on.
/// The switch follows the task: it holds for child tasks `body` starts, and not for other tasks
/// or threads running at the same time (so tests running in parallel do not see it). Tapes made
/// before `body` runs keep their own setting.
///
/// ```swift
/// withAnomalyDetection {
///   let (value, gradient) = valueWithGradient(at: x) { x in log(x).sum() }
/// }
/// // anomaly detection: log returned a non-finite value in the forward pass: -inf at element 0
/// // of its output, shape [3] (at Model/Train.swift:42)
/// //   operand 0 (node 0, watch): shape [3], range [0, 2]
/// ```
///
/// - Returns: What `body` returns.
public func withAnomalyDetection<R>(_ body: () throws -> R) rethrows -> R {
  try AnomalyDetection.$isEnabled.withValue(true, operation: body)
}

/// Runs the asynchronous `body` with anomaly detection on for every tape created inside it.
///
/// See ``withAnomalyDetection(_:)``.
public func withAnomalyDetection<R>(
  isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> R
) async rethrows -> R {
  try await AnomalyDetection.$isEnabled.withValue(true, operation: body)
}

extension Tape {
  /// Whether this tape stops the program at the first operation that produces a NaN or an
  /// infinity, in the forward pass or in a backward sweep.
  ///
  /// When it is on, recording an operation checks the operation's output, and a sweep checks
  /// every gradient an operation's pullback sends to its operands (and the seed). The first
  /// non-finite element stops the program with a message that names the operation, its call
  /// site, and the shape and range (least and greatest element) of its operands, its output and,
  /// in a sweep, the gradient that reached it:
  ///
  /// ```
  /// anomaly detection: the pullback of sqrt (recorded at App/Model.swift:18) sent a non-finite
  /// gradient to operand 0 in the backward pass: inf at element 2 of the gradient, shape [4]
  ///   upstream gradient: shape [4], range [1, 1]
  ///   operand 0 (node 0, watch): shape [4], range [0, 3]
  ///   output: shape [4], range [0, 1.73205]
  /// ```
  ///
  /// Turning it on also turns on ``capturesCallSites``, so that a sweep can name the line that
  /// recorded an operator. Operations recorded by a sweep that records itself
  /// (`createGraph: true`) are checked as gradients, against the node being swept.
  ///
  /// Off by default; ``withAnomalyDetection(_:)`` turns it on for the tapes made in a scope. It
  /// can be switched between recording and sweeping: on only for the sweep, it checks gradients
  /// and leaves forward values alone.
  ///
  /// - Complexity: When on, each recorded output and each sent gradient is read once more, and
  ///   capturing call sites adds about 10 µs per recorded operation.
  public var detectsAnomalies: Bool {
    get { inspector?.detectsAnomalies ?? false }
    set {
      exclusively("switching anomaly detection") {
        activeInspector.detectsAnomalies = newValue
        if newValue { activeInspector.capturesCallSites = true }
        dropInspectorIfIdle()
      }
    }
  }
}

extension TapeInspector {
  /// Stops the program if the output of `node`, just recorded at `index`, is not finite.
  func checkOutput<Scalar>(of node: Node<Scalar>, at index: Int, on tape: Tape) {
    guard let element = firstNonFiniteElement(of: node.output) else { return }
    let callSite =
      node.location?.description ?? backtraces[index]?.callSite
      ?? CapturedBacktrace.capture().callSite  // the stack is still the caller's
    var lines: [String]
    if node.operands.isEmpty {
      lines = [
        "anomaly detection: a watched tensor (node \(index)) is not finite: "
          + "\(formatted(element.value)) at element \(element.index), shape "
          + "\(node.output.shape.shapeDescription)\(at(callSite))"
      ]
    } else {
      lines = [
        "anomaly detection: \(node.name) returned a non-finite value in the forward pass: "
          + "\(formatted(element.value)) at element \(element.index) of its output, shape "
          + "\(node.output.shape.shapeDescription)\(at(callSite))"
      ]
      lines += operandLines(of: node, on: tape)
      lines.append("  output: \(ValueSummary(node.output).description)")
    }
    fatalError(lines.joined(separator: "\n"))
  }

  /// Called by a sweep before it starts: stops the program if the seed is not finite.
  func willSweep<Scalar>(seed: Tensor<Scalar>, target: Int) {
    sweepDepth += 1
    guard detectsAnomalies, let element = firstNonFiniteElement(of: seed) else { return }
    fatalError(
      "anomaly detection: the seed of a backward sweep from node \(target) is not finite: "
        + "\(formatted(element.value)) at element \(element.index), shape "
        + seed.shape.shapeDescription)
  }

  /// Called by a sweep when it is done.
  func didSweep() { sweepDepth -= 1 }

  /// Called by a sweep after `node` (at `index`) has sent its gradients: stops the program if the
  /// gradient of one of its operands is no longer finite.
  ///
  /// The sweep checks after every node, so a non-finite gradient is caught at the node whose
  /// pullback produced it (or whose contribution made a sum overflow).
  func checkGradients<Scalar>(
    sentBy node: Node<Scalar>, at index: Int, upstream: Tensor<Scalar>, in sweep: Sweep<Scalar>
  ) {
    guard detectsAnomalies else { return }
    for (position, operand) in node.operands.enumerated() {
      guard let source = operand.node, sweep.needsGradient(operand),
        let gradient = sweep.gradient(at: source),
        let element = firstNonFiniteElement(of: gradient)
      else { continue }
      let callSite = node.location?.description ?? backtraces[index]?.callSite
      let recorded =
        callSite.map { "recorded at \($0)" }
        ?? "call site unknown: recorded while the tape did not capture call sites"
      var lines = [
        "anomaly detection: the pullback of \(node.name) (\(recorded)) sent a non-finite "
          + "gradient to operand \(position) in the backward pass: \(formatted(element.value)) "
          + "at element \(element.index) of the gradient, shape "
          + gradient.shape.shapeDescription,
        "  upstream gradient: \(ValueSummary(upstream).description)",
      ]
      lines += operandLines(of: node, on: sweep.tape)
      lines.append("  output: \(ValueSummary(node.output).description)")
      fatalError(lines.joined(separator: "\n"))
    }
  }

  /// One line per operand: where it came from, its shape and its range.
  private func operandLines<Scalar>(of node: Node<Scalar>, on tape: Tape) -> [String] {
    node.operands.enumerated().map { position, operand in
      let origin = operand.node.map { "node \($0), \(tape.node(at: $0).name)" } ?? "constant"
      return "  operand \(position) (\(origin)): \(ValueSummary(operand.value).description)"
    }
  }

  private func at(_ callSite: String?) -> String {
    callSite.map { " (at \($0))" } ?? " (call site unknown)"
  }
}

/// The first element of `tensor` that is NaN or infinite, in row-major order.
func firstNonFiniteElement<Scalar>(of tensor: Tensor<Scalar>) -> (index: Int, value: Double)? {
  tensor.withUnsafeBufferPointer { elements in
    for index in elements.indices where !elements[index].isFinite {
      return (index, Double(elements[index]))
    }
    return nil
  }
}
