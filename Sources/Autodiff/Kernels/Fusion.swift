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

/// The elements of a pending storage, until they are computed: the operation that computes them.
final class PendingElements<Scalar: TensorScalar>: Sendable {
  /// The operation, or `nil` once it has run. The lock makes the first reader compute the
  /// elements and any concurrent reader wait for them.
  private let operation: Mutex<PendingOperation<Scalar>?>
  /// The operations that computing the elements takes, this one and its pending operands'.
  private let cost: Int

  init(_ operation: PendingOperation<Scalar>, cost: Int) {
    self.operation = Mutex(operation)
    self.cost = cost
  }

  /// The operation, or `nil` when the elements are computed.
  var remaining: PendingOperation<Scalar>? { operation.withOrderedLock { $0 } }

  /// The operations still to run: 0 when the elements are computed.
  var remainingCost: Int { operation.withOrderedLock { $0 == nil ? 0 : cost } }

  /// Computes the elements into `elements`, unless that has been done.
  func compute(into elements: UnsafeMutablePointer<Scalar>, count: Int) {
    withOperation { operation in
      guard let pending = operation else { return }
      if !pending.runsAlone(into: elements, count: count) {
        FusedProgram(computing: [FusedProgram.Root(nil, pending, elements, count: count)]).run()
      }
      // Dropping the operation releases its operands: a computed tensor holds no others alive.
      operation = nil
    }
  }

  /// Calls `body` with the operation (`nil` once computed) under the lock.
  func withOperation<R>(_ body: (inout PendingOperation<Scalar>?) -> R) -> R {
    operation.withOrderedLock { operation in body(&operation) }
  }

  /// Calls `body` as `withOperation(_:)` does if the lock is free; returns `nil`, without
  /// waiting, when another thread holds it.
  func withOperationIfAvailable<R>(_ body: (inout PendingOperation<Scalar>?) -> R) -> R? {
    operation.withOrderedLockIfAvailable { operation in body(&operation) }
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
    let count = shape.elementCount
    return Tensor(
      shape: shape, storage: .pending(count: count, PendingElements(operation, cost: cost)))
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

/// Computes the pending elements of `tensors` in one program, so that operations they share run
/// once per block: a value and its gradient both apply σ to x, and each reads x. The gradients
/// that the functional forms return come out this way, with the value.
func materializeTogether<Scalar>(_ tensors: [Tensor<Scalar>]) {
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

/// Pending expressions flattened into straight-line code: a list of elementwise operations, each
/// reading inputs, constants, or what earlier ones wrote to scratch registers or to the outputs.
/// Each block of elements runs through the whole list before the next block starts. The roots
/// are the operations whose results are wanted: each elementwise root writes its output, and each
/// sum adds up its operand's block.
struct FusedProgram<Scalar: TensorScalar> {
  /// Where an operation reads an operand.
  enum Source {
    /// A scratch register, written by an earlier operation of this block.
    case register(Int)
    /// A computed input's elements, from the block's offset on.
    case elements(UnsafePointer<Scalar>)
    /// An output's elements, from the block's offset on, written by an earlier operation.
    case output(Int)
    /// The constant at this index in `constants`, repeated.
    case constant(Int)
  }

  enum Step {
    case unary(UnaryFunction, Source)
    case binary(BinaryFunction, Source, Source)
  }

  /// Where an operation writes.
  enum Target {
    case register(Int)
    case output(Int)
  }

  struct Instruction {
    var step: Step
    var target: Target
  }

  private var instructions: [Instruction] = []
  private var constants: [Scalar] = []
  /// The elementwise roots' results: the first element's address, and where the block's elements
  /// come from when no instruction writes them (a root that is a constant or an input).
  private var outputs: [(elements: UnsafeMutablePointer<Scalar>, copy: Source?)] = []
  /// The sums: what each adds up, and where it writes its one element.
  private var sums: [(operand: Source, result: UnsafeMutablePointer<Scalar>)] = []
  private var registerCount = 0
  /// The computed storages read, kept alive while the program runs.
  private var inputs: [Storage<Scalar>] = []
  /// The source already assigned to each storage met, so that a storage reached twice (x in
  /// relu(x)² + σ(x), or σ(x) in a value and its gradient) is read or computed once per block.
  private var assigned: [(storage: ObjectIdentifier, source: Source)] = []
  private var transcendental = false
  /// The operations of the roots' storages, whose locks the caller holds.
  private var held: [(storage: ObjectIdentifier, operation: PendingOperation<Scalar>)] = []

  /// An operation whose result a program computes, and where the result goes.
  struct Root {
    /// The storage whose operation this is, when the caller holds its lock: the program reads
    /// the operation from here, not from the storage (whose lock is taken), wherever another
    /// root's expression reaches that storage (a gradient with respect to x that goes through
    /// the gradient with respect to σ(x), both asked for).
    let storage: Storage<Scalar>?
    let operation: PendingOperation<Scalar>
    let result: UnsafeMutablePointer<Scalar>
    /// The elements the program runs over: the result's count, or for a sum its operand's.
    let count: Int

    init(
      _ storage: Storage<Scalar>?, _ operation: PendingOperation<Scalar>,
      _ result: UnsafeMutablePointer<Scalar>, count: Int
    ) {
      self.storage = storage
      self.operation = operation
      self.result = result
      if case .sum(let x) = operation { self.count = x.count } else { self.count = count }
    }
  }

  /// The number of elements each block loop covers.
  private let count: Int

  /// Compiles `roots`, all of one count: pending operands are inlined, computed ones read in
  /// place.
  init(computing roots: [Root]) {
    count = roots[0].count
    assert(roots.allSatisfy { $0.count == count })
    held = roots.compactMap { root in root.storage.map { (ObjectIdentifier($0), root.operation) } }
    for root in roots {
      let (operation, result) = (root.operation, root.result)
      if case .sum(let x) = operation {
        sums.append((source(of: x), result))
        continue
      }
      let rootSource: Source
      if let storage = root.storage {
        rootSource = source(of: storage)
      } else {
        rootSource = emit(operation)
      }
      if case .register(let r) = rootSource, case .register = instructions[r].target {
        // The root's last operation writes the output directly.
        instructions[r].target = .output(outputs.count)
        outputs.append((result, nil))
      } else {
        outputs.append((result, rootSource))
      }
    }
    allocateRegisters()
  }

  /// Appends the instructions that compute `operation`; returns where its result is.
  private mutating func emit(_ operation: PendingOperation<Scalar>) -> Source {
    switch operation {
    case .fill(let value):
      return constant(value)
    case .unary(let function, let x):
      let a = source(of: x)
      if case .constant(let index) = a { return constant(function.value(constants[index])) }
      if function.isTranscendental { transcendental = true }
      return append(.unary(function, a))
    case .binary(let function, let x, let y):
      let (a, b) = (source(of: x), source(of: y))
      if case .constant(let i) = a, case .constant(let j) = b {
        return constant(function.value(constants[i], constants[j]))
      }
      return append(.binary(function, a, b))
    case .sum:
      // A pending sum has one element: an operation reads it as a scalar, computed first.
      preconditionFailure("a pending sum is never an operand of a pending operation")
    }
  }

  private mutating func source(of operand: PendingOperand<Scalar>) -> Source {
    switch operand {
    case .scalar(let value): constant(value)
    case .elements(let storage): source(of: storage)
    }
  }

  private mutating func source(of storage: Storage<Scalar>) -> Source {
    let id = ObjectIdentifier(storage)
    if let known = assigned.first(where: { $0.storage == id }) { return known.source }
    let source: Source
    if let operation = held.first(where: { $0.storage == id })?.operation ?? storage.pendingOperation {
      source = emit(operation)
    } else {
      inputs.append(storage)
      source = .elements(storage.unsafeElements)
    }
    assigned.append((id, source))
    return source
  }

  private mutating func constant(_ value: Scalar) -> Source {
    constants.append(value)
    return .constant(constants.count - 1)
  }

  /// Appends an instruction writing a new virtual register, numbered as the instruction.
  private mutating func append(_ step: Step) -> Source {
    instructions.append(Instruction(step: step, target: .register(instructions.count)))
    return .register(instructions.count - 1)
  }

  /// Maps the virtual registers (one per instruction) to outputs, where a root's result was
  /// written, or to as few scratch registers as hold the values still to be read.
  private mutating func allocateRegisters() {
    func registers(read step: Step) -> [Int] {
      var read: [Int] = []
      switch step {
      case .unary(_, let a): if case .register(let r) = a { read.append(r) }
      case .binary(_, let a, let b):
        if case .register(let r) = a { read.append(r) }
        // Once, when both operands are the same register (x·x): freed twice, the register
        // would be handed to two live values.
        if case .register(let r) = b, !read.contains(r) { read.append(r) }
      }
      return read
    }
    // A register read by a sum or an output's copy is read after every instruction.
    var lastRead = [Int](repeating: -1, count: instructions.count)
    for (index, instruction) in instructions.enumerated() {
      for register in registers(read: instruction.step) { lastRead[register] = index }
    }
    for case .register(let r) in sums.map(\.operand) + outputs.compactMap(\.copy) {
      lastRead[r] = instructions.count
    }
    var renamed = [Source](repeating: .register(-1), count: instructions.count)
    var free: [Int] = []
    func rename(_ source: Source) -> Source {
      if case .register(let r) = source { return renamed[r] }
      return source
    }
    for index in instructions.indices {
      let step = instructions[index].step
      switch step {
      case .unary(let function, let a): instructions[index].step = .unary(function, rename(a))
      case .binary(let function, let a, let b):
        instructions[index].step = .binary(function, rename(a), rename(b))
      }
      // The target is taken before this instruction's last reads are freed: an operation never
      // writes a register it reads.
      if case .output(let o) = instructions[index].target {
        renamed[index] = .output(o)
      } else {
        let register = free.popLast() ?? registerCount
        if register == registerCount { registerCount += 1 }
        instructions[index].target = .register(register)
        renamed[index] = .register(register)
      }
      for r in registers(read: step) where lastRead[r] == index {
        if case .register(let physical) = renamed[r] { free.append(physical) }
      }
    }
    sums = sums.map { (rename($0.operand), $0.result) }
    outputs = outputs.map { ($0.elements, $0.copy.map(rename)) }
  }

  /// Elements per register.
  private var blockCount: Int { Fusion.blockByteCount / MemoryLayout<Scalar>.stride }

  /// Computes the roots, on several threads when there is enough work.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func run() {
    withExtendedLifetime(inputs) {
      if sums.isEmpty {
        runBlocks(count: count)
      } else {
        runChunks(count: count)
      }
    }
  }

  /// Runs the blocks of consecutive ranges on the threads, for a program without sums.
  private func runBlocks(count: Int) {
    let grain = transcendental || instructions.count > 4 ? transcendentalGrain : elementwiseGrain
    forEachRange(count: count, grain: grain) { range in
      withScratch { scratch in
        var offset = range.lowerBound
        while offset < range.upperBound {
          let n = Swift.min(blockCount, range.upperBound - offset)
          runBlock(at: offset, count: n, scratch)
          offset += n
        }
      }
    }
  }

  /// Runs the blocks chunk by chunk, each chunk's on one thread, so that each sum adds its
  /// elements in the chunks and lanes of `sumKernel` and gets its value to the bit.
  private func runChunks(count: Int) {
    let sumCount = sums.count
    let chunks = Swift.max(1, (count + sumChunkCount - 1) / sumChunkCount)
    withUnsafeTemporaryAllocation(of: Scalar.self, capacity: chunks * sumCount) { totals in
      let totals = totals.baseAddress!
      forEachRange(count: chunks, grain: 1, alignment: 1) { range in
        withScratch { scratch in
          for chunk in range {
            let start = chunk * sumChunkCount
            let end = Swift.min(count, start + sumChunkCount)
            var lanes = LaneSums(count: end - start, scratch: scratch.lanes, sums: sumCount)
            var offset = start
            while offset < end {
              let n = Swift.min(blockCount, end - offset)
              runBlock(at: offset, count: n, scratch)
              for (k, sum) in sums.enumerated() {
                var (elements, stride) = address(sum.operand, offset, scratch)
                if stride == 0 {
                  // A sum of an expression that folded to a constant adds the constant's copies.
                  scratch.block.update(repeating: elements.pointee, count: n)
                  elements = UnsafePointer(scratch.block)
                }
                lanes.add(elements, count: n, to: k)
              }
              offset += n
            }
            for k in 0..<sumCount { totals[chunk * sumCount + k] = lanes.total(k) }
          }
        }
      }
      for (k, sum) in sums.enumerated() {
        var total = totals[k]
        for chunk in 1..<chunks { total += totals[chunk * sumCount + k] }
        sum.result.pointee = total
      }
    }
  }

  /// A thread's scratch memory: the registers, the constants, the sums' lanes, and a block for
  /// a constant that a sum adds.
  private struct Scratch {
    let registers: UnsafeMutablePointer<Scalar>
    let constants: UnsafePointer<Scalar>
    let lanes: UnsafeMutablePointer<Scalar>
    let block: UnsafeMutablePointer<Scalar>
  }

  private func withScratch<R>(_ body: (Scratch) -> R) -> R {
    let registerElements = registerCount * blockCount
    let laneElements = LaneSums<Scalar>.scratchCount(sums: sums.count)
    let blockElements = sums.isEmpty ? 0 : blockCount
    let total = registerElements + blockElements + constants.count + laneElements
    let memory = UnsafeMutableRawPointer.allocate(
      byteCount: Swift.max(1, total) * MemoryLayout<Scalar>.stride, alignment: 64
    ).bindMemory(to: Scalar.self, capacity: total)
    defer { memory.deallocate() }
    let constantsStart = memory + registerElements + blockElements
    for (index, value) in constants.enumerated() { (constantsStart + index).initialize(to: value) }
    return body(
      Scratch(
        registers: memory, constants: UnsafePointer(constantsStart),
        lanes: constantsStart + constants.count, block: memory + registerElements))
  }

  /// Where `source`'s elements for the block at `offset` are, and their stride (0 for a
  /// constant).
  @inline(__always)
  private func address(_ source: Source, _ offset: Int, _ scratch: Scratch)
    -> (UnsafePointer<Scalar>, stride: Int)
  {
    switch source {
    case .register(let r): (UnsafePointer(scratch.registers + r * blockCount), 1)
    case .elements(let start): (start + offset, 1)
    case .output(let o): (UnsafePointer(outputs[o].elements + offset), 1)
    case .constant(let index): (scratch.constants + index, 0)
    }
  }

  /// Runs every instruction on the `n` elements from `offset`, then fills the outputs that no
  /// instruction writes.
  @inline(__always)
  private func runBlock(at offset: Int, count n: Int, _ scratch: Scratch) {
    for instruction in instructions {
      let target =
        switch instruction.target {
        case .register(let r): scratch.registers + r * blockCount
        case .output(let o): outputs[o].elements + offset
        }
      switch instruction.step {
      case .unary(let function, let a):
        unaryLoop(
          function, UnsafeBufferPointer(start: address(a, offset, scratch).0, count: n),
          UnsafeMutableBufferPointer(start: target, count: n))
      case .binary(let function, let a, let b):
        let (x, y) = (address(a, offset, scratch), address(b, offset, scratch))
        binaryLoop(function, x.0, x.stride, y.0, y.stride, target, n)
      }
    }
    for output in outputs {
      guard let copy = output.copy else { continue }
      let (source, stride) = address(copy, offset, scratch)
      let target = output.elements + offset
      if stride == 0 {
        target.update(repeating: source.pointee, count: n)
      } else {
        target.update(from: source, count: n)
      }
    }
  }
}
