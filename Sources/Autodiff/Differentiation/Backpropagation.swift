/// One backward sweep over a tape: from the target's node down to the lowest source, each node
/// hands the gradient of its output to its operands' nodes, where contributions add up.
///
/// The sweep is a loop over node indices, so it needs no stack however long the tape is. It visits
/// only the nodes that lie on a path from a source to the target, and it drops a node's gradient
/// once the node has passed it on (sources keep theirs: they are the answer).
final class Sweep<Scalar: TensorScalar> {
  let tape: Tape
  let createGraph: Bool
  /// The lowest node index the sweep looks at; arrays below are indexed from it.
  private let base: Int
  private let target: Int
  private var isSource: [Bool]
  /// Whether a node depends on a source, so that its gradient is worth computing.
  private var isRelevant: [Bool]
  private var gradients: [Tensor<Scalar>?]

  init(tape: Tape, target: Int, sources: [Int], createGraph: Bool) {
    self.tape = tape
    self.createGraph = createGraph
    self.target = target
    base = sources.min().map { Swift.min($0, target) } ?? target
    let count = target - base + 1
    isSource = Array(repeating: false, count: count)
    for source in sources where source <= target { isSource[source - base] = true }
    isRelevant = isSource
    gradients = Array(repeating: nil, count: count)
    for index in base...target where !isRelevant[index - base] {
      isRelevant[index - base] = tape.nodes[index].inputNodes.contains { node in
        guard let node, node >= base else { return false }
        return isRelevant[node - base]
      }
    }
  }

  func run(seed: Tensor<Scalar>) {
    guard isRelevant[target - base] else { return }
    gradients[target - base] = seed
    // Anomaly detection (AnomalyDetection.swift); `nil`, one branch per node, when off.
    let inspector = tape.inspector
    inspector?.willSweep(seed: seed, target: target)
    defer { inspector?.didSweep() }
    for index in stride(from: target, through: base, by: -1) where isRelevant[index - base] {
      guard let upstream = gradients[index - base] else { continue }
      guard let node = tape.nodes[index] as? Node<Scalar> else {
        fatalError("gradient: node \(index) of the tape holds another scalar type than \(Scalar._name)")
      }
      if !isSource[index - base] { gradients[index - base] = nil }
      backpropagate(upstream, through: node, at: index)
      inspector?.checkGradients(sentBy: node, at: index, upstream: upstream, in: self)
    }
  }

  /// The accumulated gradient of a node, if anything reached it.
  func gradient(at node: Int) -> Tensor<Scalar>? {
    node >= base && node <= target ? gradients[node - base] : nil
  }

  private func backpropagate(_ g: Tensor<Scalar>, through node: Node<Scalar>, at index: Int) {
    switch node.rule {
    case .leaf:
      return
    case .unary(let rule):
      let x = node.operands[0]
      guard needsGradient(x) else { return }
      accumulate(rule(g, value(of: x), output(of: node, at: index)), into: x)
    case .binary(let lhsRule, let rhsRule):
      let (a, b) = (node.operands[0], node.operands[1])
      let (aValue, bValue) = (value(of: a), value(of: b))
      let y = output(of: node, at: index)
      if needsGradient(a) { accumulate(lhsRule(g, aValue, bValue, y).unbroadcast(to: a.value.shape), into: a) }
      if needsGradient(b) { accumulate(rhsRule(g, aValue, bValue, y).unbroadcast(to: b.value.shape), into: b) }
    case .custom(let rule):
      rule(PullbackContext(sweep: self, node: node, index: index, upstream: g))
    }
  }

  func needsGradient(_ operand: Operand<Scalar>) -> Bool {
    guard let node = operand.node, node >= base else { return false }
    return isRelevant[node - base]
  }

  /// An operand's value; recorded as its node when the sweep records itself.
  func value(of operand: Operand<Scalar>) -> Tensor<Scalar> {
    guard createGraph, let node = operand.node else { return operand.value }
    return Tensor(shape: operand.value.shape, storage: operand.value.storage,
                  trace: Trace(tape: tape, node: node))
  }

  /// A node's output; recorded as that node when the sweep records itself.
  func output(of node: Node<Scalar>, at index: Int) -> Tensor<Scalar> {
    guard createGraph else { return node.output }
    return Tensor(shape: node.output.shape, storage: node.output.storage,
                  trace: Trace(tape: tape, node: index))
  }

  /// Adds `contribution` to the gradient of `operand`'s node, in place when nothing else holds it.
  func accumulate(_ contribution: Tensor<Scalar>, into operand: Operand<Scalar>) {
    assert(contribution.shape == operand.value.shape, "gradient \(contribution.shape) for \(operand.value.shape)")
    let slot = operand.node! - base
    guard let existing = gradients[slot] else {
      gradients[slot] = contribution
      return
    }
    if createGraph {
      gradients[slot] = existing + contribution
    } else {
      gradients[slot]!.addUnrecorded(contribution)
    }
  }

  /// Adds `op(a)·op(b)` to the gradient of `operand`'s node: straight into its buffer with gemm's
  /// β = 1 when the buffer is there and is not recorded, else as a new product.
  func accumulateProduct(
    into operand: Operand<Scalar>,
    _ a: Tensor<Scalar>, transposed transposeA: Bool,
    _ b: Tensor<Scalar>, transposed transposeB: Bool
  ) {
    let slot = operand.node! - base
    guard !createGraph, gradients[slot] != nil else {
      accumulate(matmul(a, transposed: transposeA, b, transposed: transposeB), into: operand)
      return
    }
    gradients[slot]!.addProductUnrecorded(a, transposed: transposeA, b, transposed: transposeB)
  }
}

/// What a ``Rule/custom(_:)`` pullback sees of the sweep: its node's operands and output, the
/// upstream gradient, and where to put its operands' gradients.
struct PullbackContext<Scalar: TensorScalar> {
  let sweep: Sweep<Scalar>
  let node: Node<Scalar>
  let index: Int
  /// The gradient of the node's output.
  let upstream: Tensor<Scalar>

  /// Whether operand `position` needs a gradient: it is recorded and leads to a source.
  func needsGradient(_ position: Int) -> Bool { sweep.needsGradient(node.operands[position]) }

  /// The value of operand `position`.
  func operand(_ position: Int) -> Tensor<Scalar> { sweep.value(of: node.operands[position]) }

  /// The node's output.
  var output: Tensor<Scalar> { sweep.output(of: node, at: index) }

  /// Adds `gradient` (of the operand's shape) to operand `position`'s gradient.
  func accumulate(_ gradient: Tensor<Scalar>, into position: Int) {
    sweep.accumulate(gradient, into: node.operands[position])
  }

  /// Adds `op(a)·op(b)` to operand `position`'s gradient, with no transpose materialized.
  func accumulateProduct(
    into position: Int, _ a: Tensor<Scalar>, transposed transposeA: Bool,
    _ b: Tensor<Scalar>, transposed transposeB: Bool
  ) {
    sweep.accumulateProduct(into: node.operands[position], a, transposed: transposeA, b,
                            transposed: transposeB)
  }
}
