import Autodiff
import Testing

/// The preconditions of literals, indexing, assignment and gathering stop the process with a
/// message naming the operation, the index or row, the axis's extent and the caller.
@Suite struct IndexingPreconditionTests {
  static let callSite = "(at AutodiffTests/IndexingPreconditionTests.swift:"

  @Test("A ragged literal names the row that differs and the first row's length")
  func raggedLiteral() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>([[1, 2], [3, 4, 5]])
    }
    expectMessage(
      result,
      contains: ["Tensor: ragged literal: row 1 has 3 elements, row 0 has 2", Self.callSite])
  }

  @Test("A ragged literal deeper down names the row by its index path")
  func raggedDeepLiteral() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let x: Tensor<Double> = [[[1, 2], [3, 4]], [[5, 6], [7]]]
      _ = x
    }
    expectMessage(result, contains: ["ragged literal: row [1, 1] has 1 elements, row [0, 0] has 2"])
  }

  @Test("A literal that mixes numbers and lists at one depth says which row")
  func mixedDepthLiteral() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>([[1, 2], 3])
    }
    expectMessage(result, contains: ["ragged literal: row 1 is a number", Self.callSite])
  }

  @Test("An integer index past the axis names the index, the axis, its extent and the caller")
  func indexOutOfRange() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [3, 4])[1, 4]
    }
    expectMessage(
      result, contains: ["index: index 4 is out of range for axis 1 of extent 4", Self.callSite])
  }

  @Test("A negative index before the start of the axis stops too")
  func negativeIndexOutOfRange() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [3, 4])[-4]
    }
    expectMessage(result, contains: ["index -4", "axis 0 of extent 3", Self.callSite])
  }

  @Test("A range past the axis names the range and the axis")
  func rangeOutOfRange() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [3, 4])[0, 2..<6]
    }
    expectMessage(result, contains: ["range 2..<6 is outside 0..<4 of axis 1", Self.callSite])
  }

  @Test("More indices than axes names the count and the shape")
  func tooManyIndices() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [3])[0, 0]
    }
    expectMessage(result, contains: ["index: 2 indices", "rank 1", "[3]", Self.callSite])
  }

  @Test("Assigning into a tensor recorded on a live tape stops and says why")
  func assignmentIntoRecorded() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      var x = Tape().watch(Tensor<Float>(zeros: [3]))
      x[0] = Tensor(1)
    }
    expectMessage(result, contains: ["index assignment", "recorded on a tape", Self.callSite])
  }

  @Test("Assigning a value that does not broadcast names both shapes")
  func assignmentShapeMismatch() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      var x = Tensor<Float>(zeros: [3, 4])
      x[0] = Tensor([1, 2, 3])
    }
    expectMessage(result, contains: ["index assignment", "[3]", "[4]", Self.callSite])
  }

  @Test("A gather index outside the axis names it, its position, the axis and its extent")
  func gatherOutOfRange() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(zeros: [5, 2]).gathering(atIndices: [0, 7])
    }
    expectMessage(
      result,
      contains: [
        "gathering: index 7 at position 1 is out of range for axis 0 of extent 5",
        Self.callSite,
      ])
  }

  @Test("rangeFrom with a zero stride stops")
  func zeroStride() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(rangeFrom: 0, to: 1, stride: 0)
    }
    expectMessage(result, contains: ["Tensor(rangeFrom:to:stride:)", "nonzero", Self.callSite])
  }

  @Test("oneHot with a label outside the classes names it")
  func oneHotLabelOutOfRange() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor<Float>(oneHot: [0, 3], classes: 3)
    }
    expectMessage(result, contains: ["oneHot: label 3 at position 1", "0..<3", Self.callSite])
  }
}
