// On `@_specialize`, see the Performance article in Documentation.docc.

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

// The functional forms of reverse mode: they make a tape, watch the inputs, run the function and
// sweep. Called inside a function that is itself being differentiated, they record on the outer
// tape instead (with `createGraph`), so the gradient they return can be differentiated again.

extension Tape {
  /// The tape of the innermost functional differentiation running on this thread, if any.
  ///
  /// A thread's, not a task-local value: pushing a task-local value allocated twice per
  /// gradient outside a task, and cost a quarter of a microsecond (scalar-graph benchmark).
  /// The differentiated function is synchronous, so it runs on the thread that set the value,
  /// from start to end.
  static var active: Tape? {
    pthread_getspecific(activeTapeKey).map { Unmanaged<Tape>.fromOpaque($0).takeUnretainedValue() }
  }

  /// Runs `body` with `tape` as the active tape of this thread.
  @inline(__always)  // Inlined with `differentiating`, so a scalar gradient makes no extra call.
  static func withActive<R>(_ tape: Tape, _ body: () -> R) -> R {
    let outer = pthread_getspecific(activeTapeKey)
    // Unretained: `tape` is alive while `body` runs, since the caller holds it.
    pthread_setspecific(activeTapeKey, Unmanaged.passUnretained(tape).toOpaque())
    defer { pthread_setspecific(activeTapeKey, outer) }
    return withExtendedLifetime(tape) { body() }
  }
}

extension Tape {
  /// The largest tape kept for reuse, in nodes: a longer one is freed, so that a thread does not
  /// hold on to the capacity of its largest computation.
  static let largestSpare = 4096

  /// The thread's spare tape, emptied, taken out of its slot.
  static func takeSpare() -> Tape? {
    guard let spare = pthread_getspecific(spareTapeKey) else { return nil }
    pthread_setspecific(spareTapeKey, nil)
    let tape = Unmanaged<Tape>.fromOpaque(spare).takeRetainedValue()
    tape.inspector = TapeInspector.forNewTape()
    return tape
  }

  /// Empties this tape, which nothing else refers to, and keeps it as the thread's spare, unless
  /// the thread has one or the tape is larger than `largestSpare`.
  func keepAsSpare() {
    guard entries.count <= Tape.largestSpare, pthread_getspecific(spareTapeKey) == nil else {
      return
    }
    removeAll()
    pthread_setspecific(spareTapeKey, Unmanaged.passRetained(self).toOpaque())
  }
}

/// The thread-specific slot of the thread's spare tape (`Tape.takeSpare()`), released when the
/// thread exits.
private let spareTapeKey: pthread_key_t = {
  var key = pthread_key_t()
  let status = pthread_key_create(&key) { spare in
    #if canImport(Darwin)
      Unmanaged<Tape>.fromOpaque(spare).release()
    #else
      spare.map { Unmanaged<Tape>.fromOpaque($0).release() }
    #endif
  }
  precondition(status == 0, "Tape: pthread_key_create failed with status \(status)")
  return key
}()

/// The thread-specific slot of `Tape.active`.
private let activeTapeKey: pthread_key_t = {
  var key = pthread_key_t()
  let status = pthread_key_create(&key, nil)
  precondition(status == 0, "Tape: pthread_key_create failed with status \(status)")
  return key
}()

extension Tape: @unchecked Sendable {}
// `@unchecked`: its mutable state, the node array, is touched only by the thread that holds its
// `user` word (Tape+Exclusivity.swift), which stops a second thread instead of letting it race.
// It is Sendable so that a recorded tensor (which refers to it) can be.

/// Runs `body` on a tape: the tape of an enclosing differentiation when there is one (then the
/// sweep records itself), else a new one.
func differentiating<R>(
  _ inputs: [Tensor<some TensorScalar>], _ body: (Tape, _ nested: Bool) -> R
) -> R {
  differentiating(onTapeOf: inputs.lazy.compactMap { $0.liveTrace?.tape }.first, body)
}

/// Runs `body` on a tape: `inputTape` (the tape of a recorded input) or the tape of an enclosing
/// differentiation when there is one (then the sweep records itself), else a new one.
///
/// A new tape that nothing refers to once `body` returns is emptied and kept for the thread's
/// next differentiation (`Tape.keepAsSpare()`): the tape and its buffers were five allocations
/// per gradient (scalar-graph benchmark). One that recorded tensors or a pullback outlive is
/// finished (`Tape.isFinished`): its tensors become constants.
@inline(__always)  // See `Tape.withActive(_:_:)`.
func differentiating<R>(onTapeOf inputTape: Tape?, _ body: (Tape, _ nested: Bool) -> R) -> R {
  if let outer = inputTape ?? Tape.active {
    return Tape.withActive(outer) { body(outer, true) }
  }
  var tape = Tape.takeSpare() ?? Tape()
  let result = Tape.withActive(tape) { body(tape, false) }
  if isKnownUniquelyReferenced(&tape) { tape.keepAsSpare() } else { tape.finish() }
  return result
}

/// Whether `value`, which a differentiated function returned, is recorded on `tape`; `false` for
/// a constant, which must then be a scalar.
///
/// - Precondition: `value` is recorded on `tape` or not at all; a constant has one element.
private func isRecorded<Scalar>(
  _ value: Tensor<Scalar>, on tape: Tape, at location: SourceLocation
) -> Bool {
  let isRecorded = value.liveNode != nil
  check(
    !isRecorded || value.trace.unsafelyUnwrapped.tape === tape,
    "gradient: the function returned a tensor recorded on another tape", at: location)
  guard isRecorded else {
    check(
      value.scalarCount == 1,
      "gradient: the function returned shape \(value.shape.shapeDescription); it must return a "
        + "scalar", at: location)
    return false
  }
  return true
}

/// The value of `f` at `inputs` and its gradient with respect to each input.
///
/// - Precondition: `f` returns a scalar (one element).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func valueWithGradient<Scalar>(
  at inputs: [Tensor<Scalar>], of f: ([Tensor<Scalar>]) -> Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> (value: Tensor<Scalar>, gradient: [Tensor<Scalar>]) {
  valueWithGradient(at: inputs, of: f, watcher: nil, file: file, line: line)
}

/// The array form's value and gradients, with a watcher of the sweep (or none).
@inline(__always)
private func valueWithGradient<Scalar>(
  at inputs: [Tensor<Scalar>], of f: ([Tensor<Scalar>]) -> Tensor<Scalar>,
  watcher: SweepWatcher<Scalar>?, file: StaticString, line: UInt
) -> (value: Tensor<Scalar>, gradient: [Tensor<Scalar>]) {
  differentiating(inputs) { tape, nested in
    let watched = inputs.map { tape.watch($0) }
    let value = f(watched)
    guard isRecorded(value, on: tape, at: SourceLocation(file: file, line: line)) else {
      return (value, inputs.map { Tensor(zeros: $0.shape) })
    }
    let gradient = tape.pendingGradients(
      of: value, wrt: watched, createGraph: nested, watcher: watcher, file: file, line: line)
    materializeTogether(value, gradient)
    return (nested ? value : value.detached, gradient)
  }
}

/// The value of `f` at `inputs` and its gradient with respect to each input, reporting each
/// input's gradient to `ready` as soon as the backward sweep has finished it.
///
/// The sweep finishes the gradients of a network's last layer first; a caller can start using
/// them (sending them to other processes, say) while the sweep computes the rest, as
/// AutodiffDistributed does to overlap communication with the backward pass:
///
/// ```swift
/// let (loss, gradients) = valueWithGradient(at: model.parameters) { parameters in
///   softmaxCrossEntropy(
///     logits: model.replacingParameters(with: parameters)(images), labels: labels)
/// } whenReady: { index, gradient in
///   print("parameter \(index) is done: \(gradient.shape)")
/// }
/// ```
///
/// - Parameters:
///   - inputs: The tensors to differentiate with respect to.
///   - f: The function, which returns a scalar.
///   - ready: Called once for each input, with its position in `inputs` and its final gradient
///     (the same tensor the result holds), in the order the sweep finishes them; the gradients
///     of inputs the value does not depend on (zeros) come last, in input order. It runs during
///     the sweep, so it must not differentiate or record on the tape.
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: The value and the gradients, as the form without `ready` returns them.
/// - Precondition: `f` returns a scalar (one element).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func valueWithGradient<Scalar>(
  at inputs: [Tensor<Scalar>], of f: ([Tensor<Scalar>]) -> Tensor<Scalar>,
  whenReady ready: (_ index: Int, _ gradient: Tensor<Scalar>) -> Void,
  file: StaticString = #fileID, line: UInt = #line
) -> (value: Tensor<Scalar>, gradient: [Tensor<Scalar>]) {
  valueWithGradient(
    at: inputs, of: f, whenReady: ready, afterEachNode: nil, file: file, line: line)
}

/// ``valueWithGradient(at:of:whenReady:file:line:)``, calling `afterEachNode` after each node the
/// sweep visits: AutodiffDistributed drives its nonblocking reductions forward there.
package func valueWithGradient<Scalar>(
  at inputs: [Tensor<Scalar>], of f: ([Tensor<Scalar>]) -> Tensor<Scalar>,
  whenReady ready: (_ index: Int, _ gradient: Tensor<Scalar>) -> Void,
  afterEachNode: (() -> Void)?, file: StaticString, line: UInt
) -> (value: Tensor<Scalar>, gradient: [Tensor<Scalar>]) {
  withoutActuallyEscaping(ready) { ready in
    let watcher = SweepWatcher<Scalar>(
      sourceCount: inputs.count, ready: ready, afterEachNode: afterEachNode)
    let result = valueWithGradient(at: inputs, of: f, watcher: watcher, file: file, line: line)
    watcher.finish(with: result.gradient)
    return result
  }
}

/// The gradient of `f` at `inputs`, with respect to each input.
///
/// - Precondition: `f` returns a scalar (one element).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func gradient<Scalar>(
  at inputs: [Tensor<Scalar>], of f: ([Tensor<Scalar>]) -> Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> [Tensor<Scalar>] {
  valueWithGradient(at: inputs, of: f, file: file, line: line).gradient
}

/// The value of `f` at `x` and its gradient.
///
/// ```swift
/// let (y, dy) = valueWithGradient(at: Tensor<Double>(3)) { x in x * x }   // 9, 6
/// ```
///
/// - Precondition: `f` returns a scalar (one element).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func valueWithGradient<Scalar>(
  at x: Tensor<Scalar>, of f: (Tensor<Scalar>) -> Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> (value: Tensor<Scalar>, gradient: Tensor<Scalar>) {
  // The array form's steps on one tensor, so that no array is built.
  differentiating(onTapeOf: x.liveTrace?.tape) { tape, nested in
    let watchedX = tape.watch(x)
    let value = f(watchedX)
    guard isRecorded(value, on: tape, at: SourceLocation(file: file, line: line)) else {
      return (value, Tensor(zeros: x.shape))
    }
    let gradient = tape.pendingGradient(
      of: value, wrtOne: watchedX, createGraph: nested, file: file, line: line)
    materializeTogether(value, gradient)
    return (nested ? value : value.detached, gradient)
  }
}

/// The gradient of `f` at `x`.
///
/// - Precondition: `f` returns a scalar (one element).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func gradient<Scalar>(
  at x: Tensor<Scalar>, of f: (Tensor<Scalar>) -> Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  valueWithGradient(at: x, of: f, file: file, line: line).gradient
}

/// The value of `f` at `(x, y)` and its gradients with respect to `x` and `y`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func valueWithGradient<Scalar>(
  at x: Tensor<Scalar>, _ y: Tensor<Scalar>,
  of f: (Tensor<Scalar>, Tensor<Scalar>) -> Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> (value: Tensor<Scalar>, gradient: (Tensor<Scalar>, Tensor<Scalar>)) {
  // The array form's steps on two tensors, so that no array is built (scalar-graph benchmark).
  differentiating(onTapeOf: x.liveTrace?.tape ?? y.liveTrace?.tape) { tape, nested in
    let (watchedX, watchedY) = (tape.watch(x), tape.watch(y))
    let value = f(watchedX, watchedY)
    guard isRecorded(value, on: tape, at: SourceLocation(file: file, line: line)) else {
      return (value, (Tensor(zeros: x.shape), Tensor(zeros: y.shape)))
    }
    // Taken apart at once: reading `.0` and `.1` of the pair copied the whole pair, through its
    // metadata (a pair of tensors is eight words), twice per gradient (scalar-graph benchmark).
    let (dx, dy) = tape.pendingGradients(
      of: value, wrt: watchedX, watchedY, createGraph: nested, file: file, line: line)
    materializeTogether(value, dx, dy)
    return (nested ? value : value.detached, (dx, dy))
  }
}

/// The gradients of `f` at `(x, y)` with respect to `x` and `y`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func gradient<Scalar>(
  at x: Tensor<Scalar>, _ y: Tensor<Scalar>,
  of f: (Tensor<Scalar>, Tensor<Scalar>) -> Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> (Tensor<Scalar>, Tensor<Scalar>) {
  valueWithGradient(at: x, y, of: f, file: file, line: line).gradient
}

/// The value of `f` at `(x, y, z)` and its gradients with respect to each.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func valueWithGradient<Scalar>(
  at x: Tensor<Scalar>, _ y: Tensor<Scalar>, _ z: Tensor<Scalar>,
  of f: (Tensor<Scalar>, Tensor<Scalar>, Tensor<Scalar>) -> Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> (value: Tensor<Scalar>, gradient: (Tensor<Scalar>, Tensor<Scalar>, Tensor<Scalar>)) {
  let (value, g) = valueWithGradient(
    at: [x, y, z], of: { f($0[0], $0[1], $0[2]) }, file: file, line: line)
  return (value, (g[0], g[1], g[2]))
}

/// The gradients of `f` at `(x, y, z)` with respect to each.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func gradient<Scalar>(
  at x: Tensor<Scalar>, _ y: Tensor<Scalar>, _ z: Tensor<Scalar>,
  of f: (Tensor<Scalar>, Tensor<Scalar>, Tensor<Scalar>) -> Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> (Tensor<Scalar>, Tensor<Scalar>, Tensor<Scalar>) {
  valueWithGradient(at: x, y, z, of: f, file: file, line: line).gradient
}

/// The value of `f` at `x` and its pullback: a function from the gradient of the value (of the
/// value's shape) to the gradient with respect to `x`.
///
/// The pullback may be called many times; it keeps the recorded computation alive while it
/// exists.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func valueWithPullback<Scalar>(
  at x: Tensor<Scalar>, of f: (Tensor<Scalar>) -> Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> (value: Tensor<Scalar>, pullback: (Tensor<Scalar>) -> Tensor<Scalar>) {
  let (value, pullback) = valueWithPullback(at: [x], of: { f($0[0]) }, file: file, line: line)
  return (value, { pullback($0)[0] })
}

/// The value of `f` at `(x, y)` and its pullback, from the gradient of the value to the
/// gradients with respect to `x` and `y`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func valueWithPullback<Scalar>(
  at x: Tensor<Scalar>, _ y: Tensor<Scalar>,
  of f: (Tensor<Scalar>, Tensor<Scalar>) -> Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> (value: Tensor<Scalar>, pullback: (Tensor<Scalar>) -> (Tensor<Scalar>, Tensor<Scalar>)) {
  let (value, pullback) = valueWithPullback(
    at: [x, y], of: { f($0[0], $0[1]) }, file: file, line: line)
  return (
    value,
    {
      let g = pullback($0)
      return (g[0], g[1])
    }
  )
}

/// The value of `f` at `inputs` and its pullback, from the gradient of the value to the
/// gradients with respect to each input.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func valueWithPullback<Scalar>(
  at inputs: [Tensor<Scalar>], of f: ([Tensor<Scalar>]) -> Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> (value: Tensor<Scalar>, pullback: (Tensor<Scalar>) -> [Tensor<Scalar>]) {
  differentiating(inputs) { tape, nested in
    let watched = inputs.map { tape.watch($0) }
    let value = f(watched)
    guard value.trace?.tape === tape else {
      return (value, { _ in inputs.map { Tensor(zeros: $0.shape) } })
    }
    let pullback = { (seed: Tensor<Scalar>) -> [Tensor<Scalar>] in
      tape.gradient(
        of: value, wrt: watched, seed: seed, createGraph: nested, file: file, line: line)
    }
    return (nested ? value : value.detached, pullback)
  }
}
