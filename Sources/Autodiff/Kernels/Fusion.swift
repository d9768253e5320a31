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
// tensor writes none of them (`FusedProgram.sum(count:)`).
//
// Why: the gradient of Σ relu(x)² + σ(x) over 2²⁰ Floats made ten passes over 4 MiB arrays,
// five forward and five in the sweep, and spent its time moving memory: about 5× a fused C loop
// (elementwise benchmark). Fused, the forward pass is one sum and the sweep one loop that writes
// the gradient; no intermediate array is written. The price: an expression used twice is
// computed twice (sigmoid's output is computed in the forward sum and again in its pullback),
// which costs arithmetic where the unfused passes cost memory traffic, the scarcer of the two.

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
  var remaining: PendingOperation<Scalar>? { operation.withLock { $0 } }

  /// The operations still to run: 0 when the elements are computed.
  var remainingCost: Int { operation.withLock { $0 == nil ? 0 : cost } }

  /// Computes the elements into `elements`, unless that has been done.
  func compute(into elements: UnsafeMutablePointer<Scalar>, count: Int) {
    operation.withLock { operation in
      guard let pending = operation else { return }
      FusedProgram(pending).run(into: elements, count: count)
      // Dropping the operation releases its operands: a computed tensor holds no others alive.
      operation = nil
    }
  }
}

extension Tensor {
  /// A tensor of `shape` whose elements `operation` computes when they are first read.
  ///
  /// - Precondition: `shape` has at least ``Fusion/minimumCount`` elements.
  static func pending(shape: [Int], _ operation: PendingOperation<Scalar>) -> Tensor {
    var cost = 1
    func add(_ storage: Storage<Scalar>) { cost += storage.pendingCost }
    switch operation {
    case .fill: cost = 0
    case .unary(_, let x): add(x)
    case .binary(_, let a, let b):
      if case .elements(let x) = a { add(x) }
      if case .elements(let y) = b { add(y) }
    }
    if cost > Fusion.maximumCost {
      // Too long an expression: compute the operands, and this operation alone stays pending.
      switch operation {
      case .fill: break
      case .unary(_, let x): x.materialize()
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

  /// The tensor with its elements computed, if they were pending: what a function hands back to
  /// its caller, so that the work it reports done is done.
  func materialized() -> Tensor {
    storage.materialize()
    return self
  }
}

/// A pending expression flattened into straight-line code: a list of elementwise operations,
/// each reading inputs, constants or the registers of earlier ones, the last writing the result.
/// Each block of elements runs through the whole list before the next block starts.
struct FusedProgram<Scalar: TensorScalar> {
  /// Where an operation reads an operand.
  enum Source {
    /// A scratch register, written by an earlier operation of this block.
    case register(Int)
    /// A computed input's elements, from the block's offset on.
    case elements(UnsafePointer<Scalar>)
    /// The constant at this index in `constants`, repeated.
    case constant(Int)
  }

  enum Step {
    case unary(UnaryFunction, Source)
    case binary(BinaryFunction, Source, Source)
  }

  struct Instruction {
    var step: Step
    /// The register written; the output for the last instruction.
    var target: Int
  }

  private var instructions: [Instruction] = []
  private var constants: [Scalar] = []
  /// The value of the whole expression when it is one constant (a fill); then there are no
  /// instructions.
  private var constantResult: Scalar?
  private var registerCount = 0
  /// The computed storages read, kept alive while the program runs.
  private var inputs: [Storage<Scalar>] = []
  /// The source already assigned to each storage met, so that a storage reached twice (x in
  /// relu(x)² + σ(x)) is read or computed once per block.
  private var assigned: [(storage: ObjectIdentifier, source: Source)] = []
  private var transcendental = false

  /// Compiles `operation`: pending operands are inlined, computed ones read in place.
  init(_ operation: PendingOperation<Scalar>) {
    switch emit(operation) {
    case .constant(let index):
      constantResult = constants[index]
    case .register, .elements:
      // The last instruction computes the whole expression (an expression's root is a unary or
      // binary operation that did not fold to a constant).
      allocateRegisters()
    }
  }

  /// Appends the instructions that compute `operation`; returns where its result is.
  private mutating func emit(_ operation: PendingOperation<Scalar>) -> Source {
    switch operation {
    case .fill(let value):
      return constant(value)
    case .unary(let function, let x):
      let a = source(of: x)
      if case .constant(let index) = a { return constant(function.apply(constants[index])) }
      if function.isTranscendental { transcendental = true }
      return append(.unary(function, a))
    case .binary(let function, let x, let y):
      let (a, b) = (source(of: x), source(of: y))
      if case .constant(let i) = a, case .constant(let j) = b {
        return constant(function.apply(constants[i], constants[j]))
      }
      return append(.binary(function, a, b))
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
    if let operation = storage.pendingOperation {
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
    instructions.append(Instruction(step: step, target: instructions.count))
    return .register(instructions.count - 1)
  }

  /// Maps the virtual registers (one per instruction) to as few scratch registers as hold the
  /// values still to be read, and points the last instruction at the output.
  private mutating func allocateRegisters() {
    func registers(read step: Step) -> [Int] {
      var read: [Int] = []
      switch step {
      case .unary(_, let a): if case .register(let r) = a { read.append(r) }
      case .binary(_, let a, let b):
        if case .register(let r) = a { read.append(r) }
        if case .register(let r) = b { read.append(r) }
      }
      return read
    }
    var lastRead = [Int](repeating: -1, count: instructions.count)
    for (index, instruction) in instructions.enumerated() {
      for register in registers(read: instruction.step) { lastRead[register] = index }
    }
    var physical = [Int](repeating: -1, count: instructions.count)
    var free: [Int] = []
    func renamed(_ source: Source) -> Source {
      if case .register(let r) = source { return .register(physical[r]) }
      return source
    }
    for index in instructions.indices {
      let step = instructions[index].step
      switch step {
      case .unary(let function, let a): instructions[index].step = .unary(function, renamed(a))
      case .binary(let function, let a, let b):
        instructions[index].step = .binary(function, renamed(a), renamed(b))
      }
      // The target is taken before this instruction's last reads are freed: an operation never
      // writes a register it reads.
      if index == instructions.count - 1 {
        instructions[index].target = -1
      } else if let reused = free.popLast() {
        physical[index] = reused
      } else {
        physical[index] = registerCount
        registerCount += 1
      }
      if index < instructions.count - 1 { instructions[index].target = physical[index] }
      for register in registers(read: step) where lastRead[register] == index {
        free.append(physical[register])
      }
    }
  }

  /// Elements per register.
  private var blockCount: Int { Fusion.blockByteCount / MemoryLayout<Scalar>.stride }

  /// Computes the expression's `count` elements into `output`, on several threads when there
  /// is enough work.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func run(into output: UnsafeMutablePointer<Scalar>, count: Int) {
    if let constantResult {
      output.update(repeating: constantResult, count: count)
      return
    }
    let grain = transcendental || instructions.count > 4 ? transcendentalGrain : elementwiseGrain
    withExtendedLifetime(inputs) {
      forEachRange(count: count, grain: grain) { range in
        withScratch { registers, constants, _ in
          var offset = range.lowerBound
          while offset < range.upperBound {
            let n = Swift.min(blockCount, range.upperBound - offset)
            runBlock(at: offset, count: n, registers, constants, output: output + offset)
            offset += n
          }
        }
      }
    }
  }

  /// The sum of the expression's `count` elements, computed block by block and never stored.
  /// The same value, to the bit, as `sumKernel` over the computed elements.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func sum(count: Int) -> Scalar {
    if let constantResult {
      return withUnsafeTemporaryAllocation(of: Scalar.self, capacity: blockCount) { block in
        block.initialize(repeating: constantResult)
        return chunkedSum(count: count) { chunk in
          laneSum(count: chunk.count, blockCount: blockCount) { _, _ in UnsafePointer(block.baseAddress!) }
        }
      }
    }
    return withExtendedLifetime(inputs) {
      chunkedSum(count: count) { chunk in
        withScratch { registers, constants, output in
          laneSum(count: chunk.count, blockCount: blockCount) { offset, n in
            runBlock(at: chunk.lowerBound + offset, count: n, registers, constants, output: output)
            return UnsafePointer(output)
          }
        }
      }
    }
  }

  /// Calls `body` with this thread's scratch: the registers, the constants, and a block for
  /// the output.
  private func withScratch<R>(
    _ body: (_ registers: UnsafeMutablePointer<Scalar>, _ constants: UnsafePointer<Scalar>,
      _ output: UnsafeMutablePointer<Scalar>) -> R
  ) -> R {
    let scratchCount = (registerCount + 1) * blockCount + constants.count
    let scratch = UnsafeMutableRawPointer.allocate(
      byteCount: scratchCount * MemoryLayout<Scalar>.stride, alignment: 64
    ).bindMemory(to: Scalar.self, capacity: scratchCount)
    defer { scratch.deallocate() }
    let constantsStart = scratch + (registerCount + 1) * blockCount
    for (index, value) in constants.enumerated() { (constantsStart + index).initialize(to: value) }
    return body(scratch, UnsafePointer(constantsStart), scratch + registerCount * blockCount)
  }

  /// Runs every instruction on the `n` elements from `offset`.
  @inline(__always)
  private func runBlock(
    at offset: Int, count n: Int, _ registers: UnsafeMutablePointer<Scalar>,
    _ constants: UnsafePointer<Scalar>, output: UnsafeMutablePointer<Scalar>
  ) {
    @inline(__always) func address(_ source: Source) -> (UnsafePointer<Scalar>, stride: Int) {
      switch source {
      case .register(let r): (UnsafePointer(registers + r * blockCount), 1)
      case .elements(let start): (start + offset, 1)
      case .constant(let index): (constants + index, 0)
      }
    }
    for instruction in instructions {
      let target = instruction.target < 0 ? output : registers + instruction.target * blockCount
      switch instruction.step {
      case .unary(let function, let a):
        unaryLoop(
          function, UnsafeBufferPointer(start: address(a).0, count: n),
          UnsafeMutableBufferPointer(start: target, count: n))
      case .binary(let function, let a, let b):
        let (x, y) = (address(a), address(b))
        binaryLoop(function, x.0, x.stride, y.0, y.stride, target, n)
      }
    }
  }
}
