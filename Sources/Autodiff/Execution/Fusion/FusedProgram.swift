internal import Synchronization

// Compiling pending expressions into one program: see PendingExpressions.swift for why.

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

  private(set) var instructions: [Instruction] = []
  private(set) var constants: [Scalar] = []
  /// The elementwise roots' results: the first element's address, and where the block's elements
  /// come from when no instruction writes them (a root that is a constant or an input).
  private(set) var outputs: [(elements: UnsafeMutablePointer<Scalar>, copy: Source?)] = []
  /// The sums: what each adds up, and where it writes its one element.
  private(set) var sums: [(operand: Source, result: UnsafeMutablePointer<Scalar>)] = []
  private(set) var registerCount = 0
  /// The computed storages read, kept alive while the program runs.
  private(set) var inputs: [Storage<Scalar>] = []
  /// The source already assigned to each storage met, so that a storage reached twice (x in
  /// relu(x)² + σ(x), or σ(x) in a value and its gradient) is read or computed once per block.
  private var assigned: [(storage: ObjectIdentifier, source: Source)] = []
  private(set) var transcendental = false
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
  let count: Int

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
      if function.isTranscendental { transcendental = true }
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
    if let operation = held.first(where: { $0.storage == id })?.operation
      ?? storage.pendingOperation
    {
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

}
