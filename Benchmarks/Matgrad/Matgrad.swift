import Autodiff
import Benchmark
import CBLASFloor

// D = W·X, then dW = dD·Xᵀ and dX = Wᵀ·dD from an upstream dD, for N×N Float matrices.
// Floor: the same three products as bare cblas_sgemm calls on buffers made once per process.

/// W, X and dD, N×N, drawn from a seeded normal distribution.
struct Matrices: Sendable {
  let w, x, dD: Tensor<Float>

  init(_ n: Int) {
    var rng = SeededGenerator(seed: 1)
    (w, x, dD) = (
      Tensor(randomNormal: [n, n], using: &rng), Tensor(randomNormal: [n, n], using: &rng),
      Tensor(randomNormal: [n, n], using: &rng)
    )
  }
}

/// The floor's inputs and its three distinct output buffers, made once. package-benchmark calls a
/// benchmark's closure once per sample and times it to its return, so what the closure makes or
/// frees (a copy on first write, an array's deallocation) would be timed with the products.
final class FloorBuffers: @unchecked Sendable {
  let n: Int
  let w, x, dD, d, dW, dX: UnsafeMutablePointer<Float>

  init(_ matrices: Matrices, n: Int) {
    self.n = n
    func buffer(_ values: [Float]) -> UnsafeMutablePointer<Float> {
      let buffer = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
      buffer.initialize(from: values, count: n * n)
      return buffer
    }
    (w, x, dD) = (
      buffer(matrices.w.scalars), buffer(matrices.x.scalars), buffer(matrices.dD.scalars)
    )
    let zeros = [Float](repeating: 0, count: n * n)
    (d, dW, dX) = (buffer(zeros), buffer(zeros), buffer(zeros))
  }

  /// D = W·X, dW = dD·Xᵀ, dX = Wᵀ·dD.
  func run() {
    let s = Int32(n)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s, s, s, 1, w, s, x, s, 0, d, s)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s, s, s, 1, dD, s, x, s, 0, dW, s)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s, s, s, 1, w, s, dD, s, 0, dX, s)
    blackHole((d[0], dW[0], dX[0]))
  }
}

// Globals are initialized on first use, so each benchmark (package-benchmark runs each in its own
// process) makes only its own inputs, and once, not before every sample.
let matrices64 = Matrices(64)
let matrices256 = Matrices(256)
let matrices1024 = Matrices(1024)
let floor64 = FloorBuffers(matrices64, n: 64)
let floor256 = FloorBuffers(matrices256, n: 256)
let floor1024 = FloorBuffers(matrices1024, n: 1024)

func matrices(_ n: Int) -> Matrices {
  switch n {
  case 64: matrices64
  case 256: matrices256
  default: matrices1024
  }
}

func floorBuffers(_ n: Int) -> FloorBuffers {
  switch n {
  case 64: floor64
  case 256: floor256
  default: floor1024
  }
}

let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .mallocCountTotal], timeUnits: .nanoseconds,
    units: [.mallocCountTotal: .count], warmupIterations: 3, maxDuration: .seconds(3),
    maxIterations: 2_000)
  for n in [64, 256, 1024] {
    // The closure holds only the globals' tensors: nothing is made or freed but the gradient.
    Benchmark("matgrad Float \(n)") { benchmark in
      let (w, x, dD) = (matrices(n).w, matrices(n).x, matrices(n).dD)
      benchmark.startMeasurement()
      for _ in benchmark.scaledIterations {
        let tape = Tape()
        let (tw, tx) = (tape.watch(w), tape.watch(x))
        let d = matmul(tw, tx)
        blackHole(tape.gradient(of: d, wrt: tw, tx, seed: dD))
      }
    }

    Benchmark("matgrad floor \(n)") { benchmark in
      let floor = floorBuffers(n)
      // The kernels Autodiff runs on: it may have replaced OpenBLAS's generic choice.
      _ = BLAS.coreName
      benchmark.startMeasurement()
      for _ in benchmark.scaledIterations { floor.run() }
    }
  }
}
