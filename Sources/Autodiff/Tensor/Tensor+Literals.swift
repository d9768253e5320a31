// Tensors written as nested array literals: `[[1, 2], [3, 4]]`.
//
// Every level of a literal has one type, `TensorElementLiteral<Scalar>`, which is itself an
// array, integer and float literal. The type checker so meets one concrete type at each bracket
// instead of a set of overloads to combine, and a literal of any rank type-checks in about the
// time of a flat one.

/// One element of a tensor literal: a number or a bracketed list of elements.
///
/// You never name this type; it is what the elements of a literal become:
///
/// ```swift
/// let m: Tensor<Float> = [[1, 2], [3, 4]]          // shape [2, 2]
/// let t = Tensor<Double>([[[1], [2]], [[3], [4]]])   // shape [2, 2, 1]
/// ```
public struct TensorElementLiteral<Scalar: TensorScalar>: Sendable {
  enum Value: Sendable {
    case scalar(Scalar)
    case list([TensorElementLiteral])
  }

  let value: Value
}

extension TensorElementLiteral: ExpressibleByArrayLiteral {
  /// Creates a bracketed list of elements.
  public init(arrayLiteral elements: TensorElementLiteral...) { value = .list(elements) }
}

extension TensorElementLiteral: ExpressibleByIntegerLiteral {
  /// Creates a number from an integer literal.
  public init(integerLiteral value: Int) { self.value = .scalar(Scalar(value)) }
}

extension TensorElementLiteral: ExpressibleByFloatLiteral {
  /// Creates a number from a floating-point literal.
  public init(floatLiteral value: Double) { self.value = .scalar(Scalar(value)) }
}

extension Tensor: ExpressibleByArrayLiteral {
  /// Creates a tensor from a nested array literal; its nesting depth is the rank.
  ///
  /// ```swift
  /// let m: Tensor<Double> = [[1, 2], [3, 4]]   // shape [2, 2]
  /// ```
  ///
  /// - Precondition: The literal is rectangular: the lists at each depth have the same length,
  ///   and numbers appear only at the deepest one.
  public init(arrayLiteral elements: TensorElementLiteral<Scalar>...) {
    self.init(literal: elements, at: nil)
  }

  /// Creates a tensor from nested arrays of numbers; their nesting depth is the rank.
  ///
  /// ```swift
  /// let m = Tensor<Float>([[1, 2, 3], [4, 5, 6]])   // shape [2, 3]
  /// let v = Tensor<Float>([1, 2, 3])                // shape [3]
  /// ```
  ///
  /// - Precondition: The lists at each depth have the same length (the literal is not
  ///   ragged), and numbers appear only at the deepest one.
  public init(
    _ elements: [TensorElementLiteral<Scalar>], file: StaticString = #fileID, line: UInt = #line
  ) {
    self.init(literal: elements, at: SourceLocation(file: file, line: line))
  }

  /// The tensor of `elements`, whose shape is read from the first element at each depth and
  /// checked against every other.
  init(literal elements: [TensorElementLiteral<Scalar>], at location: SourceLocation?) {
    var shape = [elements.count]
    var first = elements.first
    while case .list(let inner)? = first?.value {
      shape.append(inner.count)
      first = inner.first
    }
    checkShape(shape, of: Scalar.self, "Tensor", at: location)
    var scalars: [Scalar] = []
    scalars.reserveCapacity(shape.elementCount)
    /// Appends the numbers of `list`, found at `position` (its index path) and `depth`.
    func append(_ list: [TensorElementLiteral<Scalar>], position: [Int]) {
      let depth = position.count
      for (index, element) in list.enumerated() {
        switch element.value {
        case .scalar(let scalar) where depth == shape.count - 1:
          scalars.append(scalar)
        case .list(let inner) where depth < shape.count - 1:
          let expected = shape[depth + 1]
          if inner.count != expected {
            fail(
              "Tensor: ragged literal: \(Self.row(position + [index])) has \(inner.count) "
                + "elements, \(Self.row([Int](repeating: 0, count: depth + 1))) has \(expected)",
              at: location)
          }
          append(inner, position: position + [index])
        case .scalar:
          fail(
            "Tensor: ragged literal: \(Self.row(position + [index])) is a number where a list "
              + "of \(shape[depth + 1]) elements was expected", at: location)
        case .list(let inner):
          fail(
            "Tensor: ragged literal: \(Self.row(position + [index])) is a list of \(inner.count) "
              + "elements where a number was expected", at: location)
        }
      }
    }
    append(elements, position: [])
    self.init(shape: shape, storage: scalars.withUnsafeBufferPointer { .copying($0) })
  }

  /// Names the element at `position` in a message: `row 1` at depth 1, `row [1, 0]` deeper.
  private static func row(_ position: [Int]) -> String {
    position.count == 1 ? "row \(position[0])" : "row \(position.shapeDescription)"
  }
}
