// Operations on scalars, recorded by value.
//
// An elementwise operation whose operands and output are all scalars (rank 0) is kept in the
// tape as a `ScalarRecord`: which operation it was, and its operands and output as plain numbers,
// in an array of the tape, instead of a `Node` object holding tensors. Recording one allocates
// nothing and retains no buffer, and a first-order sweep passes it back with
// `ElementwiseOperation.pullback`, on numbers. Every other use of the tape (sweeps that record
// themselves, forward mode, inspection) sees it as the `Node` it stands for, made on demand.
//
// A record holds no reference, so that copying one is a copy of its bytes: with the rule's
// closures in it, each copy went through the record's value witnesses (scalar-graph benchmark).
// The node it stands for takes its rules from its operation (ElementwiseOperation.swift).

/// Where the tape keeps node `index`: a node object, or a scalar record by position.
enum TapeEntry {
  case node(AnyNode)
  /// The position in the tape's `scalarRecords`.
  case scalar(Int)
}

/// An elementwise operation of up to two scalar operands, with its values.
///
/// Small (six words), so that appending one copies a few words: with its name and optional
/// indices it was 17 words, copied by a call to `memcpy`. Its name is its operation's, and it has
/// no call site: only named functions record one, and none of them is elementwise.
///
/// Not generic: the values are `Float` or `Double` (see `Tape.recordsScalars(of:)`), kept as
/// `Double`, which holds every `Float` exactly, so the tape keeps its records in an array of its
/// own rather than in an object of their scalar type that each append retained.
struct ScalarRecord {
  let operation: ElementwiseOperation
  /// 0 for a leaf (a watched tensor not recorded before), 1 or 2.
  let operandCount: UInt8
  /// The nodes that produced the operands, or −1 for a constant (or a missing operand).
  private let lhsIndex: Int
  private let rhsIndex: Int
  /// The operands' values (0 when missing) and the output's.
  private let a: Double
  private let b: Double
  private let y: Double

  init<Scalar: TensorScalar>(
    operation: ElementwiseOperation, operandCount: UInt8, lhs: Int?, rhs: Int?, a: Scalar,
    b: Scalar, y: Scalar
  ) {
    assert(Scalar.self == Float.self || Scalar.self == Double.self, "a record of \(Scalar.self)")
    self.operation = operation
    self.operandCount = operandCount
    (lhsIndex, rhsIndex) = (lhs ?? -1, rhs ?? -1)
    (self.a, self.b, self.y) = (Double(a), Double(b), Double(y))
  }

  /// The operands' values (0 when missing) and the output's, in the type they were recorded in.
  @inline(__always)
  func values<Scalar: TensorScalar>(as type: Scalar.Type) -> (a: Scalar, b: Scalar, y: Scalar) {
    (Scalar(a), Scalar(b), Scalar(y))
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

  /// The node the record stands for, its values as new tensors.
  func node<Scalar: TensorScalar>(as type: Scalar.Type) -> Node<Scalar> {
    let (a, b, y) = values(as: Scalar.self)
    let operands: Operands<Scalar> =
      switch operandCount {
      case 0: Operands()
      case 1: Operands(Operand(value: Tensor(a), node: lhs))
      default:
        Operands(Operand(value: Tensor(a), node: lhs), Operand(value: Tensor(b), node: rhs))
      }
    return Node(
      name: operation.name, location: nil, operands: operands, output: Tensor(y),
      rule: isLeaf ? .leaf : .elementwise(operation), tangent: isLeaf ? nil : .elementwise)
  }
}
