// On `@_specialize`, see the Performance article in Documentation.docc.

internal import Synchronization

/// A record of tensor operations, swept backwards to compute gradients (reverse mode).
///
/// Watch the tensors to differentiate with respect to, compute with them, and ask for gradients:
///
/// ```swift
/// let tape = Tape()
/// let x = tape.watch(Tensor<Double>(3))
/// let y = tape.watch(Tensor<Double>(2))
/// let f = (x * y).squared()
/// let (dx, dy) = tape.gradient(of: f, wrt: x, y)   // 24, 36
/// ```
///
/// Every operation whose operands include a recorded tensor appends a node to the tape and
/// returns a recorded tensor; intermediate results can be asked about too. Asking again gives the
/// same answer: a sweep reads the tape without changing it.
///
/// A tape holds the values its operations saved for their gradients until the tape and every
/// tensor recorded on it are gone. Use one tape per computation (`gradient(at:of:)` and
/// friends make one for you); freeing it, however long, costs a flat loop.
///
/// ## Concurrency
///
/// A tape may be used by one task at a time: recording on it (any operation on its tensors) and
/// sweeping it (``gradient(of:wrt:seed:createGraph:file:line:)``, ``tangent(of:wrt:along:createGraph:file:line:)``)
/// must not overlap with another task's use, and neither may any other API of the tape
/// (``count``, ``statistics``, ``graphviz()``, ``detectsAnomalies``, ``capturesCallSites``): none
/// may be called from another thread while a task records or sweeps; each stops the program with
/// a message instead of racing. Tasks that compute concurrently each use their own
/// tape; `gradient(at:of:)` and friends make one per call. Two tasks found using one tape at
/// the same moment stop the program with a message naming the misuse. Tensors themselves,
/// recorded or not, may cross tasks freely. Nesting follows the thread: `gradient(at:of:)`
/// called inside a function being differentiated, on the same thread, records on that
/// function's tape (so the inner gradient can be differentiated again), while a task started
/// there gets tapes of its own.
public final class Tape {
  /// The recorded operations, in the order they ran. A node's operands come before it. Accessed
  /// only between `beginUse(_:)` and `endUse(_:)`.
  ///
  /// `@exclusivity(unchecked)`: the runtime's check of each access (`swift_beginAccess`, several
  /// times per recorded operation) cannot find a conflict here. Other threads are kept out by `beginUse(_:)`, and on one thread no
  /// access overlaps another: the only write is the `append` in `append(_:)`, which calls back
  /// into nothing, and every read copies an element out before going on.
  ///
  /// Room for a small computation from the start (a scalar graph records about ten nodes), so
  /// that the first operations do not each regrow the buffer.
  @exclusivity(unchecked) private(set) var entries = TapeBuffer<TapeEntry>(capacity: 16)

  /// The operations on scalars recorded by value (ScalarRecord.swift).
  ///
  /// `@exclusivity(unchecked)` for the reason `entries` is.
  @exclusivity(unchecked) private(set) var scalarRecords = TapeBuffer<ScalarRecord>(capacity: 16)

  /// The scalar type of `scalarRecords`, `Float` or `Double`, set by the first record.
  @exclusivity(unchecked) private var scalarRecordsType: ObjectIdentifier?

  /// Anomaly detection and call-site capture (TapeInspector.swift), or `nil` when both are off,
  /// as they are unless turned on: then recording pays one branch for them.
  ///
  /// `@exclusivity(unchecked)` for the reason `entries` is: it is read on every recorded operation,
  /// and written only by the tools' switches (TapeInspector.swift), never during a read.
  @exclusivity(unchecked) var inspector: TapeInspector? = TapeInspector.forNewTape()

  /// The thread using the tape, or 0 when it is free (see Tape+Exclusivity.swift).
  let user = Atomic<UInt>(0)

  /// Whether the functional differentiation that made this tape (`gradient(at:of:)` and its
  /// friends) has returned while tensors recorded on it live on, kept by the caller. Those
  /// tensors are constants from then on (`Tensor.trace` is `nil`): computing with them records
  /// nothing, and a later differentiation starts a tape of its own instead of nesting on this
  /// one, which would grow without bound. Its pullbacks and differentials still sweep it.
  var isFinished: Bool { finished.load(ordering: .relaxed) }

  /// Marks the tape finished (see `isFinished`).
  func finish() { finished.store(true, ordering: .relaxed) }

  private let finished = Atomic<Bool>(false)

  /// Creates an empty tape.
  public init() {}

  /// The number of operations recorded, watched tensors included.
  public var count: Int {
    let taken = beginUse("reading count")
    defer { endUse(taken) }
    return entries.count
  }

  /// Returns `x` recorded on this tape, as a leaf to differentiate with respect to.
  ///
  /// Watching a tensor that is already recorded on this tape makes a new leaf that depends on it:
  /// gradients with respect to the new leaf count only the uses of the new leaf, while gradients
  /// with respect to the original flow through it. This is what nested differentiation needs.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func watch<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
    let isOurs = x.trace?.tape === self
    if x.shape.isEmpty, recordsScalars(of: Scalar.self) {
      let element = x.scalar
      return append(
        ScalarRecord(
          operation: .watch, operandCount: isOurs ? 1 : 0, lhs: isOurs ? x.trace!.node : nil,
          rhs: nil, a: isOurs ? element : 0, b: 0, y: element),
        storage: x.storage)
    }
    return append(
      Node(
        name: "watch", location: nil,
        operands: isOurs ? Operands(Operand(x)) : Operands(),
        output: x.detached, rule: isOurs ? .elementwise(.watch) : .leaf,
        tangent: isOurs ? .elementwise : nil))
  }

  /// Appends `node` and returns its output, recorded as that node.
  func append<Scalar>(_ node: consuming Node<Scalar>) -> Tensor<Scalar> {
    let taken = beginUse("recording '\(node.name)'")
    defer { endUse(taken) }
    let index = entries.count
    let output = Tensor(
      shape: node.output.shape, storage: node.output.storage, trace: Trace(tape: self, node: index))
    if let inspector { inspector.didAppend(node, at: index, on: self) }
    // Moved, not copied, into the array: a copy would retain the node.
    entries.append(.node(node))
    return output
  }

  /// Forgets every recorded operation, keeping the arrays' capacity.
  func removeAll() {
    entries.removeAll()
    // A record is a plain value (see ScalarRecord.swift).
    scalarRecords.removeAllTrivial()
  }

  /// Whether an operation on scalars of type `Scalar` is recorded as a ``ScalarRecord``: for
  /// `Float` and `Double`, unless the inspector is on (it looks at each node as it is appended)
  /// or the tape already holds records of the other type. (A spare tape's empty records of the
  /// other type are replaced.)
  @inline(__always)
  func recordsScalars<Scalar>(of type: Scalar.Type) -> Bool {
    (Scalar.self == Double.self || Scalar.self == Float.self) && inspector == nil
      && (scalarRecordsType == ObjectIdentifier(Scalar.self) || scalarRecords.count == 0)
  }

  /// Whether the tape's scalar records hold values of type `Scalar`.
  func holdsScalarRecords<Scalar>(of type: Scalar.Type) -> Bool {
    scalarRecordsType == ObjectIdentifier(Scalar.self)
  }

  /// Appends `record`, whose values are of type `Scalar`, and returns its output, whose element
  /// is in `storage`, recorded as that node.
  ///
  /// - Precondition: `recordsScalars(of: Scalar.self)`.
  func append<Scalar>(
    _ record: ScalarRecord, storage: consuming Storage<Scalar>
  ) -> Tensor<Scalar> {
    let taken = beginUse("recording '\(record.operation.name)'")
    defer { endUse(taken) }
    scalarRecordsType = ObjectIdentifier(Scalar.self)
    let index = entries.count
    scalarRecords.append(record)
    entries.append(.scalar(scalarRecords.count - 1))
    return Tensor(shape: [], storage: storage, trace: Trace(tape: self, node: index))
  }

  /// Node `index`: its object, or the node its scalar record stands for, made anew.
  func node(at index: Int) -> AnyNode {
    switch entries[index] {
    case .node(let node): node
    case .scalar(let position):
      holdsScalarRecords(of: Float.self)
        ? scalarRecords[position].node(as: Float.self)
        : scalarRecords[position].node(as: Double.self)
    }
  }

  /// Node `index` with its scalar type, or `nil` when it has another.
  func node<Scalar>(at index: Int, as type: Scalar.Type) -> Node<Scalar>? {
    switch entries[index] {
    case .node(let node): node as? Node<Scalar>
    case .scalar(let position):
      holdsScalarRecords(of: Scalar.self) ? scalarRecords[position].node(as: Scalar.self) : nil
    }
  }

  /// The nodes that produced node `index`'s operands (`nil` for a constant).
  func inputNodes(of index: Int) -> InlineList<Int?> {
    switch entries[index] {
    case .node(let node): node.inputNodes
    case .scalar(let position): scalarRecords[position].inputNodes
    }
  }

  /// Returns the gradients of `target` with respect to each tensor of `sources`.
  ///
  /// The result has one gradient per source, in order, each of its source's shape. A source that
  /// `target` does not depend on gets zeros. Where a value is used several times, its gradient is
  /// the sum over its uses.
  ///
  /// - Parameters:
  ///   - target: A tensor recorded on this tape, or a constant (not recorded at all), whose
  ///     gradients are zeros.
  ///   - sources: Tensors recorded on this tape: watched tensors or intermediate results.
  ///   - seed: The gradient flowing into `target`, of its shape (for `D = W·X`, the `dD` from
  ///     above). It defaults to 1 and must be given when `target` has more than one element.
  ///   - createGraph: Records the sweep itself on this tape, so that the returned gradients are
  ///     recorded tensors that can be differentiated again (second derivatives).
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: Each source is recorded on this tape, and `target` on it or on none;
  ///   `seed` has `target`'s shape; `target` is a scalar when no seed is given.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func gradient<Scalar>(
    of target: Tensor<Scalar>, wrt sources: [Tensor<Scalar>], seed: Tensor<Scalar>? = nil,
    createGraph: Bool = false, file: StaticString = #fileID, line: UInt = #line
  ) -> [Tensor<Scalar>] {
    let gradients = pendingGradients(
      of: target, wrt: sources, seed: seed, createGraph: createGraph, file: file, line: line)
    materializeTogether(gradients)
    return gradients
  }

  /// The gradients of `gradient(of:wrt:seed:createGraph:file:line:)`, their elements possibly
  /// pending, for a caller that computes them together with other results.
  /// A `watcher` hears of each gradient as soon as the sweep has finished it.
  func pendingGradients<Scalar>(
    of target: Tensor<Scalar>, wrt sources: [Tensor<Scalar>], seed: Tensor<Scalar>? = nil,
    createGraph: Bool, watcher: SweepWatcher<Scalar>? = nil, file: StaticString, line: UInt
  ) -> [Tensor<Scalar>] {
    let taken = beginUse("computing a gradient")
    defer { endUse(taken) }
    let location = SourceLocation(file: file, line: line)
    let sourceNodes = sources.indices.map { position in
      node(of: sources[position], "gradient", "source \(position)", at: location)
    }
    return sweep(
      from: target, to: sourceNodes, seed: seed, createGraph: createGraph, watcher: watcher,
      at: location
    ) { sweep in
      // Moved out of the sweep (a copy retains and releases each gradient's buffer, shape and
      // tape once more); a source that was taken already, one asked for twice, repeats the
      // gradient of its first position.
      var gradients: [Tensor<Scalar>] = []
      gradients.reserveCapacity(sources.count)
      for (position, node) in sourceNodes.enumerated() {
        gradients.append(
          sweep.takeGradient(at: node)
            ?? sourceNodes[..<position].firstIndex(of: node).map { gradients[$0] }
            ?? Tensor(zeros: sources[position].shape))
      }
      return gradients
    } ?? sources.map { Tensor(zeros: $0.shape) }
  }

  /// Returns the gradients of `target` with respect to two tensors recorded on this tape.
  ///
  /// See ``gradient(of:wrt:seed:createGraph:file:line:)``.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func gradient<Scalar>(
    of target: Tensor<Scalar>, wrt x: Tensor<Scalar>, _ y: Tensor<Scalar>,
    seed: Tensor<Scalar>? = nil, createGraph: Bool = false,
    file: StaticString = #fileID, line: UInt = #line
  ) -> (Tensor<Scalar>, Tensor<Scalar>) {
    let (dx, dy) = pendingGradients(
      of: target, wrt: x, y, seed: seed, createGraph: createGraph, file: file, line: line)
    materializeTogether(dx, dy)
    return (dx, dy)
  }

  /// The gradients of `gradient(of:wrt:_:seed:createGraph:file:line:)`, their elements possibly
  /// pending, for a caller that computes them together with other results.
  func pendingGradients<Scalar>(
    of target: Tensor<Scalar>, wrt x: Tensor<Scalar>, _ y: Tensor<Scalar>,
    seed: Tensor<Scalar>? = nil, createGraph: Bool, file: StaticString, line: UInt
  ) -> (Tensor<Scalar>, Tensor<Scalar>) {
    // The general form's steps, with the two sources' nodes held inline: no array is built
    // (the functional `gradient(at:_:of:)` comes here; scalar-graph benchmark).
    let taken = beginUse("computing a gradient")
    defer { endUse(taken) }
    let location = SourceLocation(file: file, line: line)
    let (xNode, yNode) = (
      node(of: x, "gradient", "source 0", at: location),
      node(of: y, "gradient", "source 1", at: location)
    )
    return sweep(
      from: target, to: InlineList(xNode, yNode), seed: seed, createGraph: createGraph,
      at: location
    ) { sweep in
      // Moved out of the sweep, each once: `gradient(of: f, wrt: x, x)` asks for one twice.
      let dy = sweep.takeGradient(at: yNode) ?? Tensor(zeros: y.shape)
      return (xNode == yNode ? dy : sweep.takeGradient(at: xNode) ?? Tensor(zeros: x.shape), dy)
    } ?? (Tensor(zeros: x.shape), Tensor(zeros: y.shape))
  }

  /// Returns the gradient of `target` with respect to one tensor recorded on this tape, without
  /// the arrays of the general form (the functional `gradient(at:of:)` comes here). Its elements
  /// may be pending: the caller computes them, with the value.
  ///
  /// See ``gradient(of:wrt:seed:createGraph:file:line:)``.
  func pendingGradient<Scalar>(
    of target: Tensor<Scalar>, wrtOne x: Tensor<Scalar>, seed: Tensor<Scalar>? = nil,
    createGraph: Bool, file: StaticString, line: UInt
  ) -> Tensor<Scalar> {
    let taken = beginUse("computing a gradient")
    defer { endUse(taken) }
    let location = SourceLocation(file: file, line: line)
    let xNode = node(of: x, "gradient", "source 0", at: location)
    return sweep(
      from: target, to: CollectionOfOne(xNode), seed: seed, createGraph: createGraph,
      at: location
    ) { sweep in
      sweep.takeGradient(at: xNode) ?? Tensor(zeros: x.shape)
    } ?? Tensor(zeros: x.shape)
  }

  /// Checks `target` and `seed`, then sweeps backwards from `target` to the `sources` nodes, and
  /// returns what `read` makes of the sweep (its gradients). A target that is not recorded at all
  /// is a constant, which depends on no source: then there is no sweep, `nil`, and every gradient
  /// is zero (the gradient of an affine function, differentiated again, is such a constant).
  @inline(__always)  // Specialized with its caller: a generic call cost a fifth of a scalar graph.
  private func sweep<Scalar, R>(
    from target: Tensor<Scalar>, to sources: some Collection<Int>, seed: Tensor<Scalar>?,
    createGraph: Bool, watcher: SweepWatcher<Scalar>? = nil, at location: SourceLocation,
    _ read: (Sweep<Scalar>) -> R
  ) -> R? {
    guard target.trace != nil else {
      _ = upstream(of: target, seed: seed, keepingRecorded: false, "gradient", at: location)
      return nil
    }
    let targetNode = node(of: target, "gradient", "the target", at: location)
    // A scalar target's default seed, 1, goes in as a number: no tensor is made for it.
    let upstream =
      seed == nil && target.rank == 0
      ? nil
      : self.upstream(
        of: target, seed: seed, keepingRecorded: createGraph, "gradient", at: location)
    return Sweep<Scalar>.withSweep(
      tape: self, target: targetNode, sources: sources, createGraph: createGraph
    ) { sweep in
      watcher?.plan(tape: self, sourceNodes: Array(sources), base: sweep.base, target: targetNode)
      sweep.run(seed: upstream, watcher: watcher)
      return read(sweep)
    }
  }

  /// The node of a tensor recorded on this tape, or a stop naming `function` and `role`.
  func node<Scalar>(
    of tensor: Tensor<Scalar>, _ function: String, _ role: @autoclosure () -> String,
    at location: SourceLocation
  ) -> Int {
    guard let trace = tensor.trace, trace.tape === self else {
      fail(
        "\(function): \(role()) (shape \(tensor.shape.shapeDescription)) is not recorded on this "
          + "tape; watch it (or the tensors it is computed from) with tape.watch(_:)",
        at: location)
    }
    return trace.node
  }

  /// The gradient that starts a backward sweep from `target`: `seed`, which must have the
  /// target's shape (recorded only when `keepingRecorded`), or 1 for a scalar target.
  func upstream<Scalar>(
    of target: Tensor<Scalar>, seed: Tensor<Scalar>?, keepingRecorded: Bool, _ function: String,
    at location: SourceLocation
  ) -> Tensor<Scalar> {
    guard let seed else {
      check(
        target.scalarCount == 1,
        "\(function): the target has shape \(target.shape.shapeDescription); a non-scalar "
          + "target needs an explicit seed", at: location)
      return Tensor(ones: target.shape)
    }
    check(
      seed.shape == target.shape,
      "\(function): seed shape \(seed.shape.shapeDescription) differs from target shape "
        + "\(target.shape.shapeDescription)", at: location)
    return keepingRecorded ? seed : seed.detached
  }
}
