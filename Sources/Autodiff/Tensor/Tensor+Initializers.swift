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
