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
  /// The index of the node that produced each operand, or `nil` for a constant operand.
  ///
  /// The same indices as the generic node's `operands`, kept here too so that a sweep finds the
  /// paths through the tape with plain non-generic code: a generic override would run
  /// unspecialized and look up type metadata for every node (scalar-graph benchmark).
  let inputNodes: InlineList<Int?>
  /// For a conversion between precisions (`Tensor<Double>(floatTensor)`), the scalar type of its
  /// input, whose node is its one input node; `nil` for every other operation.
  let convertedFrom: ObjectIdentifier?

  init(
    name: StaticString, location: SourceLocation?, inputNodes: InlineList<Int?>,
    convertedFrom: ObjectIdentifier? = nil
  ) {
    self.name = name
    self.location = location
    self.inputNodes = inputNodes
    self.convertedFrom = convertedFrom
  }
}

final class Node<Scalar: TensorScalar>: AnyNode {
  /// The operands' values and the nodes that produced them.
  let operands: Operands<Scalar>
  /// The value the operation produced.
  let output: Tensor<Scalar>
  let rule: Rule<Scalar>
  /// The tangent rule, or `nil` for an operation that has none (forward mode then stops with
  /// the operation's name).
  let tangent: TangentRule<Scalar>?
  /// A conversion's tangent, which a forward sweep computes from the tangents it has (see
  /// Conversion.swift); `nil` for every other operation.
  let conversionTangent: ConversionTangent<Scalar>?

  init(
    name: StaticString, location: SourceLocation?, operands: Operands<Scalar>,
    output: Tensor<Scalar>, rule: Rule<Scalar>, tangent: TangentRule<Scalar>?
  ) {
    // Read before `operands` moves into the node (a copy would retain each operand again).
    let inputNodes = operands.nodes
    self.operands = operands
    self.output = output
    self.rule = rule
    self.tangent = tangent
    self.conversionTangent = nil
    super.init(name: name, location: location, inputNodes: inputNodes)
  }

  /// A conversion from the tensor of scalar type `type` recorded at node `input`: no operand of
  /// this node's type, one input node.
  init(
    converting input: Int, from type: ObjectIdentifier, output: Tensor<Scalar>,
    rule: Rule<Scalar>, tangent: ConversionTangent<Scalar>
  ) {
    self.operands = Operands()
    self.output = output
    self.rule = rule
    self.tangent = nil
    self.conversionTangent = tangent
    super.init(
      name: "convert", location: nil, inputNodes: InlineList(input), convertedFrom: type)
  }
}

/// An operand of a recorded operation: its value (detached) and the node that produced it.
///
/// The value is kept as its buffer and shape, without the `trace` a detached tensor holds as
/// `nil`: three operands then stay small enough for ``Operands`` to have a fixed layout. Read
/// `shape` (or `storage`) directly where that is all a caller needs: `value` makes a tensor.
struct Operand<Scalar: TensorScalar> {
  let storage: Storage<Scalar>
  let shape: [Int]
  let node: Int?

  /// `tensor` as an operand: its value detached, and its node if it is recorded.
  init(_ tensor: Tensor<Scalar>) {
    self.init(value: tensor, node: tensor.trace?.node)
  }

  /// `value`, detached, produced by `node`.
  init(value: Tensor<Scalar>, node: Int?) {
    (storage, shape, self.node) = (value.storage, value.shape, node)
  }

  /// The operand's value, recorded nowhere.
  var value: Tensor<Scalar> { Tensor(shape: shape, storage: storage) }
}

/// A short list that keeps up to three elements inline and only the rest in an array: a node's
/// operands and input nodes. Most operations take one or two operands, and a dense layer's
/// `matmul(_:_:plus:)` three, so recording them allocates no array.
///
/// Two types store it: ``InlineList`` for any element, and ``Operands`` for a node's operands.
/// Where `Scalar` is generic, a list whose stored properties have a generic parameter's type
/// (`InlineList<Operand<Scalar>>`) has no fixed layout, and neither has one too large to pass in
/// registers; `Operands` of small operands has one. So a node's deinitializer, which is never
/// specialized, releases its operands directly instead of looking up the list's type metadata
/// (twice per node freed, `InlineList<Operand<Scalar>>` of full tensors).
protocol InlineStorage<Element>: RandomAccessCollection
where Index == Int, Indices == Range<Int> {
  /// The first two elements, read directly where a copy matters: the subscript returns a copy,
  /// and a copy of an operand retains its buffer (a sweep reads them at every node).
  var first: Element? { get }
  var second: Element? { get }
  var third: Element? { get }
  /// The elements from the fourth on; empty (no allocation) for up to three.
  var rest: [Element] { get }
  var count: Int { get }

  init(first: Element?, second: Element?, third: Element?, rest: [Element], count: Int)
}

extension InlineStorage {
  init() { self.init(first: nil, second: nil, third: nil, rest: [], count: 0) }

  init(_ element: Element) {
    self.init(first: element, second: nil, third: nil, rest: [], count: 1)
  }

  init(_ first: Element, _ second: Element) {
    self.init(first: first, second: second, third: nil, rest: [], count: 2)
  }

  init(_ first: Element, _ second: Element, _ third: Element) {
    self.init(first: first, second: second, third: third, rest: [], count: 3)
  }

  init(contentsOf elements: some Collection<Element>) {
    var iterator = elements.makeIterator()
    let (first, second, third) = (iterator.next(), iterator.next(), iterator.next())
    let count = elements.count
    self.init(
      first: first, second: second, third: third,
      rest: count > 3 ? Array(elements.dropFirst(3)) : [], count: count)
  }

  var startIndex: Int { 0 }
  var endIndex: Int { count }

  /// The element at `position`: each conforming type's subscript.
  func element(at position: Int) -> Element {
    assert(position >= 0 && position < count, "position \(position) of \(count)")
    switch position {
    case 0: return first!
    case 1: return second!
    case 2: return third!
    default: return rest[position - 3]
    }
  }
}

/// A short list of any element (see ``InlineStorage``).
struct InlineList<Element>: InlineStorage {
  let first: Element?
  let second: Element?
  let third: Element?
  let rest: [Element]
  let count: Int

  init(first: Element?, second: Element?, third: Element?, rest: [Element], count: Int) {
    (self.first, self.second, self.third, self.rest, self.count) = (
      first, second, third, rest, count
    )
  }

  subscript(position: Int) -> Element { element(at: position) }
}

/// A node's operands (see ``InlineStorage``).
struct Operands<Scalar: TensorScalar>: InlineStorage {
  let first: Operand<Scalar>?
  let second: Operand<Scalar>?
  let third: Operand<Scalar>?
  let rest: [Operand<Scalar>]
  let count: Int

  init(
    first: Operand<Scalar>?, second: Operand<Scalar>?, third: Operand<Scalar>?,
    rest: [Operand<Scalar>], count: Int
  ) {
    (self.first, self.second, self.third, self.rest, self.count) = (
      first, second, third, rest, count
    )
  }

  subscript(position: Int) -> Operand<Scalar> { element(at: position) }

  /// The nodes that produced the operands, read in place: a copy of an operand (through a
  /// closure, say) retains its buffer and shape.
  var nodes: InlineList<Int?> {
    switch count {
    case 0: InlineList()
    case 1: InlineList(first!.node)
    case 2: InlineList(first!.node, second!.node)
    case 3: InlineList(first!.node, second!.node, third!.node)
    default:
      InlineList(contentsOf: [first!.node, second!.node, third!.node] + rest.map(\.node))
    }
  }

  /// The shape of operand `position`, read in place: the subscript copies the whole operand.
  func shape(at position: Int) -> [Int] {
    switch position {
    case 0: first!.shape
    case 1: second!.shape
    case 2: third!.shape
    default: rest[position - 3].shape
    }
  }
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
  /// A broadcasting function of two operands: the gradients of the operands `a` and `b` at the
  /// output's shape, from `g`, `a`, `b` and the output `y`. One closure computes both sides so
  /// that they can share work (divide's `g/b`: 3 operations instead of 4, scalar-graph
  /// benchmark); it computes only the sides that `wanted` asks for and returns `nil` for the
  /// others. The sweep sums each back to its operand's shape.
  case binary(
    (
      _ g: Tensor<Scalar>, _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, _ y: Tensor<Scalar>,
      _ wanted: Sides
    ) -> (Tensor<Scalar>?, Tensor<Scalar>?))
  /// A row of the table of elementwise primitives (ElementwiseOperation.swift), whose pullback
  /// the sweep calls with the node's operands and output.
  case elementwise(ElementwiseOperation)
  /// Any other operation: it reads what it needs from the context and accumulates into its
  /// operands itself.
  case custom((PullbackContext<Scalar>) -> Void)
}

/// Which operands of a two-operand operation a pullback is asked for.
struct Sides {
  var lhs: Bool
  var rhs: Bool

  static let lhs = Sides(lhs: true, rhs: false)
  static let rhs = Sides(lhs: false, rhs: true)
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
  /// ``Rule/binary(_:)`` rule (each side called with its own operand's tangent as `g`) and
  /// `pullback(ẋ)` for a ``Rule/unary(_:)`` one. The sweep broadcasts the result to the
  /// output's shape.
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
  case (let a?, let b?): a + b
  case (let a?, nil): a
  case (nil, let b?): b
  case (nil, nil): nil
  }
}

/// Records an operation on the tape of its recorded operands, or returns `output` unrecorded when
/// none of them is recorded.
///
/// - Parameters:
///   - output: The operation's value, computed on unrecorded tensors.
///   - operands: The operation's inputs as the caller passed them.
///   - rule: The pullback, built only when the operation is recorded: an unrecorded call
///     (inference, the arithmetic of a first-order sweep's rules) allocates no closure context.
///   - tangent: The tangent rule, likewise.
func record<Scalar>(
  _ name: StaticString, output: consuming Tensor<Scalar>, operands x: Tensor<Scalar>,
  at location: SourceLocation? = nil, rule: @autoclosure () -> Rule<Scalar>,
  tangent: @autoclosure () -> TangentRule<Scalar>?
) -> Tensor<Scalar> {
  // The trace is read in place and its tape called borrowed: a copy of the trace retains and
  // releases the tape (scalar-graph benchmark).
  guard let node = x.liveNode else { return output }
  // `output` moves into the node, made a constant in place: `output.detached` would be a copy,
  // retaining the buffer and the shape once more (scalar-graph benchmark).
  output.trace = nil
  return x.trace.unsafelyUnwrapped.tape.append(
    Node(
      name: name, location: recordedLocation(location),
      operands: Operands(Operand(value: x, node: node)), output: output, rule: rule(),
      tangent: tangent()))
}

/// Records an operation of two operands; see the one-operand form.
func record<Scalar>(
  _ name: StaticString, output: consuming Tensor<Scalar>, operands a: Tensor<Scalar>,
  _ b: Tensor<Scalar>, at location: SourceLocation? = nil, rule: @autoclosure () -> Rule<Scalar>,
  tangent: @autoclosure () -> TangentRule<Scalar>?
) -> Tensor<Scalar> {
  // The traces are read in place (see the one-operand form).
  let (lhs, rhs) = (a.liveNode, b.liveNode)
  guard lhs != nil || rhs != nil else { return output }
  if lhs != nil, rhs != nil, a.trace.unsafelyUnwrapped.tape !== b.trace.unsafelyUnwrapped.tape {
    failOnDifferentTapes(name, at: location)
  }
  output.trace = nil
  return append(
    Node(
      name: name, location: recordedLocation(location),
      operands: Operands(Operand(value: a, node: lhs), Operand(value: b, node: rhs)),
      output: output, rule: rule(), tangent: tangent()),
    to: lhs != nil ? a.trace.unsafelyUnwrapped.tape : b.trace.unsafelyUnwrapped.tape)
}

/// Records an operation of three operands (a dense layer's `a·b + bias`); see the one-operand
/// form. The operands are read in place, as the two-operand form reads them: the form of any
/// count builds an array and copies every operand twice more (about 45 retains and releases and
/// an allocation per dense layer, mlp benchmarks).
func record<Scalar>(
  _ name: StaticString, output: consuming Tensor<Scalar>, operands a: Tensor<Scalar>,
  _ b: Tensor<Scalar>, _ c: Tensor<Scalar>, at location: SourceLocation? = nil,
  rule: @autoclosure () -> Rule<Scalar>, tangent: @autoclosure () -> TangentRule<Scalar>?
) -> Tensor<Scalar> {
  let nodes = (a.liveNode, b.liveNode, c.liveNode)
  // The first recorded operand's tape; every other recorded operand must be on it.
  let tape: Tape
  if nodes.0 != nil {
    tape = a.trace.unsafelyUnwrapped.tape
  } else if nodes.1 != nil {
    tape = b.trace.unsafelyUnwrapped.tape
  } else if nodes.2 != nil {
    tape = c.trace.unsafelyUnwrapped.tape
  } else {
    return output
  }
  if (nodes.0 != nil && a.trace.unsafelyUnwrapped.tape !== tape)
    || (nodes.1 != nil && b.trace.unsafelyUnwrapped.tape !== tape)
    || (nodes.2 != nil && c.trace.unsafelyUnwrapped.tape !== tape)
  {
    failOnDifferentTapes(name, at: location)
  }
  output.trace = nil
  return append(
    Node(
      name: name, location: recordedLocation(location),
      operands: Operands(
        Operand(value: a, node: nodes.0), Operand(value: b, node: nodes.1),
        Operand(value: c, node: nodes.2)),
      output: output, rule: rule(), tangent: tangent()),
    to: tape)
}

/// `tape.append(node)`, with the tape passed borrowed from an operand's trace.
private func append<Scalar>(_ node: consuming Node<Scalar>, to tape: Tape) -> Tensor<Scalar> {
  tape.append(node)
}

/// Records an operation with any number of operands; see the one-operand form.
func record<Scalar>(
  _ name: StaticString, output: Tensor<Scalar>, operands: [Tensor<Scalar>],
  at location: SourceLocation? = nil, rule: @autoclosure () -> Rule<Scalar>,
  tangent: @autoclosure () -> TangentRule<Scalar>?
) -> Tensor<Scalar> {
  guard let tape = commonTape(of: operands, name, at: location) else { return output }
  return tape.append(
    Node(
      name: name, location: recordedLocation(location),
      operands: Operands(
        contentsOf: operands.lazy.map { Operand(value: $0, node: $0.liveNode) }),
      output: output.detached, rule: rule(), tangent: tangent()))
}

/// The call site a node keeps: none for an operation the library performs on its own behalf.
private func recordedLocation(_ location: SourceLocation?) -> SourceLocation? {
  location?.isInsideLibrary == true ? nil : location
}

/// The tape that the recorded operands share, or `nil` when none is recorded.
func commonTape<Scalar>(
  of operands: [Tensor<Scalar>], _ name: StaticString, at location: SourceLocation?
) -> Tape? {
  var tape: Tape?
  for operand in operands {
    guard let other = operand.liveTrace?.tape else { continue }
    if let tape, tape !== other { failOnDifferentTapes(name, at: location) }
    tape = other
  }
  return tape
}

private func failOnDifferentTapes(_ name: StaticString, at location: SourceLocation?) -> Never {
  fail(
    "\(name): operands are recorded on different tapes; compute with tensors of one tape, or "
      + "pass a constant through withoutDerivative(at:)", at: location)
}
