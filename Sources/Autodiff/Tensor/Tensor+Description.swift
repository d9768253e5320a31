extension Tensor: CustomStringConvertible {
  /// The number of elements above which ``description`` summarizes, as NumPy's `threshold`.
  static var summarizationThreshold: Int { 1000 }

  /// The elements nested by axis, as NumPy prints them: `[[1.0, 2.0], [3.0, 4.0]]`.
  ///
  /// A tensor of more than 1,000 elements is summarized, as NumPy does:
  /// a header names the scalar type and the shape, and each axis longer than 6 shows its first
  /// and last 3 entries around `...`. ``description(summarizing:)`` prints every element.
  ///
  /// ```swift
  /// print(Tensor<Float>(rangeFrom: 0, to: 2000))
  /// // Tensor<Float> [2000]
  /// // [0.0, 1.0, 2.0, ..., 1997.0, 1998.0, 1999.0]
  /// ```
  public var description: String { description(summarizing: true) }

  /// The elements nested by axis, summarized or in full.
  ///
  /// ```swift
  /// let x = Tensor<Float>(zeros: [100, 100])
  /// x.description(summarizing: false)   // all 10,000 elements, 100 rows
  /// ```
  ///
  /// - Parameter summarizing: Whether a tensor of more than 1,000 elements shows only the
  ///   first and last 3 entries of each axis, under a header that names its scalar type and
  ///   shape (as ``description`` does); `false` prints every element.
  /// - Returns: The text.
  public func description(summarizing: Bool) -> String {
    let summarized = summarizing && scalarCount > Self.summarizationThreshold
    let header = summarized ? "Tensor<\(Scalar.self)> \(shape.shapeDescription)\n" : ""
    return header + elementsDescription(summarized: summarized)
  }

  /// The elements nested by axis; when `summarized`, each axis longer than twice `edgeItems`
  /// shows its first and last `edgeItems` entries around `...`.
  func elementsDescription(summarized: Bool) -> String {
    let elements = scalars
    guard !shape.isEmpty else { return "\(elements[0])" }
    /// The positions of an axis of `extent` shown, `nil` standing for the ones left out.
    func shown(_ extent: Int) -> [Int?] {
      guard summarized && extent > 2 * Self.edgeItems else { return Array(0..<extent) }
      return Array(0..<Self.edgeItems) + [nil] + Array((extent - Self.edgeItems)..<extent)
    }
    // Nested brackets of more axes than NumPy allows (64) would recurse as deep; the elements
    // flat, with the shape, read better anyway.
    guard rank <= 64 else {
      let flat = shown(elements.count).map { $0.map { "\(elements[$0])" } ?? "..." }
      return "rank \(rank), shape \(shape.shapeDescription): [\(flat.joined(separator: ", "))]"
    }
    var text = ""
    let strides = shape.rowMajorStrides
    func write(axis: Int, offset: Int) {
      text += "["
      for (n, i) in shown(shape[axis]).enumerated() {
        if n > 0 {
          text += axis == shape.count - 1 ? ", " : ",\n" + String(repeating: " ", count: axis + 1)
        }
        guard let i else {
          text += "..."
          continue
        }
        if axis == shape.count - 1 {
          text += "\(elements[offset + i])"
        } else {
          write(axis: axis + 1, offset: offset + i * strides[axis])
        }
      }
      text += "]"
    }
    write(axis: 0, offset: 0)
    return text
  }

  /// The entries shown at each end of a summarized axis, as NumPy's `edgeitems`.
  static var edgeItems: Int { 3 }
}

extension Tensor: CustomDebugStringConvertible {
  /// The scalar type, the shape, whether the tensor is recorded, and the elements (summarized
  /// as in ``description``): `Tensor<Float>(shape: [2], recorded, [1.0, 2.0])`.
  public var debugDescription: String {
    "Tensor<\(Scalar.self)>(shape: \(shape.shapeDescription)\(isRecorded ? ", recorded" : ""), "
      + "\(elementsDescription(summarized: scalarCount > Self.summarizationThreshold)))"
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
