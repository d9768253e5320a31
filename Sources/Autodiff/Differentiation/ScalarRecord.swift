// Operations on scalars, recorded by value.
//
// An elementwise operation whose operands and output are all scalars (rank 0) is kept in the
// tape as a `ScalarRecord`: which operation it was, and its operands and output as plain numbers,
// in an array of the tape, instead of a `Node` object holding tensors. Recording one allocates
// nothing and retains no buffer, and a first-order sweep passes it back with
// `ScalarOperation.pullback`, on numbers. Every other use of the tape (sweeps that record
// themselves, forward mode, inspection) sees it as the `Node` it stands for, made on demand.
//
// A record holds no reference, so that copying one is a copy of its bytes: with the rule's
// closures in it, each copy went through the record's value witnesses (scalar-graph benchmark).
// The tensor rules live once per operation in the tape's `ScalarRecords`.

/// Where the tape keeps node `index`: a node object, or a scalar record by position.
enum TapeEntry {
  case node(AnyNode)
  /// The position in the tape's ``ScalarRecords``.
  case scalar(Int)
}

/// An elementwise operation that a tape can record on scalars by value, with its pullback on
/// plain numbers.
///
/// Each pullback computes the same operations in the same order as the operation's tensor rule,
/// so that both give the same bits (tested in ScalarSweepTests). An operation recorded with one
/// passes the same tensor rule every time (its function's own), which the tape keeps once.
enum ScalarOperation: UInt8, CaseIterable {
  /// A watched tensor: a leaf, or the identity when it was already recorded on the tape.
  case watch
  case add, subtract, multiply, divide, negate
  case exp, log, sqrt, tanh, sigmoid, relu, abs, square

  /// The node's name, as in messages and graphs: the name its function records.
  var name: StaticString {
    switch self {
    case .watch: "watch"
    case .add: "add"
    case .subtract: "subtract"
    case .multiply: "multiply"
    case .divide: "divide"
    case .negate: "negate"
    case .exp: "exp"
    case .log: "log"
    case .sqrt: "sqrt"
    case .tanh: "tanh"
    case .sigmoid: "sigmoid"
    case .relu: "relu"
    case .abs: "abs"
    case .square: "square"
    }
  }

  /// The operands' gradients from the upstream gradient `g`, the operands `a` and `b` (0 when
  /// missing) and the output `y`; the second is 0 for an operation of one operand.
  @inline(__always)
  func pullback<Scalar: TensorScalar>(
    _ g: Scalar, _ a: Scalar, _ b: Scalar, _ y: Scalar
  ) -> (Scalar, Scalar) {
    switch self {
    case .watch: return (g, 0)
    case .add: return (g, g)
    case .subtract: return (g, -g)
    case .multiply: return (g * b, g * a)
    case .divide:
      // As the tensor rule: both sides start from g/b.
      let quotient = g / b
      return (quotient, -(quotient * y))
    case .negate: return (-g, 0)
    case .exp: return (g * y, 0)
    case .log: return (g / a, 0)
    case .sqrt: return (g / (2 * y), 0)
    case .tanh: return (g * (1 - y * y), 0)
    case .sigmoid: return (g * y * (1 - y), 0)
    case .relu: return (g * (a > 0 ? 1 : 0), 0)
    case .abs: return (g * (a > 0 ? 1 : a < 0 ? -1 : 0), 0)
    case .square: return (2 * g * a, 0)
    }
  }
}

/// An elementwise operation of up to two scalar operands, with its values.
///
/// Small (six words for `Double`), so that appending one copies a few words: with its name and
/// optional indices it was 17 words, copied by a call to `memcpy`. Its name is its operation's,
/// and it has no call site: only named functions record one, and none of them is elementwise.
struct ScalarRecord<Scalar: TensorScalar> {
  let operation: ScalarOperation
  /// 0 for a leaf (a watched tensor not recorded before), 1 or 2.
  let operandCount: UInt8
  /// The nodes that produced the operands, or −1 for a constant (or a missing operand).
  private let lhsIndex: Int
  private let rhsIndex: Int
  /// The operands' values (0 when missing) and the output's.
  let a: Scalar
  let b: Scalar
  let y: Scalar

  init(
    operation: ScalarOperation, operandCount: UInt8, lhs: Int?, rhs: Int?, a: Scalar, b: Scalar,
    y: Scalar
  ) {
    self.operation = operation
    self.operandCount = operandCount
    (lhsIndex, rhsIndex) = (lhs ?? -1, rhs ?? -1)
    (self.a, self.b, self.y) = (a, b, y)
  }

  /// The nodes that produced the operands, `nil` for a constant (or a missing operand).
  var lhs: Int? { lhsIndex >= 0 ? lhsIndex : nil }
  var rhs: Int? { rhsIndex >= 0 ? rhsIndex : nil }

  var isLeaf: Bool { operandCount == 0 }

  var inputNodes: InlineList<Int?> {
    switch operandCount {
    case 0: InlineList()
    case 1: InlineList(lhs)
    default: InlineList(lhs, rhs)
    }
  }
}

/// The scalar records of a tape, of the one scalar type the tape records them for (the type
/// of its first scalar operation; another type's scalar operations are recorded as nodes).
class AnyScalarRecords {
  /// The node that record `position` stands for.
  func node(at position: Int) -> AnyNode { fatalError("AnyScalarRecords is abstract") }
  /// The nodes that produced record `position`'s operands.
  func inputNodes(at position: Int) -> InlineList<Int?> {
    fatalError("AnyScalarRecords is abstract")
  }
  /// The bytes of the numbers record `position` keeps: its operands' and its output's.
  func savedBytes(at position: Int) -> Int { fatalError("AnyScalarRecords is abstract") }
  /// Forgets every record, keeping the capacity (and the rules).
  func removeAll() { fatalError("AnyScalarRecords is abstract") }
  /// Whether there is no record.
  var isEmpty: Bool { fatalError("AnyScalarRecords is abstract") }
}

final class ScalarRecords<Scalar: TensorScalar>: AnyScalarRecords {
  /// `@exclusivity(unchecked)` for the reason `Tape.entries` is (Tape.swift): the tape's user is
  /// the only reader and writer, and no access overlaps another.
  @exclusivity(unchecked) private(set) var records = TapeBuffer<ScalarRecord<Scalar>>(capacity: 16)

  /// The tensor rule and tangent rule of each operation recorded so far, by raw value.
  private var rules = [(rule: Rule<Scalar>, tangent: TangentRule<Scalar>?)?](
    repeating: nil, count: ScalarOperation.allCases.count)
  /// A bit per operation whose rules are in `rules`, so that recording checks one word.
  private var knownRules = 0

  /// Appends `record`, of an operation whose rules are `rule` and `tangent` (a leaf's are not
  /// kept), and returns its position.
  func append(
    _ record: ScalarRecord<Scalar>, rule: Rule<Scalar>, tangent: TangentRule<Scalar>?
  ) -> Int {
    let bit = 1 << record.operation.rawValue
    if knownRules & bit == 0, !record.isLeaf {
      rules[Int(record.operation.rawValue)] = (rule, tangent)
      knownRules |= bit
    }
    records.append(record)
    return records.count - 1
  }

  /// The node that record `position` stands for, its values as new tensors.
  func typedNode(at position: Int) -> Node<Scalar> {
    let record = records[position]
    let operands: InlineList<Operand<Scalar>> =
      switch record.operandCount {
      case 0: InlineList()
      case 1: InlineList(Operand(value: Tensor(record.a), node: record.lhs))
      default:
        InlineList(
          Operand(value: Tensor(record.a), node: record.lhs),
          Operand(value: Tensor(record.b), node: record.rhs))
      }
    let (rule, tangent) = record.isLeaf ? (.leaf, nil) : rules[Int(record.operation.rawValue)]!
    return Node(
      name: record.operation.name, location: nil, operands: operands,
      output: Tensor(record.y), rule: rule, tangent: tangent)
  }

  override func node(at position: Int) -> AnyNode { typedNode(at: position) }

  override func inputNodes(at position: Int) -> InlineList<Int?> { records[position].inputNodes }

  override func savedBytes(at position: Int) -> Int {
    (Int(records[position].operandCount) + 1) * MemoryLayout<Scalar>.stride
  }

  override var isEmpty: Bool { records.count == 0 }

  // A record is a plain value (see the top of the file).
  override func removeAll() { records.removeAllTrivial() }
}
