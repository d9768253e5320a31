// On `@_specialize`, see the note at the top of Optimizers/Adam.swift.

/// A table of learned vectors looked up by index: row `i` of the weight is the vector of index
/// `i`, as PyTorch's `nn.Embedding(count, dimension)` and MLX's `nn.Embedding`.
///
/// The weight has shape `[count, dimension]`. Indices, as `[Int]` or as a tensor of whole
/// numbers of any shape `S`, give the rows they name, in shape `S + [dimension]`:
///
/// ```swift
/// var rng = SeededGenerator(seed: 42)
/// let embedding = Embedding<Float>(count: 1000, dimension: 64, using: &rng)
/// let vectors = embedding([7, 7, 42])              // [3, 64]: rows 7, 7 and 42
/// let tokens = Tensor<Float>(shape: [2, 3], scalars: [1, 5, 9, 2, 0, 7])
/// let batch = embedding(tokens)                    // [2, 3, 64]
/// ```
///
/// The lookup is Autodiff's `gathering(atIndices:alongAxis:)`, so the weight's gradient is the
/// upstream gradient's rows added at the indices they came from: a row looked up several times
/// receives the sum of their gradients, and a row not looked up receives zero. The indices are
/// not differentiable: a recorded index tensor gets no gradient (a zero one, where you ask for
/// it).
///
/// As in PyTorch, an index must be in `0..<count`: a negative index is an error, not a position
/// counted from the end. (PyTorch's `padding_idx` has no counterpart here.)
///
/// `Embedding` is a value: copying a layer copies no elements (the weight is copy-on-write).
/// Its ``parameters`` are `[weight]`, named `"weight"`, which is the key of PyTorch's
/// `state_dict`, in the same layout: a checkpoint's weight moves between the two as it is.
public struct Embedding<Scalar: TensorScalar>: Layer, Sendable {
  /// `[weight]`, or none while ``moveParameters(into:)`` has it out.
  private var store: ParameterStore<Scalar>

  /// The table, `[count, dimension]`: row `i` is the vector of index `i`.
  ///
  /// - Precondition: A new value has shape `[count, dimension]`.
  public var weight: Tensor<Scalar> {
    get { store[0] }
    set {
      store[0] = newValue
      checkShape("weight")
    }
    // An in-place write (`layer.weight -= …`) then changes the buffer without copying it.
    _modify {
      yield &store[0]
      checkShape("weight")
    }
  }

  /// The number of vectors in the table: indices are in `0..<count`.
  public let count: Int

  /// The number of elements of each vector.
  public let dimension: Int

  /// Creates a layer whose table is `weight`.
  ///
  /// ```swift
  /// let embedding = Embedding<Double>(weight: Tensor(shape: [3, 2], scalars: [0, 0, 1, 2, 3, 4]))
  /// embedding([2, 1])                                // [[3, 4], [1, 2]]
  /// ```
  ///
  /// - Parameters:
  ///   - weight: The table, `[count, dimension]`.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: `weight` has rank 2.
  public init(weight: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line) {
    requireNN(
      weight.rank == 2,
      "Embedding: the weight must be a matrix [count, dimension], got \(weight.shape.shapeText)",
      at: SourceLocation(file: file, line: line))
    self.count = weight.shape[0]
    self.dimension = weight.shape[1]
    self.store = ParameterStore(layer: "Embedding", names: ["weight"], tensors: [weight])
  }

  /// Creates a layer whose table is drawn from the standard normal distribution N(0, 1), as
  /// PyTorch initializes `nn.Embedding`.
  ///
  /// A seeded generator gives the same layer on every run:
  ///
  /// ```swift
  /// var rng = SeededGenerator(seed: 7)
  /// let embedding = Embedding<Float>(count: 10_000, dimension: 128, using: &rng)
  /// ```
  ///
  /// - Parameters:
  ///   - count: The number of vectors in the table.
  ///   - dimension: The number of elements of each vector.
  ///   - generator: The source of randomness.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Precondition: `count` and `dimension` are positive.
  public init<G: RandomNumberGenerator>(
    count: Int, dimension: Int, using generator: inout G,
    file: StaticString = #fileID, line: UInt = #line
  ) {
    requireNN(
      count > 0 && dimension > 0,
      "Embedding: sizes must be positive, got count \(count), dimension \(dimension)",
      at: SourceLocation(file: file, line: line))
    self.init(
      weight: Tensor(
        randomNormal: [count, dimension], using: &generator, file: file, line: line),
      file: file, line: line)
  }

  /// The vectors of `indices`, one row each: `[indices.count, dimension]`.
  ///
  /// ```swift
  /// let vectors = embedding([3, 0, 3])               // rows 3, 0 and 3 of the weight
  /// ```
  ///
  /// - Parameters:
  ///   - indices: Rows of the table, each in `0..<count`; a row may repeat.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Returns: A tensor of shape `[indices.count, dimension]`.
  /// - Precondition: Each index is in `0..<count` (a negative one is not counted from the end).
  public func callAsFunction(
    _ indices: [Int], file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor<Scalar> {
    let location = SourceLocation(file: file, line: line)
    if let position = indices.firstIndex(where: { $0 < 0 || $0 >= count }) {
      let index = indices[position]
      failBadIndex(
        "\(index)", isWhole: true, isNegative: index < 0, at: "\(position)", location)
    }
    return weight.gathering(atIndices: indices, file: file, line: line)
  }

  /// The vectors of the indices that `input` holds as whole numbers, in `input`'s shape:
  /// `S + [dimension]` for an input of shape `S` (a single index, of shape `[]`, gives
  /// `[dimension]`).
  ///
  /// ```swift
  /// let tokens = Tensor<Float>(shape: [2, 3], scalars: [1, 5, 9, 2, 0, 7])
  /// let vectors = embedding(tokens)                  // [2, 3, dimension]
  /// ```
  ///
  /// This is the form a ``Sequential`` calls. The input is only read: when it is recorded on a
  /// tape, it gets no gradient.
  ///
  /// - Precondition: Each element of `input` is a whole number in `0..<count` (not negative,
  ///   not NaN).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
    var indices: [Int] = []
    indices.reserveCapacity(input.scalarCount)
    // The first bad element, if any, is reported once the buffer is released.
    let bad: (position: Int, value: Scalar)? = input.withUnsafeBufferPointer { values in
      for (position, value) in values.enumerated() {
        // Compared as `Scalar`: converting a value out of `Int`'s range would trap. NaN fails
        // every comparison; an infinity is whole but out of range.
        guard value >= 0 && value < Scalar(count) && value.rounded(.towardZero) == value else {
          return (position, value)
        }
        indices.append(Int(value))
      }
      return nil
    }
    if let bad {
      let value = bad.value
      failBadIndex(
        Int(exactly: value).map(String.init) ?? "\(value)",
        isWhole: value.rounded(.towardZero) == value, isNegative: value < 0,
        at: multiIndex(bad.position, in: input.shape).shapeText, nil)
    }
    return weight.gathering(atIndices: indices).reshaped(to: input.shape + [dimension])
  }

  /// `[weight]`. Setting it replaces the weight.
  ///
  /// An in-place access, such as `optimizer.update(&layer.parameters, along: gradients)`, writes
  /// the layer's own tensor: no element is copied when nothing else shares it.
  ///
  /// - Precondition: A new value holds one tensor of shape `[count, dimension]`.
  public var parameters: [Tensor<Scalar>] {
    get { store.tensors }
    set {
      store.tensors = newValue
      checkParameters()
    }
    _modify {
      yield &store.tensors
      checkParameters()
    }
  }

  /// Appends `[weight]` to `parameters`, leaving the layer without it.
  public mutating func moveParameters(into parameters: inout [Tensor<Scalar>]) {
    store.move(into: &parameters)
  }

  /// Takes the weight from `parameters` at `start`, and advances `start` by 1.
  ///
  /// - Precondition: `parameters[start]` exists and has shape `[count, dimension]`.
  public mutating func restoreParameters(from parameters: [Tensor<Scalar>], at start: inout Int) {
    store.restore(from: parameters, at: &start)
    checkShape("parameters")
  }

  /// `["weight"]`.
  public var parameterNames: [String] { ["weight"] }

  /// Stops with a message naming an index that is not a row of the table, and where it is.
  private func failBadIndex(
    _ value: String, isWhole: Bool, isNegative: Bool, at position: String,
    _ location: SourceLocation?
  ) -> Never {
    let problem =
      !isWhole
      ? "is not a whole number; the input holds rows of the table, 0..<\(count)"
      : "is out of range 0..<\(count)"
    let note = isWhole && isNegative ? " (a negative index does not count from the end)" : ""
    failNN(
      "Embedding: index \(value) at position \(position) \(problem) (count \(count))\(note)",
      at: location)
  }

  /// Stops with a message unless the parameters are one tensor of the layer's shape.
  private func checkParameters() {
    store.checkCount()
    checkShape("parameters")
  }

  /// Stops with a message when a new weight does not have the layer's shape.
  private func checkShape(_ changed: String) {
    let shape = store[0].shape
    requireNN(
      shape == [count, dimension],
      "Embedding: the new \(changed) gives a weight \(shape.shapeText); the layer's weight is "
        + "[\(count), \(dimension)]")
  }
}

/// The position, one index per axis, of element `offset` (row-major) of a tensor of `shape`.
private func multiIndex(_ offset: Int, in shape: [Int]) -> [Int] {
  var index = [Int](repeating: 0, count: shape.count)
  var rest = offset
  for axis in shape.indices.reversed() {
    index[axis] = rest % shape[axis]
    rest /= shape[axis]
  }
  return index
}
