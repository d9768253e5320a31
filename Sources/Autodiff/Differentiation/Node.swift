/// One recorded operation: what it was, what it read, how to send a gradient back (its pullback)
/// and how to push a tangent forward (its tangent rule).
///
/// A node holds its operands and output as *detached* tensors (no reference back to the tape)
/// and refers to the nodes that produced its operands by index. So the tape owns its nodes, no
/// node owns another, and freeing a tape of any length is a flat loop over an array.
class AnyNode {
  /// The operation's name, as in messages and graphs: `"matmul"`, `"sigmoid"`.
  let name: StaticString
  /// The call site of a named function, when the operation was one.
  let location: SourceLocation?

  init(name: StaticString, location: SourceLocation?) {
    self.name = name
    self.location = location
  }

  /// The index of the node that produced each operand, or `nil` for a constant operand.
  var inputNodes: [Int?] { [] }

  /// Whether the node of some recorded operand satisfies `predicate`.
  func hasInput(where predicate: (Int) -> Bool) -> Bool { false }

  /// Calls `body` with the node of each recorded operand.
  func forEachInput(_ body: (Int) -> Void) {}
}

final class Node<Scalar: TensorScalar>: AnyNode {
  /// The operands' values and the nodes that produced them.
  let operands: [Operand<Scalar>]
  /// The value the operation produced.
  let output: Tensor<Scalar>
  let rule: Rule<Scalar>
  /// The tangent rule, or `nil` for an operation that has none (forward mode then stops with
  /// the operation's name).
  let tangent: TangentRule<Scalar>?

  init(
    name: StaticString, location: SourceLocation?, operands: [Operand<Scalar>],
    output: Tensor<Scalar>, rule: Rule<Scalar>, tangent: TangentRule<Scalar>?
  ) {
    self.operands = operands
    self.output = output
    self.rule = rule
    self.tangent = tangent
    super.init(name: name, location: location)
  }

  override var inputNodes: [Int?] { operands.map { $0.node } }

  override func hasInput(where predicate: (Int) -> Bool) -> Bool {
    // A plain loop: this generic override runs unspecialized, where `contains(where:)` would
    // cost a generic stdlib call per operand (scalar-graph benchmark).
    for operand in operands {
      if let node = operand.node, predicate(node) { return true }
    }
    return false
  }

  override func forEachInput(_ body: (Int) -> Void) {
    for operand in operands {
      if let node = operand.node { body(node) }
    }
  }
}

/// An operand of a recorded operation: its value (detached) and the node that produced it.
struct Operand<Scalar: TensorScalar> {
  let value: Tensor<Scalar>
  let node: Int?
}

/// How a node sends the gradient of its output back to its operands: its pullback.
///
/// Rules are written with tensor operations, so when a sweep records its own work
/// (`createGraph: true`) the gradient it returns can be differentiated again.
enum Rule<Scalar: TensorScalar> {
  /// A leaf: a watched tensor. Its gradient is the answer, and goes nowhere.
  case leaf
  /// An elementwise function of one operand: the operand's gradient from the upstream gradient
  /// `g`, the operand `x` and the output `y`.
  case unary((_ g: Tensor<Scalar>, _ x: Tensor<Scalar>, _ y: Tensor<Scalar>) -> Tensor<Scalar>)
  /// A broadcasting function of two operands: each operand's gradient at the output's shape,
  /// from `g`, the operands `a` and `b` and the output `y`. The sweep sums each back to its
  /// operand's shape, and calls only the sides it needs.
  case binary(
    lhs: (_ g: Tensor<Scalar>, _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, _ y: Tensor<Scalar>)
      -> Tensor<Scalar>,
    rhs: (_ g: Tensor<Scalar>, _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, _ y: Tensor<Scalar>)
      -> Tensor<Scalar>)
  /// Any other operation: it reads what it needs from the context and accumulates into its
  /// operands itself.
  case custom((PullbackContext<Scalar>) -> Void)
}

/// How a node's output moves when its operands move: the output's tangent from the operands'
/// tangents (forward mode, a Jacobian-vector product). A missing tangent (`nil`) is zero: that
/// operand does not depend on the sources.
///
/// Like pullbacks, tangent rules are written with tensor operations, so a forward sweep that
/// records itself can be differentiated again.
enum TangentRule<Scalar: TensorScalar> {
  /// The operation is elementwise, so its Jacobian is diagonal and equals its transpose: the
  /// tangent is the pullback applied to the operands' tangents, `ẏ = lhs(ȧ) + rhs(ḃ)` for a
  /// ``Rule/binary(lhs:rhs:)`` rule and `pullback(ẋ)` for a ``Rule/unary(_:)`` one. The sweep
  /// broadcasts the result to the output's shape.
  case elementwise
  /// One operand: `ẏ` from `ẋ`, the operand `x` and the output `y`.
  case unary((_ dx: Tensor<Scalar>, _ x: Tensor<Scalar>, _ y: Tensor<Scalar>) -> Tensor<Scalar>)
  /// Any other operation: `ẏ` from every operand's tangent, the operands and the output.
  case custom(
    (_ tangents: [Tensor<Scalar>?], _ operands: [Tensor<Scalar>], _ y: Tensor<Scalar>)
      -> Tensor<Scalar>)
}

/// `a + b` where either may be missing (zero); `nil` when both are.
func sumOfPresent<Scalar>(_ a: Tensor<Scalar>?, _ b: Tensor<Scalar>?) -> Tensor<Scalar>? {
  switch (a, b) {
  case let (a?, b?): a + b
  case let (a?, nil): a
  case let (nil, b?): b
  case (nil, nil): nil
  }
}

/// Records an operation on the tape of its recorded operands, or returns `output` unrecorded when
/// none of them is recorded.
///
/// - Parameters:
///   - output: The operation's value, computed on unrecorded tensors.
///   - operands: The operation's inputs as the caller passed them.
func record<Scalar>(
  _ name: StaticString, output: Tensor<Scalar>, operands x: Tensor<Scalar>,
  at location: SourceLocation? = nil, rule: Rule<Scalar>, tangent: TangentRule<Scalar>?
) -> Tensor<Scalar> {
  // Checked before any array is built: an unrecorded operation allocates nothing here.
  guard x.trace != nil else { return output }
  return record(name, output: output, operands: [x], at: location, rule: rule, tangent: tangent)
}

/// Records an operation of two operands; see the one-operand form.
func record<Scalar>(
  _ name: StaticString, output: Tensor<Scalar>, operands a: Tensor<Scalar>, _ b: Tensor<Scalar>,
  at location: SourceLocation? = nil, rule: Rule<Scalar>, tangent: TangentRule<Scalar>?
) -> Tensor<Scalar> {
  guard a.trace != nil || b.trace != nil else { return output }
  return record(name, output: output, operands: [a, b], at: location, rule: rule, tangent: tangent)
}

/// Records an operation with any number of operands; see the one-operand form.
func record<Scalar>(
  _ name: StaticString, output: Tensor<Scalar>, operands: [Tensor<Scalar>],
  at location: SourceLocation? = nil, rule: Rule<Scalar>, tangent: TangentRule<Scalar>?
) -> Tensor<Scalar> {
  guard let tape = commonTape(of: operands, name, at: location) else { return output }
  return tape.append(
    Node(
      name: name, location: location?.isInsideLibrary == true ? nil : location,
      operands: operands.map { Operand(value: $0.detached, node: $0.trace?.node) },
      output: output.detached, rule: rule, tangent: tangent))
}

/// The tape that the recorded operands share, or `nil` when none is recorded.
func commonTape<Scalar>(
  of operands: [Tensor<Scalar>], _ name: StaticString, at location: SourceLocation?
) -> Tape? {
  var tape: Tape?
  for operand in operands {
    guard let other = operand.trace?.tape else { continue }
    if let tape, tape !== other {
      fail(
        "\(name): operands are recorded on different tapes; compute with tensors of one tape, or "
          + "pass a constant through withoutDerivative(at:)", at: location)
    }
    tape = other
  }
  return tape
}
