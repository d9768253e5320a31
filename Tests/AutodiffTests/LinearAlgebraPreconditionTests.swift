import Autodiff
import Testing

/// The linear-algebra operations' preconditions (shapes and ranks) stop the process with a
/// message naming the operation, the shapes and the caller's file, like the other operations'
/// (see PreconditionTests.swift). Singular and indefinite inputs are not preconditions: they
/// throw (see LinearAlgebraTests.swift).
@Suite struct LinearAlgebraPreconditionTests {
  static let callSite = "(at AutodiffTests/LinearAlgebraPreconditionTests.swift:"

  @Test("solve with a non-square matrix names its shape and the call site")
  func solveNonSquare() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? solve(Tensor<Double>(zeros: [2, 3]), Tensor<Double>(zeros: [2, 1]))
    }
    expectMessage(result, contains: ["solve", "square", "[2, 3]", Self.callSite])
  }

  @Test("solve with a right-hand side of the wrong height names both shapes")
  func solveRowMismatch() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? solve(Tensor<Float>(zeros: [3, 3]), Tensor<Float>(zeros: [2, 4]))
    }
    expectMessage(result, contains: ["solve", "3 rows", "[3, 3]", "[2, 4]", Self.callSite])
  }

  @Test("inverse of a rank-3 tensor names its shape and the rank it needs")
  func inverseOfRank3() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? inverse(Tensor<Double>(zeros: [2, 2, 2]))
    }
    expectMessage(result, contains: ["inverse", "rank 2", "[2, 2, 2]", Self.callSite])
  }

  @Test("determinant, logDeterminant, cholesky and eigh of non-square matrices stop")
  func nonSquareDecompositions() async {
    let determinantResult = await #expect(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) { _ = determinant(Tensor<Double>(zeros: [3, 2])) }
    expectMessage(determinantResult, contains: ["determinant", "square", "[3, 2]", Self.callSite])
    let logResult = await #expect(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) { _ = logDeterminant(Tensor<Float>(zeros: [1, 4])) }
    expectMessage(logResult, contains: ["logDeterminant", "[1, 4]", Self.callSite])
    let choleskyResult = await #expect(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) { _ = try? cholesky(Tensor<Double>(zeros: [2, 3])) }
    expectMessage(choleskyResult, contains: ["cholesky", "square", "[2, 3]", Self.callSite])
    let eighResult = await #expect(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) { _ = try? eigh(Tensor<Double>(zeros: [4, 3])) }
    expectMessage(eighResult, contains: ["eigh", "square", "[4, 3]", Self.callSite])
  }

  @Test("qr and svd of a vector name its shape")
  func decompositionsOfVectors() async {
    let qrResult = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = qr(Tensor<Double>([1, 2, 3]))
    }
    expectMessage(qrResult, contains: ["qr", "rank 2", "[3]", Self.callSite])
    let svdResult = await #expect(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) { _ = try? svd(Tensor<Float>([1, 2])) }
    expectMessage(svdResult, contains: ["svd", "rank 2", "[2]", Self.callSite])
  }

  @Test("triangularSolve and choleskySolve with mismatched shapes name both")
  func triangularMismatch() async {
    let triangular = await #expect(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      _ = try? triangularSolve(
        Tensor<Double>(zeros: [3, 3]), Tensor<Double>(zeros: [4]), lower: true)
    }
    expectMessage(triangular, contains: ["triangularSolve", "[3, 3]", "[4]", Self.callSite])
    let choleskyResult = await #expect(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) { _ = try? choleskySolve(Tensor<Double>(zeros: [2, 2]), Tensor<Double>(zeros: [2, 2, 1])) }
    expectMessage(
      choleskyResult, contains: ["choleskySolve", "[2, 2]", "[2, 2, 1]", Self.callSite])
  }

  @Test("determinant's second derivative at an exactly singular matrix stops, saying so")
  func determinantSecondDerivativeAtSingular() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let singular = Tensor<Double>(shape: [2, 2], scalars: [1, 2, 2, 4])
      _ = gradient(at: singular) { a in gradient(at: a) { determinant($0) }.sum() }
    }
    expectMessage(
      result, contains: ["determinant", "second derivative", "singular", "not implemented"])
  }
}
