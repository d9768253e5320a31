import Autodiff
import Benchmark
import CBLASFloor

// D = W·X, then dW = dD·Xᵀ and dX = Wᵀ·dD from an upstream dD, for N×N Float matrices.
// Floor: the same three products as bare cblas_sgemm calls on preallocated buffers.

let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .mallocCountTotal], warmupIterations: 3, maxDuration: .seconds(3),
    maxIterations: 2_000)
  for n in [64, 256, 1024] {
    Benchmark("matgrad Float \(n)") { benchmark in
      var rng = SeededGenerator(seed: 1)
      let w = Tensor<Float>(randomNormal: [n, n], using: &rng)
      let x = Tensor<Float>(randomNormal: [n, n], using: &rng)
      let dD = Tensor<Float>(randomNormal: [n, n], using: &rng)
      benchmark.startMeasurement()
      for _ in benchmark.scaledIterations {
        let tape = Tape()
        let (tw, tx) = (tape.watch(w), tape.watch(x))
        let d = matmul(tw, tx)
        blackHole(tape.gradient(of: d, wrt: tw, tx, seed: dD))
      }
    }

    Benchmark("matgrad floor \(n)") { benchmark in
      var rng = SeededGenerator(seed: 1)
      let w = Tensor<Float>(randomNormal: [n, n], using: &rng).scalars
      let x = Tensor<Float>(randomNormal: [n, n], using: &rng).scalars
      let dD = Tensor<Float>(randomNormal: [n, n], using: &rng).scalars
      var d = [Float](repeating: 0, count: n * n)
      var dW = d
      var dX = d
      let s = Int32(n)
      benchmark.startMeasurement()
      for _ in benchmark.scaledIterations {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s, s, s, 1, w, s, x, s, 0, &d, s)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s, s, s, 1, dD, s, x, s, 0, &dW, s)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s, s, s, 1, w, s, dD, s, 0, &dX, s)
        blackHole((d[0], dW[0], dX[0]))
      }
    }
  }
}
