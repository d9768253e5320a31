extension Tensor: CustomStringConvertible {
  /// The elements nested by axis, as NumPy prints them: `[[1.0, 2.0], [3.0, 4.0]]`.
  public var description: String {
    let elements = scalars
    guard !shape.isEmpty else { return "\(elements[0])" }
    // Nested brackets of more axes than NumPy allows (64) would recurse as deep; the elements
    // flat, with the shape, read better anyway.
    guard rank <= 64 else {
      return "rank \(rank), shape \(shape.shapeDescription): \(elements)"
    }
    var text = ""
    func write(axis: Int, offset: Int) {
      text += "["
      let stride = shape[(axis + 1)...].reduce(1, *)
      for i in 0..<shape[axis] {
        if i > 0 {
          text += axis == shape.count - 1 ? ", " : ",\n" + String(repeating: " ", count: axis + 1)
        }
        if axis == shape.count - 1 {
          text += "\(elements[offset + i])"
        } else {
          write(axis: axis + 1, offset: offset + i * stride)
        }
      }
      text += "]"
    }
    write(axis: 0, offset: 0)
    return text
  }
}

extension Tensor: CustomDebugStringConvertible {
  public var debugDescription: String {
    "Tensor<\(Scalar.self)>(shape: \(shape.shapeDescription)\(isRecorded ? ", recorded" : ""), "
      + "\(description))"
  }
}

extension Tensor: Equatable {
  /// Whether two tensors have the same shape and the same elements (`==` on each; NaN is never
  /// equal). Whether they are recorded does not matter.
  public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
    guard lhs.shape == rhs.shape else { return false }
    if lhs.storage === rhs.storage { return !lhs.scalars.contains { $0.isNaN } }
    return lhs.withUnsafeBufferPointer { a in
      rhs.withUnsafeBufferPointer { b in a.elementsEqual(b) }
    }
  }
}

extension Tensor {
  /// Whether `self` and `other` have the same shape and each pair of elements is close:
  /// `|a − b| ≤ max(absoluteTolerance, relativeTolerance · max(|a|, |b|))`.
  ///
  /// - Parameters:
  ///   - other: The tensor to compare with.
  ///   - relativeTolerance: Defaults to the square root of the scalar type's epsilon, about
  ///     `3e-4` for `Float` and `1.5e-8` for `Double`.
  ///   - absoluteTolerance: Defaults to 0, so that only an exact 0 matches 0.
  public func isAlmostEqual(
    to other: Tensor, relativeTolerance: Scalar = Scalar.ulpOfOne.squareRoot(),
    absoluteTolerance: Scalar = 0
  ) -> Bool {
    guard shape == other.shape else { return false }
    return withUnsafeBufferPointer { a in
      other.withUnsafeBufferPointer { b in
        zip(a, b).allSatisfy { x, y in
          x == y
            || Swift.abs(x - y)
              <= Swift.max(
                absoluteTolerance, relativeTolerance * Swift.max(Swift.abs(x), Swift.abs(y)))
        }
      }
    }
  }
}
