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
  /// Whether the sources only receive gradients, passing none on: the sweep across a
  /// conversion's region of another precision, whose sources are the conversions into it
  /// (Conversion.swift). Otherwise a source that is an intermediate result passes its gradient
  /// on, as any node does.
  let stopsAtSources: Bool
  /// The lowest node index the sweep looks at; `slots` is indexed from it.
  let base: Int
  private let target: Int
  /// What the sweep knows of each node from `base` to `target`.
  ///
  /// A buffer, not an array: every access to a class's `var` array pays a dynamic exclusivity
  /// check, and the loop cannot hold one access open because the rules call back into
  /// `accumulate(_:into:)`.
  /// Temporary (on the stack when it is small, as it is for a scalar graph: a heap block cost an
  /// allocation per gradient; mapped pages when large, see `withTapeScratch`) and owned by
  /// `withSweep`, rather than freed by a class's `deinit`:
  /// a deinit runs unspecialized, where destroying the slots looks up their type's metadata each
  /// time.
  private let slots: UnsafeMutableBufferPointer<Slot>
  /// The contributions to each node's gradient that came as plain numbers, from nodes swept on
  /// scalars (see ``ScalarRecord``), summed; valid where the slot's `hasNumber` is set. A node's
  /// gradient is this sum plus the slot's `gradient`.
  ///
  /// Apart from the slots: a `Scalar` field in `Slot` would make its layout depend on `Scalar`,
  /// and initializing and destroying the slots then went through its value witnesses.
  private let numbers: UnsafeMutableBufferPointer<Scalar>

  private struct Slot {
    /// The gradient accumulated so far as a tensor, or `nil` when none reached the node (yet).
    var gradient: Tensor<Scalar>?
    var hasNumber: Bool
    var isSource: Bool
    /// Whether the node depends on a source, so that its gradient is worth computing.
    var isRelevant: Bool
  }

  /// Calls `body` with a sweep from `target` towards the `sources` nodes, not yet run, whose
  /// state lives as long as the call.
  @inline(__always)
  static func withSweep<R>(
    tape: Tape, target: Int, sources: some Collection<Int>, createGraph: Bool,
    stopsAtSources: Bool = false, _ body: (Sweep) -> R
  ) -> R {
    let base = sources.min().map { Swift.min($0, target) } ?? target
    let count = target - base + 1
    return withTapeScratch(of: Slot.self, capacity: count) { slots in
      slots.initialize(
        repeating: Slot(gradient: nil, hasNumber: false, isSource: false, isRelevant: false))
      // One slot at a time: `deinitialize()` destroyed each slot through its type's metadata.
      defer { for slot in slots.indices { _ = (slots.baseAddress! + slot).move() } }
      return withTapeScratch(of: Scalar.self, capacity: count) { numbers in
        let sweep = Sweep(
          tape: tape, base: base, target: target, sources: sources, createGraph: createGraph,
          stopsAtSources: stopsAtSources, slots: slots, numbers: numbers)
        return body(sweep)
      }
    }
  }

  private init(
    tape: Tape, base: Int, target: Int, sources: some Collection<Int>, createGraph: Bool,
    stopsAtSources: Bool, slots: UnsafeMutableBufferPointer<Slot>,
    numbers: UnsafeMutableBufferPointer<Scalar>
  ) {
    self.tape = tape
    self.createGraph = createGraph
    self.stopsAtSources = stopsAtSources
    self.target = target
    self.base = base
    for source in sources where source <= target {
      slots[source - base].isSource = true
      slots[source - base].isRelevant = true
    }
    let holdsRecords = tape.holdsScalarRecords(of: Scalar.self)
    func isRelevant(_ input: Int?) -> Bool {
      guard let input, input >= base else { return false }
      return slots[input - base].isRelevant
    }
    for index in base...target where !slots[index - base].isRelevant {
      switch tape.entries[index] {
      case .scalar(let position):
        // No records of this type: the tape records another type's (which lead to no source).
        guard holdsRecords else { continue }
        let record = tape.scalarRecords[position]
        slots[index - base].isRelevant = isRelevant(record.lhs) || isRelevant(record.rhs)
      case .node(let node):
        slots[index - base].isRelevant = node.inputNodes.contains(where: isRelevant)
      }
    }
    self.slots = slots
    self.numbers = numbers
  }

  /// Sweeps from the target, whose gradient is `seed`; `nil` stands for 1, for a scalar target.
  /// A `watcher` hears of each source's gradient as soon as it is final.
  func run(seed: Tensor<Scalar>?, watcher: SweepWatcher<Scalar>? = nil) {
    defer { watcher?.sweepDidEnd(self) }
    guard slots[target - base].isRelevant else { return }
    if let seed { slots[target - base].gradient = seed } else { accumulate(1, into: target) }
    // Anomaly detection (AnomalyDetection.swift); `nil`, one branch per node, when off.
    let inspector = tape.inspector
    inspector?.willSweep(seed: seed ?? Tensor(1), target: target)
    defer { inspector?.didSweep() }
    // Scalar records are swept on numbers when nothing needs their gradients as tensors.
    let sweepsRecords = !createGraph && inspector == nil && tape.holdsScalarRecords(of: Scalar.self)
    for index in stride(from: target, through: base, by: -1) {
      let slot = index - base
      guard slots[slot].isRelevant else { continue }
      if let watcher { watcher.willVisit(index, in: self) }
      defer { if let watcher { watcher.didVisit() } }
      // A source keeps its gradient (it is the answer); another node's moves out of its slot.
      let keeps = slots[slot].isSource
      if sweepsRecords, case .scalar(let position) = tape.entries[index] {
        let record = tape.scalarRecords[position]
        guard !record.isLeaf, let upstream = scalarGradient(at: slot, keeping: keeps) else {
          continue
        }
        backpropagate(upstream, through: record)
        continue
      }
      // A node of the other precision gets no gradient here: gradients cross into its region
      // through the conversion nodes, each of which sweeps that region (Conversion.swift).
      guard let node = tape.node(at: index, as: Scalar.self) else { continue }
      if case .leaf = node.rule { continue }
      // A source computed from values that lead to no other source (an intermediate result
      // asked for on its own) passes nothing on.
      if keeps, stopsAtSources || !node.inputNodes.contains(where: { needsGradient($0) }) {
        continue
      }
      guard let upstream = gradient(at: slot, keeping: keeps) else { continue }
      backpropagate(upstream, through: node, at: index)
      inspector?.checkGradients(sentBy: node, at: index, upstream: upstream, in: self)
    }
  }

  /// The accumulated gradient of a node, if anything reached it. Its elements may be pending:
  /// the caller computes them (`materializeTogether(_:)`) before it returns them.
  func gradient(at node: Int) -> Tensor<Scalar>? {
    node >= base && node <= target ? gradient(at: node - base, keeping: true) : nil
  }

  /// The accumulated gradient of a node, moved out of the sweep: for a caller that reads each
  /// source once, when the sweep is done (a copy retains the gradient's buffer and shape, and
  /// the sweep's end releases them again).
  func takeGradient(at node: Int) -> Tensor<Scalar>? {
    node >= base && node <= target ? gradient(at: node - base, keeping: false) : nil
  }

  /// The gradient in `slot` as a tensor, moved out of the slot unless `keeping`.
  private func gradient(at slot: Int, keeping: Bool) -> Tensor<Scalar>? {
    let tensor = keeping ? slots[slot].gradient : slots[slot].gradient.take()
    guard slots[slot].hasNumber else { return tensor }
    // A slot takes numbers only from nodes whose operands are scalars, so `tensor` is one too.
    let number = Tensor(numbers[slot])
    let sum = tensor.map { zipped(.add, $0, number, "+") } ?? number
    slots[slot].hasNumber = false
    if keeping { slots[slot].gradient = sum }
    return sum
  }

  /// The gradient in `slot` as a number, moved out of the slot unless `keeping`.
  ///
  /// - Precondition: The slot's node is a scalar.
  private func scalarGradient(at slot: Int, keeping: Bool) -> Scalar? {
    let tensor = keeping ? slots[slot].gradient : slots[slot].gradient.take()
    let number = slots[slot].hasNumber ? numbers[slot] : nil
    if !keeping { slots[slot].hasNumber = false }
    guard let tensor else { return number }
    let element = tensor.scalar
    return number.map { element + $0 } ?? element
  }

  /// Sends `g`, the gradient of a scalar record's output, to its operands as numbers.
  private func backpropagate(_ g: Scalar, through record: ScalarRecord) {
    let wanted = Sides(lhs: needsGradient(record.lhs), rhs: needsGradient(record.rhs))
    guard wanted.lhs || wanted.rhs else { return }
    let (a, b, y) = record.values(as: Scalar.self)
    let (da, db) = record.operation.pullback(Number(g), Number(a), Number(b), Number(y), wanted)
    if let da { accumulate(da.value, into: record.lhs!) }
    if let db { accumulate(db.value, into: record.rhs!) }
  }

  /// Adds the number `contribution` to the gradient of `node`, a scalar.
  private func accumulate(_ contribution: Scalar, into node: Int) {
    let slot = node - base
    numbers[slot] = slots[slot].hasNumber ? numbers[slot] + contribution : contribution
    slots[slot].hasNumber = true
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
      if let da { accumulate(da, into: lhs!, shape: node.operands.first!.shape) }
      if let db { accumulate(db, into: rhs!, shape: node.operands.second!.shape) }
    case .elementwise(let operation):
      let (lhs, rhs) = (
        node.inputNodes.first!, node.inputNodes.count > 1 ? node.inputNodes.second! : nil
      )
      let wanted = Sides(lhs: needsGradient(lhs), rhs: needsGradient(rhs))
      guard wanted.lhs || wanted.rhs else { return }
      let (first, second) = (
        node.operands.first!, node.operands.count > 1 ? node.operands.second! : nil
      )
      // A primitive of one operand takes its operand as `b` too, unused.
      let (da, db): (Tensor<Scalar>?, Tensor<Scalar>?)
      if createGraph {
        let a = value(of: first)
        (da, db) = operation.pullback(
          g, a, second.map { value(of: $0) } ?? a, output(of: node, at: index), wanted)
      } else {
        (da, db) = operation.pullback(
          g, first.value, second?.value ?? first.value, node.output, wanted)
      }
      if let da { accumulate(da, into: lhs!, shape: first.shape) }
      if let db, let second { accumulate(db, into: rhs!, shape: second.shape) }
    case .custom(let rule):
      rule(PullbackContext(sweep: self, node: node, index: index, upstream: g))
    }
  }

  func needsGradient(_ operand: Operand<Scalar>) -> Bool { needsGradient(operand.node) }

  /// Whether the operand that `node` produced (`nil` for a constant) needs a gradient.
  func needsGradient(_ node: Int?) -> Bool {
    guard let node, node >= base else { return false }
    return slots[node - base].isRelevant
  }

  /// An operand's value; recorded as its node when the sweep records itself.
  func value(of operand: Operand<Scalar>) -> Tensor<Scalar> {
    guard createGraph, let node = operand.node else { return operand.value }
    return Tensor(
      shape: operand.shape, storage: operand.storage,
      trace: Trace(tape: tape, node: node))
  }

  /// A node's output; recorded as that node when the sweep records itself.
  func output(of node: Node<Scalar>, at index: Int) -> Tensor<Scalar> {
    guard createGraph else { return node.output }
    return Tensor(
      shape: node.output.shape, storage: node.output.storage,
      trace: Trace(tape: tape, node: index))
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

  /// Adds `contribution` to the gradient of node `node` (`nil` for a constant), if it needs one.
  func accumulate(_ contribution: consuming Tensor<Scalar>, intoNode node: Int?) {
    guard let node, needsGradient(node) else { return }
    accumulate(contribution, into: node)
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

  /// Adds `term`'s product to its node's gradient: straight into its buffer with gemm's β = 1
  /// when the buffer is there and is not recorded, else as a new product (recorded when the
  /// sweep records itself; an unrecorded product builds no rule, see `record`).
  func accumulate(_ term: GradientProduct<Scalar>) {
    let slot = term.node - base
    if createGraph {
      let product = matmul(term.a, transposed: term.transposeA, term.b, transposed: term.transposeB)
      accumulate(product, into: term.node)
    } else if slots[slot].gradient != nil {
      slots[slot].gradient!.addProductUnrecorded(
        term.a, transposed: term.transposeA, term.b, transposed: term.transposeB)
    } else {
      slots[slot].gradient = term.newProduct()
    }
  }

  /// Adds two products to their nodes' gradients, as `accumulate(_:)` adds each: at the same
  /// time on two threads when both gradients are new and unrecorded and
  /// ``BLAS/sideBySide(_:_:)`` says the pair runs faster so (a small layer's `dW = Xᵀ·dZ` and
  /// `dX = dZ·Wᵀ`), else one after the other.
  func accumulate(_ first: GradientProduct<Scalar>?, _ second: GradientProduct<Scalar>?) {
    guard let first, let second, !createGraph, first.node != second.node,
      slots[first.node - base].gradient == nil, slots[second.node - base].gradient == nil,
      BLAS.sideBySide(first.work, second.work)
    else {
      // One at a time, without an array of the two (an allocation per product node: matgrad).
      if let first { accumulate(first) }
      if let second { accumulate(second) }
      return
    }
    // A pending factor (an upstream gradient both products read) is computed here, once,
    // rather than by the first thread that reads it while the other waits.
    first.a.storage.materialize()
    first.b.storage.materialize()
    second.a.storage.materialize()
    second.b.storage.materialize()
    var x: Tensor<Scalar>?
    var y: Tensor<Scalar>?
    concurrently {
      x = first.newProduct()
    } and: {
      y = second.newProduct()
    }
    slots[first.node - base].gradient = x
    slots[second.node - base].gradient = y
  }
}

/// A product `op(a)·op(b)` to add to the gradient of the operand that node `node` made, whose
/// value has `shape`: made by `PullbackContext.product(into:...)`, only for a node that needs a
/// gradient.
struct GradientProduct<Scalar: TensorScalar> {
  let node: Int
  let shape: [Int]
  let a: Tensor<Scalar>
  let transposeA: Bool
  let b: Tensor<Scalar>
  let transposeB: Bool

  /// The product's work in Float multiply-adds (`TensorScalar.productWork(m:n:k:)`).
  var work: Double {
    Scalar.productWork(m: shape[0], n: shape[1], k: transposeA ? a.shape[0] : a.shape[1])
  }

  /// The product, in a new tensor. Unrecorded.
  func newProduct() -> Tensor<Scalar> {
    var product = Tensor<Scalar>(uninitializedShape: shape)
    product.gemm(a, transposed: transposeA, b, transposed: transposeB, accumulating: false)
    return product
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

  // The operands' nodes are read from `inputNodes`, plain integers: an operand read from
  // `operands` is a copy, which retains its buffer and shape (matgrad benchmark).

  /// Whether operand `position` needs a gradient: it is recorded and leads to a source.
  func needsGradient(_ position: Int) -> Bool { sweep.needsGradient(node.inputNodes[position]) }

  /// The value of operand `position`.
  func operand(_ position: Int) -> Tensor<Scalar> { sweep.value(of: node.operands[position]) }

  /// The node's output.
  var output: Tensor<Scalar> { sweep.output(of: node, at: index) }

  /// Adds `gradient` (of the operand's shape) to operand `position`'s gradient; drops it when the
  /// operand needs none (a constant, or a value below the lowest source), so a rule that does not
  /// ask ``needsGradient(_:)`` first is still right.
  func accumulate(_ gradient: Tensor<Scalar>, into position: Int) {
    assert(
      gradient.shape == node.operands[position].shape,
      "gradient \(gradient.shape) for \(node.operands[position].shape)")
    sweep.accumulate(gradient, intoNode: node.inputNodes[position])
  }

  /// The product `op(a)·op(b)` for operand `position`'s gradient, for
  /// ``accumulateProducts(_:_:)``; `nil` when the operand needs no gradient.
  func product(
    into position: Int, _ a: Tensor<Scalar>, transposed transposeA: Bool,
    _ b: Tensor<Scalar>, transposed transposeB: Bool
  ) -> GradientProduct<Scalar>? {
    guard let node = node.inputNodes[position], sweep.needsGradient(node) else { return nil }
    return GradientProduct(
      node: node, shape: self.node.operands.shape(at: position),
      a: a, transposeA: transposeA, b: b, transposeB: transposeB)
  }

  /// Adds two operands' products (``product(into:_:transposed:_:transposed:)``) to their
  /// gradients, side by side on two threads where that is faster.
  func accumulateProducts(_ first: GradientProduct<Scalar>?, _ second: GradientProduct<Scalar>?) {
    sweep.accumulate(first, second)
  }

  /// Adds `op(a)·op(b)` to operand `position`'s gradient, with no transpose materialized.
  func accumulateProduct(
    into position: Int, _ a: Tensor<Scalar>, transposed transposeA: Bool,
    _ b: Tensor<Scalar>, transposed transposeB: Bool
  ) {
    if let term = product(into: position, a, transposed: transposeA, b, transposed: transposeB) {
      sweep.accumulate(term)
    }
  }
}
