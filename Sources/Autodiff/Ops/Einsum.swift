// On `@_specialize`, see the Performance article in Documentation.docc.

// Einstein summation, as NumPy's `einsum`, `torch.einsum` and `jnp.einsum` read it. Nothing
// here is a new primitive: an equation is lowered to diagonals (`gather`), sums, transposes,
// reshapes, one broadcast product or one (batched) matmul, so its gradient, its tangent and its
// second derivatives are theirs.

/// Einstein summation: the product of the operands, summed over the labels that are not in the
/// output, as NumPy's `einsum`, `torch.einsum` and `jnp.einsum`.
///
/// ```swift
/// let a: Tensor<Double> = [[1, 2], [3, 4]]
/// let b: Tensor<Double> = [[5, 6], [7, 8]]
/// print(einsum("ij,jk->ik", a, b))  // matmul(a, b)
/// // [[19.0, 22.0],
/// //  [43.0, 50.0]]
/// print(einsum("ii", a))  // the trace, implicitly summed
/// // 5.0
/// print(einsum("bi,bi->b", a, b))  // a dot product per row
/// // [17.0, 53.0]
/// ```
///
/// The equation names each operand's axes with one letter each (`a`–`z`, `A`–`Z`), the
/// operands' terms separated by commas; spaces are ignored. After `->` come the output's labels.
/// Without `->` the output holds the labels that appear once in the equation, in alphabetical
/// order (capitals first), as in NumPy. A label repeated within one term takes that operand's
/// diagonal (`"ii->i"`; `"ii"` is the trace). Every label not in the output is summed over.
///
/// One operand is lowered to its diagonals, a sum and a transpose. Two operands are lowered to
/// one product: their labels are sorted into batch labels (in both and in the output),
/// contracted labels (in both, not in the output) and free labels (in one, and in the output;
/// a label in one operand only and not in the output is summed first); each operand is
/// transposed to `[batch, free, contracted]` and reshaped to a stack of matrices, one batched
/// ``matmul(_:transposed:_:transposed:file:line:)`` multiplies them (an operand already in that
/// order, or in `[batch, contracted, free]`, is read in place through gemm's transpose flag),
/// and the result is reshaped and transposed to the output's order. Without contracted labels
/// (an outer or elementwise product) the product is an elementwise `*` that broadcasts. Three
/// operands or more are multiplied pairwise, left to right, each intermediate keeping the labels
/// still needed. Every step is a recorded operation, so gradients, forward mode and higher
/// derivatives come from theirs.
///
/// Not supported: the ellipsis `...`, and broadcasting a label of extent 1 against another
/// extent (NumPy's `einsum` broadcasts only along an ellipsis, so an equation without one needs
/// equal extents there too).
///
/// - Parameters:
///   - equation: The subscripts, as `"ij,jk->ik"`.
///   - operands: One or more tensors, one per term of the equation.
///   - file: The caller's file, named in the message of a failed precondition.
///   - line: The caller's line, likewise.
/// - Returns: The tensor whose axes are the output's labels, in that order.
/// - Precondition: The equation has only letters, spaces, commas and at most one `->`; it has
///   as many terms as there are operands, one or more; each term has as many labels as its
///   operand has axes; a label names axes of one extent everywhere; each output label is in
///   some term, and once.
/// - Complexity: That of the matmul (O(batch·m·n·k)) or of the elementwise product, plus
///   copies of the operands where they must be transposed.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func einsum<Scalar>(
  _ equation: String, _ operands: Tensor<Scalar>..., file: StaticString = #fileID,
  line: UInt = #line
) -> Tensor<Scalar> {
  einsum(equation, operands, file: file, line: line)
}

/// Einstein summation of an array of operands: ``einsum(_:_:file:line:)-(_,Tensor<Scalar>...,_,_)``.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func einsum<Scalar>(
  _ equation: String, _ operands: [Tensor<Scalar>], file: StaticString = #fileID,
  line: UInt = #line
) -> Tensor<Scalar> {
  let location = SourceLocation(file: file, line: line)
  let parsed = EinsumEquation(equation, shapes: operands.map(\.shape), at: location)
  var terms = zip(parsed.terms, operands).map { EinsumTerm(labels: $0, tensor: $1) }
  var result = terms.removeFirst()
  while !terms.isEmpty {
    let next = terms.removeFirst()
    // An intermediate keeps the labels of the output or of an operand still to come.
    let needed = Set(parsed.output + terms.flatMap(\.labels))
    let output =
      terms.isEmpty
      ? parsed.output : uniqued(result.labels + next.labels).filter(needed.contains)
    result = EinsumTerm(
      labels: output, tensor: contracted(result, next, into: output, at: location))
  }
  if operands.count == 1 {
    return reduced(result, to: parsed.output, at: location)
  }
  return result.tensor
}

/// A label: the ASCII code of its letter. (Swift's `Character`s, grapheme clusters, made
/// parsing and planning a call cost several microseconds.)
private typealias Label = UInt8

/// An equation's terms and output, checked against the operands' shapes.
private struct EinsumEquation {
  var terms: [[Label]]
  var output: [Label]

  init(_ equation: String, shapes: [[Int]], at location: SourceLocation) {
    // Stops with the reason, the equation and the operands' shapes.
    func reject(_ reason: String) -> Never {
      fail(
        "einsum: \(reason) in \"\(equation)\" for shapes "
          + shapes.map(\.shapeDescription).joined(separator: ", "), at: location)
    }
    let (comma, dash, greater, dot) = (
      UInt8(ascii: ","), UInt8(ascii: "-"), UInt8(ascii: ">"), UInt8(ascii: ".")
    )
    let bytes = equation.utf8.filter { $0 != UInt8(ascii: " ") }
    if bytes.indices.contains(where: { bytes[$0...].starts(with: [dot, dot, dot]) }) {
      reject("the ellipsis ... is not supported")
    }
    // The two sides, split at each "->".
    var sides: [[UInt8]] = [[]]
    var index = 0
    while index < bytes.count {
      if bytes[index] == dash, index + 1 < bytes.count, bytes[index + 1] == greater {
        sides.append([])
        index += 2
      } else {
        sides[sides.count - 1].append(bytes[index])
        index += 1
      }
    }
    if sides.count > 2 { reject("more than one ->") }
    if sides.joined().contains(where: { $0 != comma && !Self.isLabel($0) }) {
      // The offending character as written (any Unicode), for the message.
      let character = equation.first { character in
        character != " " && character != "," && character != "-" && character != ">"
          && !(character.isASCII && character.isLetter)
      }
      reject("'\(character.map(String.init) ?? "-")' is not a label (a–z, A–Z), a comma or ->")
    }
    terms = sides[0].split(separator: comma, omittingEmptySubsequences: false).map(Array.init)
    if sides.count == 2 && sides[1].contains(comma) { reject("the output has a comma") }
    if shapes.isEmpty { reject("no operands") }
    if terms.count != shapes.count {
      reject("\(terms.count) terms for \(shapes.count) operands")
    }
    var extents = [Int?](repeating: nil, count: 128)
    for (index, (term, shape)) in zip(terms, shapes).enumerated() {
      if term.count != shape.count {
        reject(
          "term \(index) \"\(text(term))\" has \(term.count) labels for an operand of rank "
            + "\(shape.count)")
      }
      for (label, extent) in zip(term, shape) {
        if let known = extents[Int(label)], known != extent {
          reject("label \(text([label])) has extents \(known) and \(extent)")
        }
        extents[Int(label)] = extent
      }
    }
    if sides.count == 2 {
      output = sides[1]
      for label in output where extents[Int(label)] == nil {
        reject("output label \(text([label])) is in no input term")
      }
      if Set(output).count != output.count { reject("a label repeats in the output") }
    } else {
      // The labels that appear once, in ASCII order: capitals first, as NumPy sorts them.
      var counts = [Int](repeating: 0, count: 128)
      for label in terms.joined() { counts[Int(label)] += 1 }
      output = (0..<128).filter { counts[$0] == 1 }.map { Label($0) }
    }
  }

  static func isLabel(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
      || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
  }
}

/// Labels as written.
private func text(_ labels: [Label]) -> String {
  String(decoding: labels, as: UTF8.self)
}

/// A tensor and the labels of its axes.
private struct EinsumTerm<Scalar: TensorScalar> {
  var labels: [Label]
  var tensor: Tensor<Scalar>
}

/// The elements in their first order, each once.
private func uniqued(_ labels: [Label]) -> [Label] {
  var seen = Set<Label>()
  return labels.filter { seen.insert($0).inserted }
}

/// `term` with one axis per label: for a label on several axes, of extent n, the elements whose
/// indices there are equal. Those r axes are moved last and merged into one of nʳ elements, in
/// which the diagonal's element j sits at j·(1 + n + … + nʳ⁻¹); a `gather` picks them, so the
/// gradient goes back to the diagonal and is zero elsewhere.
private func diagonal<Scalar>(_ term: EinsumTerm<Scalar>, at location: SourceLocation)
  -> EinsumTerm<Scalar>
{
  var term = term
  let (file, line) = (location.file, location.line)
  while let label = term.labels.first(where: { l in term.labels.count(where: { $0 == l }) > 1 }) {
    let repeated = term.labels.indices.filter { term.labels[$0] == label }
    let kept = term.labels.indices.filter { term.labels[$0] != label }
    let n = term.tensor.shape[repeated[0]]
    let step = repeated.dropFirst().reduce(1) { sum, _ in sum * n + 1 }
    let moved = term.tensor.transposed(permutation: kept + repeated, file: file, line: line)
    let merged = moved.reshaped(
      to: kept.map { term.tensor.shape[$0] } + [repeated.reduce(1) { product, _ in product * n }],
      file: file, line: line)
    term = EinsumTerm(
      labels: kept.map { term.labels[$0] } + [label],
      tensor: merged.gathering(
        atIndices: (0..<n).map { $0 * step }, alongAxis: kept.count, file: file, line: line))
  }
  return term
}

/// `term` (one axis per label) summed over the labels not in `keep`.
private func summed<Scalar>(
  _ term: EinsumTerm<Scalar>, keeping keep: Set<Label>, at location: SourceLocation
) -> EinsumTerm<Scalar> {
  let dropped = term.labels.indices.filter { !keep.contains(term.labels[$0]) }
  if dropped.isEmpty { return term }
  return EinsumTerm(
    labels: term.labels.filter { keep.contains($0) },
    tensor: term.tensor.sum(squeezingAxes: dropped, file: location.file, line: location.line))
}

/// One operand: its diagonals, summed over the labels not in `output`, transposed to `output`.
private func reduced<Scalar>(
  _ term: EinsumTerm<Scalar>, to output: [Label], at location: SourceLocation
) -> Tensor<Scalar> {
  let term = summed(diagonal(term, at: location), keeping: Set(output), at: location)
  return term.tensor.transposed(
    permutation: output.map { term.labels.firstIndex(of: $0)! }, file: location.file,
    line: location.line)
}

/// Two operands multiplied and summed over the labels not in `output` (which has no repeats,
/// and only labels of `a` or `b`).
private func contracted<Scalar>(
  _ a: EinsumTerm<Scalar>, _ b: EinsumTerm<Scalar>, into output: [Label],
  at location: SourceLocation
) -> Tensor<Scalar> {
  let (file, line) = (location.file, location.line)
  // A label in one operand only and not in the output is summed there first.
  let a = summed(diagonal(a, at: location), keeping: Set(output + b.labels), at: location)
  let b = summed(diagonal(b, at: location), keeping: Set(output + a.labels), at: location)
  let batch = output.filter { a.labels.contains($0) && b.labels.contains($0) }
  let sum = a.labels.filter { b.labels.contains($0) && !output.contains($0) }
  let freeA = a.labels.filter { !b.labels.contains($0) }
  let freeB = b.labels.filter { !a.labels.contains($0) }
  func extent(_ label: Label) -> Int {
    a.labels.firstIndex(of: label).map { a.tensor.shape[$0] }
      ?? b.tensor.shape[b.labels.firstIndex(of: label)!]
  }
  func count(_ labels: [Label]) -> Int { labels.map(extent).reduce(1, *) }
  let (m, n, k) = (count(freeA), count(freeB), count(sum))

  /// `term` transposed to `groups` joined, and reshaped to one axis per group.
  func stacked(_ term: EinsumTerm<Scalar>, _ groups: [[Label]]) -> Tensor<Scalar> {
    let order = groups.joined().map { term.labels.firstIndex(of: $0)! }
    return term.tensor.transposed(permutation: order, file: file, line: line)
      .reshaped(to: groups.map(count), file: file, line: line)
  }
  /// Whether `term`'s axes are already in the order of `groups` joined.
  func isInOrder(_ term: EinsumTerm<Scalar>, _ groups: [[Label]]) -> Bool {
    Array(groups.joined()) == term.labels
  }

  let product: Tensor<Scalar>
  if !sum.isEmpty && m == 1 && n == 1 && !batch.isEmpty {
    // A product of vectors in each batch element: elementwise and summed, where a matmul would
    // be one gemm call per element.
    product = (stacked(a, [batch, sum]) * stacked(b, [batch, sum])).sum(
      squeezingAxes: [1], file: file, line: line)
  } else if sum.isEmpty {
    // An outer product in each batch element: [batch, m, 1] times [batch, 1, n].
    product = stacked(a, [batch, freeA, []]) * stacked(b, [batch, [], freeB])
  } else {
    // [batch, m, k]·[batch, k, n], each operand read transposed where that saves a copy.
    let transposeA = !isInOrder(a, [batch, freeA, sum]) && isInOrder(a, [batch, sum, freeA])
    let transposeB = isInOrder(b, [batch, freeB, sum]) && !isInOrder(b, [batch, sum, freeB])
    let lhs = stacked(a, transposeA ? [batch, sum, freeA] : [batch, freeA, sum])
    let rhs = stacked(b, transposeB ? [batch, freeB, sum] : [batch, sum, freeB])
    if batch.isEmpty {
      product = matmul(
        lhs.reshaped(to: transposeA ? [k, m] : [m, k], file: file, line: line),
        transposed: transposeA,
        rhs.reshaped(to: transposeB ? [n, k] : [k, n], file: file, line: line),
        transposed: transposeB, file: file, line: line)
    } else {
      product = matmul(
        lhs, transposed: transposeA, rhs, transposed: transposeB, file: file, line: line)
    }
  }
  let labels = batch + freeA + freeB
  return product.reshaped(to: labels.map(extent), file: file, line: line).transposed(
    permutation: output.map { labels.firstIndex(of: $0)! }, file: file, line: line)
}
