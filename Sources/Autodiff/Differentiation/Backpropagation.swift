/// One backward sweep over a tape: from the target's node down to the lowest source, each node
/// hands the gradient of its output to its operands' nodes, where contributions add up.
///
/// The sweep is a loop over node indices, so it needs no stack however long the tape is. It visits
/// only the nodes that lie on a path from a source to the target, and it drops a node's gradient
/// once the node has passed it on (sources keep theirs: they are the answer).
///
/// A sweep refers to a buffer it does not own (see `slots`), so copies of it share their state;
/// it is used inside `Sweep.withSweep(tape:target:sources:createGraph:_:)`, which owns the buffer.
struct Sweep<Scalar: TensorScalar> {
  let tape: Tape
  let createGraph: Bool
  /// The lowest node index the sweep looks at; `slots` is indexed from it.
  private let base: Int
  private let target: Int
  /// What the sweep knows of each node from `base` to `target`.
  ///
  /// A buffer, not an array: every access to a class's `var` array pays a dynamic exclusivity
  /// check, and the loop cannot hold one access open because the rules call back into
  /// `accumulate(_:into:)` (scalar-graph benchmark: the checks were 12% of its instructions).
  /// Temporary (on the stack when it is small, as it is for a scalar graph: a heap block cost an
  /// allocation per gradient) and owned by `withSweep`, rather than freed by a class's `deinit`:
  /// a deinit runs unspecialized, where destroying the slots looks up their type's metadata each
  /// time.
  private let slots: UnsafeMutableBufferPointer<Slot>

  private struct Slot {
    /// The gradient accumulated so far, or `nil` when nothing reached the node (yet).
    var gradient: Tensor<Scalar>?
    var isSource: Bool
    /// Whether the node depends on a source, so that its gradient is worth computing.
    var isRelevant: Bool
  }

  /// Calls `body` with a sweep from `target` towards the `sources` nodes, not yet run, whose
  /// state lives as long as the call.
  static func withSweep<R>(
    tape: Tape, target: Int, sources: some Collection<Int>, createGraph: Bool,
    _ body: (Sweep) -> R
  ) -> R {
    let base = sources.min().map { Swift.min($0, target) } ?? target
    return withUnsafeTemporaryAllocation(of: Slot.self, capacity: target - base + 1) { slots in
      slots.initialize(repeating: Slot(gradient: nil, isSource: false, isRelevant: false))
      defer { slots.deinitialize() }
      let sweep = Sweep(
        tape: tape, base: base, target: target, sources: sources, createGraph: createGraph,
        slots: slots)
      return body(sweep)
    }
  }

  private init(
    tape: Tape, base: Int, target: Int, sources: some Collection<Int>, createGraph: Bool,
    slots: UnsafeMutableBufferPointer<Slot>
  ) {
    self.tape = tape
    self.createGraph = createGraph
    self.target = target
    self.base = base
    for source in sources where source <= target {
      slots[source - base].isSource = true
      slots[source - base].isRelevant = true
    }
    for index in base...target where !slots[index - base].isRelevant {
      let inputs = tape.nodes[index].inputNodes
      for position in inputs.indices {
        guard let input = inputs[position], input >= base, slots[input - base].isRelevant
        else { continue }
        slots[index - base].isRelevant = true
        break
      }
    }
    self.slots = slots
  }

  func run(seed: Tensor<Scalar>) {
    guard slots[target - base].isRelevant else { return }
    slots[target - base].gradient = seed
    // Anomaly detection (AnomalyDetection.swift); `nil`, one branch per node, when off.
    let inspector = tape.inspector
    inspector?.willSweep(seed: seed, target: target)
    defer { inspector?.didSweep() }
    for index in stride(from: target, through: base, by: -1) {
      let slot = index - base
      guard slots[slot].isRelevant else { continue }
      // A source keeps its gradient (it is the answer); another node's moves out of its slot.
      let gathered = slots[slot].isSource ? slots[slot].gradient : slots[slot].gradient.take()
      guard let upstream = gathered else { continue }
      guard let node = tape.nodes[index] as? Node<Scalar> else {
        fatalError("gradient: node \(index) of the tape holds another scalar type than \(Scalar._name)")
      }
      backpropagate(upstream, through: node, at: index)
      inspector?.checkGradients(sentBy: node, at: index, upstream: upstream, in: self)
    }
  }

  /// The accumulated gradient of a node, if anything reached it. Its elements may be pending:
  /// the caller computes them (`materializeTogether(_:)`) before it returns them.
  func gradient(at node: Int) -> Tensor<Scalar>? {
    node >= base && node <= target ? slots[node - base].gradient : nil
  }

  private func backpropagate(_ g: Tensor<Scalar>, through node: Node<Scalar>, at index: Int) {
    // The operands' node indices decide what is needed before any value is read. A first-order
    // sweep passes the node's values to the rule straight from the node, borrowed: going through
    // `value(of:)` returns each as a copy, and a copy of a tensor retains its buffer
    // (scalar-graph benchmark).
    switch node.rule {
    case .leaf:
      return
    case .unary(let rule):
      guard let input = node.inputNodes.first!, needsGradient(input) else { return }
      let gradient =
        createGraph
        ? rule(g, value(of: node.operands.first!), output(of: node, at: index))
        : rule(g, node.operands.first!.value, node.output)
      accumulate(gradient, into: input)
    case .binary(let rule):
      let (lhs, rhs) = (node.inputNodes.first!, node.inputNodes.second!)
      let wanted = Sides(lhs: needsGradient(lhs), rhs: needsGradient(rhs))
      guard wanted.lhs || wanted.rhs else { return }
      let (da, db) =
        createGraph
        ? rule(
          g, value(of: node.operands.first!), value(of: node.operands.second!),
          output(of: node, at: index), wanted)
        : rule(g, node.operands.first!.value, node.operands.second!.value, node.output, wanted)
      if let da { accumulate(da, into: lhs!, shape: node.operands.first!.value.shape) }
      if let db { accumulate(db, into: rhs!, shape: node.operands.second!.value.shape) }
    case .custom(let rule):
      rule(PullbackContext(sweep: self, node: node, index: index, upstream: g))
    }
  }

  func needsGradient(_ operand: Operand<Scalar>) -> Bool { needsGradient(operand.node) }

  /// Whether the operand that `node` produced (`nil` for a constant) needs a gradient.
  private func needsGradient(_ node: Int?) -> Bool {
    guard let node, node >= base else { return false }
    return slots[node - base].isRelevant
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

  /// Adds `contribution` to the gradient of `operand`'s node.
  func accumulate(_ contribution: consuming Tensor<Scalar>, into operand: Operand<Scalar>) {
    assert(contribution.shape == operand.value.shape, "gradient \(contribution.shape) for \(operand.value.shape)")
    accumulate(contribution, into: operand.node!)
  }

  /// Adds `contribution`, a gradient at a broadcast shape, to the gradient of `node`, whose
  /// value has `shape`: summed back to that shape first.
  private func accumulate(_ contribution: consuming Tensor<Scalar>, into node: Int, shape: [Int]) {
    if contribution.shape == shape {
      accumulate(contribution, into: node)
    } else {
      accumulate(contribution.unbroadcast(to: shape), into: node)
    }
  }

  /// Adds `contribution` to the gradient of `node`, without a copy: in place in whichever of the
  /// two buffers nothing else holds, else as a new sum. (A gradient that goes to both operands
  /// of an add is held by both; copying it before adding in place cost an allocation, a copy
  /// and a BLAS call: scalar-graph benchmark.)
  private func accumulate(_ contribution: consuming Tensor<Scalar>, into node: Int) {
    let slot = node - base
    guard var sum = slots[slot].gradient.take() else {
      slots[slot].gradient = contribution
      return
    }
    if createGraph {
      sum = sum + contribution
    } else if isKnownUniquelyReferenced(&sum.storage) {
      sum.addUnrecorded(contribution)
    } else if isKnownUniquelyReferenced(&contribution.storage) {
      contribution.addUnrecorded(sum)
      sum = contribution
    } else {
      sum = zipped(.add, sum, contribution, "+")
    }
    slots[slot].gradient = sum
  }

  /// Adds `op(a)·op(b)` to the gradient of `operand`'s node: straight into its buffer with gemm's
  /// β = 1 when the buffer is there and is not recorded, else as a new product.
  func accumulateProduct(
    into operand: Operand<Scalar>,
    _ a: Tensor<Scalar>, transposed transposeA: Bool,
    _ b: Tensor<Scalar>, transposed transposeB: Bool
  ) {
    let slot = operand.node! - base
    guard !createGraph, slots[slot].gradient != nil else {
      accumulate(matmul(a, transposed: transposeA, b, transposed: transposeB), into: operand)
      return
    }
    slots[slot].gradient!.addProductUnrecorded(a, transposed: transposeA, b, transposed: transposeB)
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
