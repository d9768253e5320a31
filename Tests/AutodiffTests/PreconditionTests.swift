import Autodiff
import Testing

/// Every documented precondition stops the process, with a message on standard error that names
/// the operation, the shapes involved and, for named functions, the caller's file.
///
/// Each test runs its body in a child process (a Swift Testing exit test), which must fail.
@Suite struct PreconditionTests {
  /// How a named function's message reports a call site in this file (`#fileID`), as opposed to
  /// the `file:line:` prefix that `fatalError` prints on its own.
  static let callSite = "(at AutodiffTests/PreconditionTests.swift:"

  // MARK: Shapes

  @Test("+ of shapes that do not broadcast names both shapes")
  func addNonBroadcastable() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [2, 3]) + Tensor<Float>(zeros: [4, 5])
    }
    expectMessage(result, contains: ["+:", "[2, 3]", "[4, 5]", "broadcast"])
  }

  @Test("A negative BufferCache.limit stops with the value")
  func negativeCacheLimit() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      BufferCache.limit = -1
    }
    expectMessage(result, contains: ["BufferCache.limit", "-1", "negative"])
  }

  @Test("matmul with different inner dimensions names both shapes and the call site")
  func matmulInnerDimensionMismatch() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = matmul(Tensor<Float>(zeros: [2, 3]), Tensor<Float>(zeros: [4, 5]))
    }
    expectMessage(
      result, contains: ["matmul", "inner dimensions", "[2, 3]", "[4, 5]", Self.callSite])
  }

  @Test("matmul(_:_:plus:) of a stack whose last axis is not b's rows names both shapes")
  func matmulPlusOfStackMismatch() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = matmul(
        Tensor<Float>(zeros: [2, 3, 5]), Tensor<Float>(zeros: [3, 4]), plus: Tensor(zeros: [4]))
    }
    expectMessage(
      result,
      contains: ["matmul(_:_:plus:)", "inner dimensions", "[2, 3, 5]", "[3, 4]", Self.callSite])
  }

  @Test("matmul(_:_:plus:) with a bias of the wrong length names its shape and the call site")
  func matmulPlusBiasMismatch() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = matmul(
        Tensor<Float>(zeros: [2, 3]), Tensor<Float>(zeros: [3, 4]), plus: Tensor(zeros: [3]))
    }
    expectMessage(result, contains: ["matmul(_:_:plus:)", "bias", "[4]", "[3]", Self.callSite])
  }

  @Test("lowerTriangular of a vector names the shape and the call site")
  func triangleOfVector() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Double>([1, 2]).lowerTriangular()
    }
    expectMessage(result, contains: ["lowerTriangular(diagonal:)", "[2]", Self.callSite])
  }

  @Test("topK with k beyond the axis names k, the shape and the call site")
  func topKBeyondAxis() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Double>(zeros: [2, 3]).topK(4)
    }
    expectMessage(result, contains: ["topK", "k = 4", "0...3", "[2, 3]", Self.callSite])
  }

  @Test("norm of an unsupported order names the order and the call site")
  func normOfUnsupportedOrder() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Double>([1, 2]).norm(order: 3, alongAxes: [0])
    }
    expectMessage(
      result, contains: ["norm(alongAxes:)", "order 3.0", "1, 2 or .infinity", Self.callSite])
  }

  @Test("matmul of a scalar (rank 0) names both shapes and the call site")
  func matmulOfScalar() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = matmul(Tensor<Double>(2), Tensor<Double>(zeros: [3, 2]))
    }
    expectMessage(result, contains: ["matmul", "rank 1 or more", "[]", "[3, 2]", Self.callSite])
  }

  @Test("matmul of a transposed vector names both shapes and the call site")
  func matmulOfTransposedVector() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = matmul(Tensor<Double>([1, 2, 3]), transposed: true, Tensor<Double>(zeros: [3, 2]))
    }
    expectMessage(result, contains: ["matmul", "no transpose", "[3]ᵀ", "[3, 2]", Self.callSite])
  }

  @Test("matmul of stacks whose batch axes do not broadcast names both shapes and the call site")
  func matmulOfStacksNotBroadcasting() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = matmul(Tensor<Float>(zeros: [2, 3, 4]), Tensor<Float>(zeros: [3, 4, 5]))
    }
    expectMessage(
      result, contains: ["matmul", "batch", "broadcast", "[2, 3, 4]", "[3, 4, 5]", Self.callSite])
  }

  @Test("matmul of stacks with different inner dimensions names both shapes and the call site")
  func matmulOfStacksInnerMismatch() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = matmul(Tensor<Float>(zeros: [2, 3, 4]), Tensor<Float>(zeros: [5]))
    }
    expectMessage(
      result, contains: ["matmul", "inner dimensions", "[2, 3, 4]", "[5]", Self.callSite])
  }

  @Test("reshaped(to:) with another element count names both shapes and the call site")
  func reshapeToOtherCount() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [2, 3]).reshaped(to: [4])
    }
    expectMessage(result, contains: ["reshaped(to:)", "[2, 3]", "[4]", Self.callSite])
  }

  @Test("Tensor(shape:scalars:) with the wrong number of scalars names the shape and both counts")
  func initializerWithWrongCount() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5])
    }
    expectMessage(
      result, contains: ["Tensor(shape:scalars:)", "[2, 3]", "6 elements", " 5 ", Self.callSite])
  }

  @Test("scalar of a tensor with several elements names its shape")
  func scalarOfSeveralElements() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Double>([1, 2]).scalar
    }
    expectMessage(result, contains: ["scalar", "[2]"])
  }

  @Test("where with shapes that do not broadcast names the three shapes and the call site")
  func whereNonBroadcastable() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Autodiff.where(
        Tensor<Float>(zeros: [2, 3]), Tensor<Float>(zeros: [3]), Tensor<Float>(zeros: [4]))
    }
    expectMessage(result, contains: ["where:", "[2, 3]", "[3]", "[4]", "broadcast", Self.callSite])
  }

  @Test("atan2 of shapes that do not broadcast names both shapes and the call site")
  func atan2NonBroadcastable() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = atan2(Tensor<Float>(zeros: [2, 3]), Tensor<Float>(zeros: [4]))
    }
    expectMessage(result, contains: ["atan2:", "[2, 3]", "[4]", "broadcast", Self.callSite])
  }

  @Test("clamp with bounds that do not broadcast names both shapes and the call site")
  func clampNonBroadcastable() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = clamp(Tensor<Float>(zeros: [2, 3]), min: Tensor<Float>(zeros: [2]))
    }
    expectMessage(result, contains: ["clamp:", "[2, 3]", "[2]", "broadcast", Self.callSite])
  }

  @Test("clamp without a bound says so, with the call site")
  func clampWithoutBounds() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = clamp(Tensor<Float>(zeros: [2]), min: Float?.none, max: Float?.none)
    }
    expectMessage(result, contains: ["clamp:", "neither min nor max", Self.callSite])
  }

  // MARK: Axes and ranges

  @Test("sum(alongAxes:) with an axis out of range names the axis, the shape and the call site")
  func sumAxisOutOfRange() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [2, 3]).sum(alongAxes: [2])
    }
    expectMessage(result, contains: ["sum(alongAxes:)", "axis 2", "[2, 3]", Self.callSite])
  }

  @Test("max(alongAxes:) with an axis out of range names the axis, the shape and the call site")
  func maxAxisOutOfRange() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [2, 3]).max(alongAxes: [-3])
    }
    expectMessage(result, contains: ["max(alongAxes:)", "axis -3", "[2, 3]", Self.callSite])
  }

  @Test("softmax with an axis out of range names softmax, the axis, the shape and the call site")
  func softmaxAxisOutOfRange() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = softmax(Tensor<Float>(zeros: [2, 3]), alongAxis: 2)
    }
    expectMessage(result, contains: ["softmax", "axis 2", "[2, 3]", Self.callSite])
  }

  @Test(
    "logSoftmax with an axis out of range names logSoftmax, the axis, the shape and the call site")
  func logSoftmaxAxisOutOfRange() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = logSoftmax(Tensor<Float>(zeros: [2, 3]), alongAxis: -3)
    }
    expectMessage(result, contains: ["logSoftmax", "axis -3", "[2, 3]", Self.callSite])
  }

  @Test("Slicing rows out of range names the range, the shape and the call site")
  func sliceOutOfRange() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [3, 2])[1..<5]
    }
    expectMessage(result, contains: ["slice", "1..<5", "[3, 2]", Self.callSite])
  }

  @Test("Concatenating shapes that differ off the axis names both shapes and the call site")
  func concatenateMismatchedShapes() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor(concatenating: [Tensor<Float>(zeros: [2, 3]), Tensor<Float>(zeros: [2, 4])])
    }
    expectMessage(result, contains: ["concatenate", "[2, 3]", "[2, 4]", Self.callSite])
  }

  // MARK: Flipping, tiling, repeating and padding

  @Test("flipped(alongAxes:) naming an axis twice names the axes, the shape and the call site")
  func flipRepeatedAxis() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [2, 3]).flipped(alongAxes: [1, -1])
    }
    expectMessage(
      result, contains: ["flipped(alongAxes:)", "[1, -1]", "twice", "[2, 3]", Self.callSite])
  }

  @Test("flipped(alongAxes:) with an axis out of range names the axis, the shape and the call site")
  func flipAxisOutOfRange() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [2, 3]).flipped(alongAxes: [2])
    }
    expectMessage(
      result, contains: ["flipped(alongAxes:)", "axis 2 is out of range", "[2, 3]", Self.callSite])
  }

  @Test("tiled(_:) with a negative multiple names the multiples, the shape and the call site")
  func tileNegativeMultiple() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [2, 3]).tiled([2, -1])
    }
    expectMessage(result, contains: ["tiled(_:)", "[2, -1]", "negative", "[2, 3]", Self.callSite])
  }

  @Test("tiled(_:) past what an Int counts names the shape and the call site")
  func tileOverflow() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [2, 3]).tiled([1 << 40, 1 << 40])
    }
    expectMessage(
      result, contains: ["tiled(_:)", "[2199023255552, 3298534883328]", "Int", Self.callSite])
    let axis = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [3]).tiled([Int.max])
    }
    expectMessage(axis, contains: ["tiled(_:)", "extent 3", "[3]", "Int", Self.callSite])
  }

  @Test(
    "repeated(_:alongAxis:) of a scalar, or a negative count, names the shape and the call site")
  func repeatScalarOrNegative() async {
    let scalar = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(2).repeated(2, alongAxis: 0)
    }
    expectMessage(scalar, contains: ["repeated(_:alongAxis:)", "a scalar", Self.callSite])
    let negative = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [2, 3]).repeated(-1, alongAxis: 1)
    }
    expectMessage(
      negative, contains: ["repeated(_:alongAxis:)", "count -1", "[2, 3]", Self.callSite])
    let axis = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [2, 3]).repeated([1, 2], alongAxis: -3)
    }
    expectMessage(
      axis,
      contains: ["repeated(_:alongAxis:)", "axis -3 is out of range", "[2, 3]", Self.callSite])
  }

  @Test("repeated(_:alongAxis:) with counts of the wrong length or sign names them and the shape")
  func repeatCounts() async {
    let length = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [2, 3]).repeated([1, 2], alongAxis: 1)
    }
    expectMessage(
      length,
      contains: ["repeated(_:alongAxis:)", "2 counts for the 3 slices", "[2, 3]", Self.callSite])
    let negative = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [2, 3]).repeated([1, -2], alongAxis: 0)
    }
    expectMessage(
      negative,
      contains: ["repeated(_:alongAxis:)", "count -2 at position 1", "[2, 3]", Self.callSite])
    let overflow = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [2]).repeated([Int.max, 1], alongAxis: 0)
    }
    expectMessage(overflow, contains: ["repeated(_:alongAxis:)", "add up past", Self.callSite])
  }

  @Test("padded(_:with:) with too few pairs or a negative width names them and the shape")
  func padWidths() async {
    let count = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [2, 3]).padded([(1, 1)])
    }
    expectMessage(
      count,
      contains: ["padded(_:with:)", "1 (before, after) pairs", "[2, 3]", "rank 2", Self.callSite])
    let negative = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [2, 3]).padded([(0, 0), (-1, 2)])
    }
    expectMessage(
      negative,
      contains: ["padded(_:with:)", "(-1, 2)", "axis 1", "negative", "[2, 3]", Self.callSite])
    let overflow = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [2]).padded([(Int.max, 1)])
    }
    expectMessage(overflow, contains: ["padded(_:with:)", "Int", "[2]", Self.callSite])
  }

  // MARK: Tapes

  @Test("The gradient of a non-scalar target without a seed names the target's shape")
  func nonScalarTargetWithoutSeed() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let tape = Tape()
      let x = tape.watch(Tensor<Double>([1, 2, 3]))
      _ = tape.gradient(of: x * x, wrt: [x])
    }
    expectMessage(result, contains: ["gradient", "[3]", "seed", Self.callSite])
  }

  @Test("A seed of another shape than the target names both shapes")
  func seedOfWrongShape() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let tape = Tape()
      let x = tape.watch(Tensor<Double>([1, 2, 3]))
      _ = tape.gradient(of: x * x, wrt: [x], seed: Tensor([1, 1]))
    }
    expectMessage(result, contains: ["gradient", "seed", "[2]", "[3]", Self.callSite])
  }

  @Test("+ of tensors recorded on two tapes says so")
  func addAcrossTapes() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tape().watch(Tensor<Double>(1)) + Tape().watch(Tensor<Double>(2))
    }
    expectMessage(result, contains: ["add", "different tapes"])
  }

  @Test("matmul of tensors recorded on two tapes says so and names the call site")
  func matmulAcrossTapes() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = matmul(
        Tape().watch(Tensor<Double>(zeros: [2, 2])), Tape().watch(Tensor<Double>(zeros: [2, 2])))
    }
    expectMessage(result, contains: ["matmul", "different tapes", Self.callSite])
  }

  @Test("A gradient with respect to a tensor recorded on another tape names the source")
  func sourceFromAnotherTape() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let tape = Tape()
      let x = tape.watch(Tensor<Double>(1))
      let other = Tape().watch(Tensor<Double>([1, 2]))
      _ = tape.gradient(of: x * x, wrt: [x, other])
    }
    expectMessage(result, contains: ["gradient", "source 1", "[2]", "not recorded", Self.callSite])
  }

  @Test("A gradient with respect to a tensor that is not recorded names the source")
  func unrecordedSource() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let tape = Tape()
      let x = tape.watch(Tensor<Double>(1))
      _ = tape.gradient(of: x * x, wrt: [Tensor<Double>(zeros: [4, 1])])
    }
    expectMessage(
      result, contains: ["gradient", "source 0", "[4, 1]", "not recorded", Self.callSite])
  }

  @Test(
    "einsum's malformed equations name einsum, the equation, the shapes and the call site",
    arguments: [
      ("ij,j?->i", "'?' is not a label"), ("ij->i", "1 terms for 2 operands"),
      ("ijk,jk->ik", "term 0 \"ijk\" has 3 labels for an operand of rank 2"),
      ("ij,kj->ik", "label j has extents 3 and 4"), ("ij,jk->iz", "output label z is in no input"),
      ("ij,jk->ii", "a label repeats in the output"), ("...j,jk->k", "ellipsis"),
      ("ij,jk->i->k", "more than one ->"),
    ])
  func einsumMalformed(equation: String, reason: String) async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      [equation] in
      _ = einsum(equation, Tensor<Float>(zeros: [2, 3]), Tensor<Float>(zeros: [3, 4]))
    }
    expectMessage(
      result, contains: ["einsum", reason, "\"\(equation)\"", "[2, 3], [3, 4]", Self.callSite])
  }
}
