// On `@_specialize`, see the Performance article in Documentation.docc.

extension Tensor {
  /// Creates a scalar (rank 0) tensor.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public init(_ scalar: Scalar) {
    self.init(shape: [], storage: ScalarStorages.make(scalar))
  }

  /// Creates a tensor of the given shape from its elements in row-major order.
  ///
  /// ```swift
  /// let m = Tensor<Float>(shape: [2, 2], scalars: [1, 2, 3, 4])   // [[1, 2], [3, 4]]
  /// ```
  ///
  /// - Precondition: The extents are non-negative and their product is `scalars.count`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public init(
    shape: [Int], scalars: [Scalar], file: StaticString = #fileID, line: UInt = #line
  ) {
    let location = SourceLocation(file: file, line: line)
    checkShape(shape, of: Scalar.self, "Tensor(shape:scalars:)", at: location)
    check(
      shape.elementCount == scalars.count,
      "Tensor(shape:scalars:): shape \(shape.shapeDescription) holds \(shape.elementCount) "
        + "elements, but \(scalars.count) were given", at: location)
    self.init(shape: shape, storage: scalars.withUnsafeBufferPointer { .copying($0) })
  }

  /// Creates a rank-1 tensor of the given elements.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public init(_ scalars: [Scalar]) {
    self.init(shape: [scalars.count], storage: scalars.withUnsafeBufferPointer { .copying($0) })
  }

  /// Creates a tensor of the given shape with every element equal to `value`.
  ///
  /// - Precondition: The extents are non-negative.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public init(
    repeating value: Scalar, shape: [Int], file: StaticString = #fileID, line: UInt = #line
  ) {
    checkShape(
      shape, of: Scalar.self, "Tensor(repeating:shape:)", at: SourceLocation(file: file, line: line)
    )
    self.init(shape: shape, storage: .repeating(value, count: shape.elementCount))
  }

  /// Creates a tensor of zeros.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public init(zeros shape: [Int], file: StaticString = #fileID, line: UInt = #line) {
    self.init(repeating: 0, shape: shape, file: file, line: line)
  }

  /// Creates a tensor of ones.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public init(ones shape: [Int], file: StaticString = #fileID, line: UInt = #line) {
    self.init(repeating: 1, shape: shape, file: file, line: line)
  }

  /// Creates a vector of `count` evenly spaced elements from `start` to `end`, both included, as
  /// NumPy's `linspace` and PyTorch's `linspace` do.
  ///
  /// ```swift
  /// Tensor<Float>(linearSpaceFrom: 0, to: 1, count: 5)   // [0.0, 0.25, 0.5, 0.75, 1.0]
  /// ```
  ///
  /// Element `i` is `start + i · (end − start) / (count − 1)`, and the last is `end` exactly; a
  /// count of 1 gives `[start]`.
  ///
  /// - Parameters:
  ///   - start: The first element.
  ///   - end: The last element.
  ///   - count: The number of elements.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: `count ≥ 0`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public init(
    linearSpaceFrom start: Scalar, to end: Scalar, count: Int,
    file: StaticString = #fileID, line: UInt = #line
  ) {
    checkShape(
      [count], of: Scalar.self, "Tensor(linearSpaceFrom:to:count:)",
      at: SourceLocation(file: file, line: line))
    let step = count > 1 ? (end - start) / Scalar(count - 1) : 0
    let storage = Storage<Scalar>.uninitialized(count: count)
    storage.withUnsafeMutableBufferPointer { buffer in
      for i in buffer.indices { buffer[i] = start + Scalar(i) * step }
      if count > 1 { buffer[count - 1] = end }
    }
    self.init(shape: [count], storage: storage)
  }

  /// Creates a vector of the numbers from `start` up to, not including, `end`, `stride` apart,
  /// as NumPy's `arange` and PyTorch's `arange` do.
  ///
  /// ```swift
  /// Tensor<Float>(rangeFrom: 0, to: 5)                  // [0.0, 1.0, 2.0, 3.0, 4.0]
  /// Tensor<Double>(rangeFrom: 1, to: 0, stride: -0.25)  // [1.0, 0.75, 0.5, 0.25]
  /// ```
  ///
  /// Element `i` is `start + i · stride`; there are ⌈(end − start) / stride⌉ of them, none when
  /// that is not positive.
  ///
  /// - Parameters:
  ///   - start: The first element.
  ///   - end: The bound the elements stop before.
  ///   - stride: The difference between consecutive elements; negative counts down.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: `start`, `end` and `stride` are finite and `stride ≠ 0`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public init(
    rangeFrom start: Scalar, to end: Scalar, stride: Scalar = 1,
    file: StaticString = #fileID, line: UInt = #line
  ) {
    let location = SourceLocation(file: file, line: line)
    check(
      start.isFinite && end.isFinite && stride.isFinite && stride != 0,
      "Tensor(rangeFrom:to:stride:): from \(start) to \(end) by \(stride): the bounds and the "
        + "stride must be finite and the stride nonzero", at: location)
    let steps = ((end - start) / stride).rounded(.up)
    check(
      steps < Scalar(Int.max / 2),
      "Tensor(rangeFrom:to:stride:): from \(start) to \(end) by \(stride) is more elements "
        + "than an Int can count", at: location)
    let count = Swift.max(0, Int(steps))
    checkShape([count], of: Scalar.self, "Tensor(rangeFrom:to:stride:)", at: location)
    let storage = Storage<Scalar>.uninitialized(count: count)
    storage.withUnsafeMutableBufferPointer { buffer in
      for i in buffer.indices { buffer[i] = start + Scalar(i) * stride }
    }
    self.init(shape: [count], storage: storage)
  }

  /// Creates the `n`×`n` identity matrix: ones on the diagonal, zeros elsewhere.
  ///
  /// ```swift
  /// Tensor<Float>(eye: 2)   // [[1.0, 0.0], [0.0, 1.0]]
  /// ```
  ///
  /// - Parameters:
  ///   - n: The number of rows and of columns.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: `n ≥ 0`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public init(eye n: Int, file: StaticString = #fileID, line: UInt = #line) {
    self.init(zeros: [n, n], file: file, line: line)
    storage.withUnsafeMutableBufferPointer { buffer in
      for i in 0..<n { buffer[i * n + i] = 1 }
    }
  }

  /// Creates the one-hot encoding of class labels: row `i` is 1 at column `labels[i]` and 0
  /// elsewhere.
  ///
  /// ```swift
  /// Tensor<Float>(oneHot: [2, 0], classes: 3)   // [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
  /// ```
  ///
  /// - Parameters:
  ///   - labels: The class of each row.
  ///   - classes: The number of classes, the number of columns.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Returns: A tensor of shape `[labels.count, classes]`.
  /// - Precondition: Each label is in `0..<classes`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public init(
    oneHot labels: [Int], classes: Int, file: StaticString = #fileID, line: UInt = #line
  ) {
    let location = SourceLocation(file: file, line: line)
    if let position = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
      fail(
        "oneHot: label \(labels[position]) at position \(position) is out of range "
          + "0..<\(classes)", at: location)
    }
    self.init(zeros: [labels.count, classes], file: file, line: line)
    storage.withUnsafeMutableBufferPointer { buffer in
      for (row, label) in labels.enumerated() { buffer[row * classes + label] = 1 }
    }
  }

  /// Creates a tensor whose elements are drawn from the normal distribution.
  ///
  /// Draws come from `generator`, so a seeded generator gives the same tensor on every run:
  ///
  /// ```swift
  /// var rng = SeededGenerator(seed: 42)
  /// let w = Tensor<Float>(randomNormal: [784, 256], standardDeviation: 0.05, using: &rng)
  /// ```
  @_specialize(where Scalar == Float, G == SeededGenerator)
  @_specialize(where Scalar == Double, G == SeededGenerator)
  public init<G: RandomNumberGenerator>(
    randomNormal shape: [Int], mean: Scalar = 0, standardDeviation: Scalar = 1,
    using generator: inout G, file: StaticString = #fileID, line: UInt = #line
  ) {
    checkShape(
      shape, of: Scalar.self, "Tensor(randomNormal:)", at: SourceLocation(file: file, line: line))
    let storage = Storage<Scalar>.uninitialized(count: shape.elementCount)
    storage.withUnsafeMutableBufferPointer { buffer in
      // Box-Muller: two uniform draws give two independent standard normal draws.
      var index = 0
      while index < buffer.count {
        let u1 = Scalar.random(in: Scalar.leastNormalMagnitude..<1, using: &generator)
        let u2 = Scalar.random(in: 0..<1, using: &generator)
        let radius = (-2 * Scalar.log(u1)).squareRoot()
        let angle = 2 * Scalar.pi * u2
        buffer[index] = mean + standardDeviation * radius * Scalar.cos(angle)
        if index + 1 < buffer.count {
          buffer[index + 1] = mean + standardDeviation * radius * Scalar.sin(angle)
        }
        index += 2
      }
    }
    self.init(shape: shape, storage: storage)
  }

  /// Creates a tensor whose elements are drawn uniformly from `range`.
  ///
  /// - Precondition: The extents are non-negative; `range` is not empty and its width is
  ///   finite.
  @_specialize(where Scalar == Float, G == SeededGenerator)
  @_specialize(where Scalar == Double, G == SeededGenerator)
  public init<G: RandomNumberGenerator>(
    randomUniform shape: [Int], in range: Range<Scalar> = 0..<1, using generator: inout G,
    file: StaticString = #fileID, line: UInt = #line
  ) {
    let location = SourceLocation(file: file, line: line)
    checkShape(shape, of: Scalar.self, "Tensor(randomUniform:)", at: location)
    check(
      !range.isEmpty && (range.upperBound - range.lowerBound).isFinite,
      "Tensor(randomUniform:in:): the range \(range) is empty or infinitely wide; give a range "
        + "lower..<upper with lower < upper, both finite", at: location)
    let storage = Storage<Scalar>.uninitialized(count: shape.elementCount)
    storage.withUnsafeMutableBufferPointer { buffer in
      for index in buffer.indices { buffer[index] = Scalar.random(in: range, using: &generator) }
    }
    self.init(shape: shape, storage: storage)
  }

  /// Converts the elements of a tensor of another precision, differentiably: the gradient
  /// converts back (as PyTorch's `.double()` and `.float()` do); see Conversion.swift.
  ///
  /// ```swift
  /// gradient(at: Tensor<Float>([1, 2])) { x in (Tensor<Float>(Tensor<Double>(x) * 2) * x).sum() }
  /// // [4, 8]
  /// ```
  public init<Other>(_ other: Tensor<Other>) {
    self = converted(other)
  }
}

/// A fast, seedable random number generator (xoshiro256**), for reproducible tensors.
///
/// The same seed gives the same sequence on every platform and run.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
  private var state: (UInt64, UInt64, UInt64, UInt64)

  /// Creates a generator whose sequence is determined by `seed`.
  public init(seed: UInt64) {
    // SplitMix64 spreads the seed over the four words of state, as xoshiro's authors advise.
    var s = seed
    func next() -> UInt64 {
      s &+= 0x9E37_79B9_7F4A_7C15
      var z = s
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    state = (next(), next(), next(), next())
  }

  public mutating func next() -> UInt64 {
    let result = rotate(state.1 &* 5, 7) &* 9
    let t = state.1 << 17
    state.2 ^= state.0
    state.3 ^= state.1
    state.1 ^= state.2
    state.0 ^= state.3
    state.2 ^= t
    state.3 = rotate(state.3, 45)
    return result
  }

  private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
