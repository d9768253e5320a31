internal import Synchronization

// Elementwise operations on large tensors are fused.
//
// An elementwise operation whose result has at least `Fusion.minimumCount` elements does not
// compute it: it returns a tensor whose storage is *pending*, holding the operation and its
// operands. An operation on pending tensors holds them in turn, so a chain of operations builds
// an expression. The first read of a pending tensor's elements runs the whole expression as one
// program (`FusedProgram`), block by block: each operation runs on a block of 4 KiB in a scratch
// register that stays in the L1 cache, so the expression reads its inputs from memory and writes
// its result once, however many operations it holds. A sum of all the elements of a pending
// tensor is pending too, and writes none of them. Several pending tensors can be computed in one
// program (`materializeTogether(_:)`): a gradient and the value it is the gradient of share the
// operations they have in common.
//
// Why: the gradient of Σ relu(x)² + σ(x) over 2²⁰ Floats made ten passes over 4 MiB arrays,
// five forward and five in the sweep, and spent its time moving memory: about 5× a fused C loop
// (elementwise benchmark). Fused, `valueWithGradient` runs one loop that reads x, computes relu(x)
// and σ(x) once per block, adds up the value and writes the gradient; no intermediate array is
// written. The price: a pending value read by two programs run apart is computed by each.

/// The policy of elementwise fusion.
enum Fusion {
  /// Elementwise results of at least this many elements (128 KiB of `Float`s) are pending. Below
  /// it an operation's pass over memory costs less than a pending expression's bookkeeping (two
  /// objects and a lock), and its operands are likely still in the cache.
  static let minimumCount = 1 << 15

  /// The most operations one pending expression holds. An operation that would make more
  /// computes its pending operands first. This bounds the work one read may do again for
  /// expressions shared by several others, the scratch registers, and the depth of the
  /// expression (so freeing one never recurses deeply).
  static let maximumCost = 24

  /// The bytes of one scratch register: 4 KiB (1,024 `Float`s). Large enough that each block's
  /// dispatch per operation is a small part of its loop, small enough that a program's registers
  /// stay in the L1 cache.
  static let blockByteCount = 4096
}

/// An elementwise operation whose result a pending storage will hold.
enum PendingOperation<Scalar: TensorScalar>: @unchecked Sendable {
  // `@unchecked`: the storages are only read, and only to compute a result once, under the lock
  // of the storage that holds this operation.

  /// Every element is `value`: a scalar broadcast to a large shape, such as the gradient a sum
  /// sends back to its operand.
  case fill(Scalar)
  /// `function` of each element of a storage of the result's count.
  case unary(UnaryFunction, Storage<Scalar>)
  /// `function` of two operands, each of the result's count or a single scalar.
  case binary(BinaryFunction, PendingOperand<Scalar>, PendingOperand<Scalar>)
  /// The sum of all the elements of a storage: a result of one element.
  case sum(Storage<Scalar>)
}

extension PendingOperation {
  /// Computes the operation into `elements` with the plain kernels when its operands are all
  /// computed, as a ReLU's input from a matrix product is, and returns true; false otherwise.
  /// One kernel call does what a one-operation program would, without compiling one (about ten
  /// small allocations: the mlp benchmarks compute several such results per step).
  func runsAlone(into elements: UnsafeMutablePointer<Scalar>, count: Int) -> Bool {
    let output = UnsafeMutableBufferPointer(start: elements, count: count)
    switch self {
    case .fill(let value):
      output.update(repeating: value)
    case .unary(let function, let x):
      guard !x.isPending else { return false }
      x.withUnsafeBufferPointer { unaryKernel(function, $0, output) }
    case .binary(let function, let a, let b):
      func computed(_ operand: PendingOperand<Scalar>) -> Bool {
        if case .elements(let x) = operand { return !x.isPending }
        return true
      }
      guard computed(a), computed(b) else { return false }
      withAddress(of: a) { x, strideA in
        withAddress(of: b) { y, strideB in
          binaryKernel(function, x, strideA: strideA, y, strideB: strideB, elements, count: count)
        }
      }
    case .sum:
      return false
    }
    return true
  }

  /// Calls `body` with the operand's first element and its stride: 1 for elements, 0 for a
  /// scalar.
  private func withAddress<R>(
    of operand: PendingOperand<Scalar>, _ body: (UnsafePointer<Scalar>, Int) -> R
  ) -> R {
    switch operand {
    case .elements(let x): x.withUnsafeBufferPointer { body($0.baseAddress!, 1) }
    case .scalar(let value): withUnsafePointer(to: value) { body($0, 0) }
    }
  }
}

/// An operand of a pending binary operation.
enum PendingOperand<Scalar: TensorScalar> {
  /// A storage of the result's count, pending or computed.
  case elements(Storage<Scalar>)
  /// One value, repeated.
  case scalar(Scalar)
}

/// The elements of a pending storage: the operation that computes them, until it has run, and
/// the block of the buffer cache that holds them, from when they are computed until the storage
/// is freed.
///
/// The block is taken when the elements are computed, not when the storage is made: an
/// expression makes a pending storage for each of its operations and computes one or two, and
/// blocks taken for all of them came back in the order the storages were freed, so the computed
/// result landed in a different block each time, one the caches no longer held (Performance.md,
/// "Buffers are reused"). Taken when computed, the result gets the block the last one gave back.
final class PendingElements<Scalar: TensorScalar>: Sendable {
  private struct State: @unchecked Sendable {
    // `@unchecked`: the block is written once, under the lock, and only its owner reads it.
    var operation: PendingOperation<Scalar>?
    var elements: UnsafeMutablePointer<Scalar>?
  }

  /// The operation, or `nil` once it has run, and the block once taken. The lock makes the
  /// first reader compute the elements and any concurrent reader wait for them.
  private let state: Mutex<State>
  /// The number of elements.
  private let count: Int
  /// The operations that computing the elements takes, this one and its pending operands'.
  private let cost: Int

  init(_ operation: PendingOperation<Scalar>, count: Int, cost: Int) {
    state = Mutex(State(operation: operation, elements: nil))
    self.count = count
    self.cost = cost
  }

  deinit {
    if let elements = state.withOrderedLock({ $0.elements }) {
      BufferCache.give(
        UnsafeMutableRawPointer(elements), byteCount: count * MemoryLayout<Scalar>.stride)
    }
  }

  /// The operation, or `nil` when the elements are computed.
  var remaining: PendingOperation<Scalar>? { state.withOrderedLock { $0.operation } }

  /// The operations still to run: 0 when the elements are computed.
  var remainingCost: Int { state.withOrderedLock { $0.operation == nil ? 0 : cost } }

  /// The block, taken from the buffer cache now if it has not been.
  private func elements(_ state: inout State) -> UnsafeMutablePointer<Scalar> {
    if let elements = state.elements { return elements }
    let elements = BufferCache.take(byteCount: count * MemoryLayout<Scalar>.stride)
      .bindMemory(to: Scalar.self, capacity: count)
    state.elements = elements
    return elements
  }

  /// The elements, computed now unless that has been done.
  func computed() -> UnsafeMutablePointer<Scalar> {
    state.withOrderedLock { state in
      let elements = self.elements(&state)
      if let pending = state.operation {
        if !pending.runsAlone(into: elements, count: count) {
          FusedProgram(computing: [FusedProgram.Root(nil, pending, elements, count: count)]).run()
        }
        // Dropping the operation releases its operands: a computed tensor holds no others alive.
        state.operation = nil
      }
      return elements
    }
  }

  /// Calls `body` with the operation (`nil` once computed) and the block under the lock, if no
  /// other thread holds it; returns `nil`, without waiting, when one does.
  func withOperationIfAvailable<R>(
    _ body: (inout PendingOperation<Scalar>?, UnsafeMutablePointer<Scalar>) -> R
  ) -> R? {
    state.withOrderedLockIfAvailable { state in body(&state.operation, elements(&state)) }
  }
}

extension Tensor {
  /// A tensor of `shape` whose elements `operation` computes when they are first read.
  ///
  /// - Precondition: `shape` has at least ``Fusion/minimumCount`` elements, or one for a sum.
  static func pending(shape: [Int], _ operation: PendingOperation<Scalar>) -> Tensor {
    var cost = 1
    func add(_ storage: Storage<Scalar>) {
      // A pending sum is a program's root, never part of one: an operand reads its one value,
      // computed now. (Nested sweeps put such sums anywhere: a scalar's gradient summed back
      // from a large shape, added to another.)
      if case .sum? = storage.pendingOperation { storage.materialize() }
      cost += storage.pendingCost
    }
    switch operation {
    case .fill: cost = 0
    case .unary(_, let x), .sum(let x): add(x)
    case .binary(_, let a, let b):
      if case .elements(let x) = a { add(x) }
      if case .elements(let y) = b { add(y) }
    }
    if cost > Fusion.maximumCost {
      // Too long an expression: compute the operands, and this operation alone stays pending.
      switch operation {
      case .fill: break
      case .unary(_, let x), .sum(let x): x.materialize()
      case .binary(_, let a, let b):
        if case .elements(let x) = a { x.materialize() }
        if case .elements(let y) = b { y.materialize() }
      }
      cost = 1
    }
    return Tensor(shape: shape, storage: .pending(count: shape.elementCount, operation, cost: cost))
  }
}

/// Computes the pending elements of two or three tensors in one program; see the array form.
/// Builds no array when none is pending (a scalar graph's value and gradients, several times
/// per microsecond).
func materializeTogether<Scalar>(
  _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, _ c: Tensor<Scalar>? = nil
) {
  guard a.storage.isPending || b.storage.isPending || c?.storage.isPending == true else { return }
  materializeTogether(c.map { [a, b, $0] } ?? [a, b])
}

/// Computes the pending elements of a value and its gradients in one program; see the array
/// form. Builds no array when none is pending (a training step's value and gradients: joining
/// them copied every tensor, three retains and releases each).
func materializeTogether<Scalar>(_ value: Tensor<Scalar>, _ gradients: [Tensor<Scalar>]) {
  guard value.storage.isPending || anyPending(gradients) else { return }
  materializeTogether([value] + gradients)
}

/// Whether any of `tensors` has pending elements, each read in place (a loop over the array
/// copies each tensor).
private func anyPending<Scalar>(_ tensors: [Tensor<Scalar>]) -> Bool {
  tensors.withUnsafeBufferPointer { tensors in
    tensors.indices.contains { tensors[$0].storage.isPending }
  }
}

/// Computes the pending elements of `tensors` in one program, so that operations they share run
/// once per block: a value and its gradient both apply σ to x, and each reads x. The gradients
/// that the functional forms return come out this way, with the value.
func materializeTogether<Scalar>(_ tensors: [Tensor<Scalar>]) {
  guard anyPending(tensors) else { return }
  var pending: [Storage<Scalar>] = []
  for tensor in tensors where tensor.storage.isPending {
    if !pending.contains(where: { $0 === tensor.storage }) { pending.append(tensor.storage) }
  }
  guard pending.count > 1 else {
    pending.first?.materialize()
    return
  }
  // When another thread holds a lock, the roots are computed one at a time instead, each
  // waiting for its lock as any reader does, while this thread holds none.
  if !computeTogether(pending) {
    for storage in pending { storage.materialize() }
  }
}

/// Computes the pending `storages` in one program under all their locks and returns `true`, or
/// returns `false` when another thread holds one of the locks, having computed nothing.
///
/// It never waits for a lock: a thread that computes one storage alone holds its lock while it
/// computes the pending values that storage reads, which may include another of `storages`, so
/// waiting for it while holding that one's lock could wait forever.
func computeTogether<Scalar>(_ storages: [Storage<Scalar>]) -> Bool {
  var roots: [FusedProgram<Scalar>.Root] = []
  func lockAll(from index: Int) -> Bool {
    guard index < storages.count else {
      // One program for each element count: a gradient and the sum it comes from run over x's
      // elements; a gradient with respect to an input of another size runs on its own.
      var counts: [Int] = []
      for root in roots where !counts.contains(root.count) { counts.append(root.count) }
      for count in counts { FusedProgram(computing: roots.filter { $0.count == count }).run() }
      return true
    }
    let locked = storages[index].withPendingOperationIfAvailable { operation, elements, count in
      if let operation {
        roots.append(FusedProgram.Root(storages[index], operation, elements, count: count))
      }
      guard lockAll(from: index + 1) else { return false }
      // Dropping the operation releases its operands: a computed tensor holds no others alive.
      operation = nil
      return true
    }
    return locked ?? false
  }
  return lockAll(from: 0)
}
