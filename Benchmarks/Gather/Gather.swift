import Autodiff
import Benchmark

// Gathering rows of a [4096, 784] Float batch (a Fashion-MNIST-sized table) by a list of
// random row numbers: a shuffled mini-batch of 128 rows, and a whole permutation of 4096.
// Each gathered row is one block copy of 784 × 4 = 3,136 bytes, so the gather should run at the
// speed of memory. Traffic is counted as the bytes copied: rows × 3,136 (128 rows: 401,408
// bytes; 4096 rows: 12,845,056 bytes), and bytes/s = that / time.
// Floor: memcpy of the same bytes, one contiguous block, into a buffer allocated beforehand.

let rows = 4096
let columns = 784

/// The table, from a seeded uniform distribution, drawn once per benchmark process.
let table: Tensor<Float> = {
  var rng = SeededGenerator(seed: 1)
  return Tensor(randomUniform: [rows, columns], using: &rng)
}()

/// `count` distinct random row numbers: the first rows of a seeded permutation.
func randomRows(_ count: Int) -> [Int] {
  var rng = SeededGenerator(seed: 2)
  return Array((0..<rows).shuffled(using: &rng).prefix(count))
}

/// The memcpy floor's source (the table's elements) and target, made once per process:
/// package-benchmark calls a benchmark's closure once per sample and times it to its return, so
/// buffers made in the closure would be freed inside the timed region.
nonisolated(unsafe) let floorSource: UnsafeMutableRawPointer = {
  let bytes = rows * columns * MemoryLayout<Float>.stride
  let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
  table.scalars.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes) }
  return buffer
}()
nonisolated(unsafe) let floorTarget = UnsafeMutableRawPointer.allocate(
  byteCount: rows * columns * MemoryLayout<Float>.stride, alignment: 64)

let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .mallocCountTotal], timeUnits: .nanoseconds,
    units: [.mallocCountTotal: .count], warmupIterations: 5, maxDuration: .seconds(3),
    maxIterations: 10_000)

  for count in [128, 4096] {
    Benchmark("gather Float \(count) of 4096 rows") { benchmark in
      let (x, indices) = (table, randomRows(count))
      benchmark.startMeasurement()
      for _ in benchmark.scaledIterations {
        blackHole(x.gathering(atIndices: indices))
      }
    }

    Benchmark("memcpy floor Float \(count) rows") { benchmark in
      let bytes = count * columns * MemoryLayout<Float>.stride
      let (source, target) = (floorSource, floorTarget)
      benchmark.startMeasurement()
      for _ in benchmark.scaledIterations {
        target.copyMemory(from: source, byteCount: bytes)
        blackHole(target)
      }
    }
  }

  // The same 128 rows read one subscript at a time, x[i]: the cost of an index per row.
  Benchmark("index Float x[i] 128 rows") { benchmark in
    let (x, indices) = (table, randomRows(128))
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
      for i in indices { blackHole(x[i]) }
    }
  }

  // The pullback of a 128-row gather: the rows' gradients added into zeros of the table's
  // shape (12.8 MB written, 0.4 MB added).
  Benchmark("gather gradient Float 128 of 4096 rows") { benchmark in
    let (x, indices) = (table, randomRows(128))
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
      blackHole(gradient(at: x) { x in x.gathering(atIndices: indices).sum() })
    }
  }
}
