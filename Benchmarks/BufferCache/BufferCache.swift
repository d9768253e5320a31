import Autodiff
import AutodiffNN
import Benchmark
import Networks
import Synchronization

// The buffer cache when sizes change from one step to the next, each workload run with the cache
// on (its default limit) and off (limit 0), so that the pair shows what the cache costs or saves:
//   mlp varying batch: one SGD step (learning rate 10⁻³) of a 64-128-128-10 ReLU network on a
//     batch whose row count changes every step: 1,024 counts from 32 to 1,055, in an order that
//     jumps (32 + 37·step mod 1,024), as variable-length inputs would give;
//   mlp fixed batch: the same step with 256 rows every time, the case the cache is for;
//   elementwise varying rows: the gradient of Σ relu(x)² + σ(x) for x of shape [rows, 256],
//     the rows as in mlp varying batch, from 16 to 1,039;
//   distinct sizes 100k: 100,000 Float tensors of 4,096 + i elements (16 KiB to 416 KiB), each
//     made and freed in turn: every size is new, none can be reused;
//   four sizes 100k: 100,000 Float tensors of 4,096·(1 + i mod 4) elements, made and freed in
//     turn: the cache's common case, its cost per tensor;
//   distinct sizes written 100k: as distinct sizes, each tensor plus one, its elements read.
// A tensor made by `Tensor(repeating:shape:)` and never read is a pending fill: distinct sizes
// and four sizes measure the allocation and the cache alone, no element is written. The 100k
// workloads also report CPU time, which a busy machine disturbs less than the wall clock.

// Globals are initialized on first use: each benchmark process builds only what it runs.
let elementwiseInput: Tensor<Float> = {
  var rng = SeededGenerator(seed: 2)
  return Tensor(randomNormal: [1040, 256], using: &rng)
}()

/// The cache's limit as the library sets it.
let defaultLimit = BufferCache.limit

/// Turns the cache on (its default limit) or off (limit 0, which also empties it). Called before
/// each sample, it keeps what the cache holds from the samples before, as a training loop would.
func setCache(_ on: Bool) {
  BufferCache.limit = on ? defaultLimit : 0
}

/// This process's training of a 64-128-128-10 network, on the leading rows of 1,056 (made once:
/// see `Training`).
let training = Training(MLP(sizes: [64, 128, 128, 10], batch: 1056))

/// The steps run so far in this process. package-benchmark calls a benchmark's closure once per
/// sample, so a count that must run on from sample to sample lives outside it.
let steps = Atomic(0)

/// The row count of the next step: 1,024 different counts from `base`, in an order that jumps.
func nextRows(from base: Int) -> Int {
  base + (steps.add(1, ordering: .relaxed).oldValue &* 37) % 1024
}

let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .mallocCountTotal], timeUnits: .microseconds,
    units: [.mallocCountTotal: .count], warmupIterations: 10, maxDuration: .seconds(3),
    maxIterations: 20_000)

  // The varying workloads run the same steps with the cache on and off: a cycle of the 1,024 row
  // counts to warm up, then two measured.
  let varying = Benchmark.Configuration(
    metrics: [.wallClock, .mallocCountTotal], timeUnits: .microseconds,
    units: [.mallocCountTotal: .count], warmupIterations: 1024, maxDuration: .seconds(60),
    maxIterations: 2048)

  for cache in ["on", "off"] {
    for (name, varies) in [("mlp varying batch", true), ("mlp fixed batch", false)] {
      Benchmark(
        "\(name) cache \(cache)",
        configuration: varies ? varying : Benchmark.defaultConfiguration
      ) { benchmark in
        setCache(cache == "on")
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
          blackHole(training.step(rows: varies ? nextRows(from: 32) : 256))
        }
      }
    }

    Benchmark("elementwise varying rows cache \(cache)", configuration: varying) { benchmark in
      setCache(cache == "on")
      benchmark.startMeasurement()
      for _ in benchmark.scaledIterations {
        let x = elementwiseInput[0..<nextRows(from: 16)]
        blackHole(valueWithGradient(at: x) { x in (relu(x).squared() + sigmoid(x)).sum() })
      }
    }

    // Tensors made and freed in turn: each workload's `make(i)` makes the i-th of 100,000.
    let hundredThousand:
      [(name: String, warmup: Int, samples: Int, make: @Sendable (Int) -> Void)] =
        [
          (
            "distinct sizes", 0, 5,
            { i in blackHole(Tensor<Float>(repeating: 1, shape: [4096 + i])) }
          ),
          (
            "distinct sizes written", 0, 5,
            { i in blackHole((Tensor<Float>(repeating: 1, shape: [4096 + i]) + 1).scalars[i]) }
          ),
          (
            "four sizes", 1, 10,
            { i in blackHole(Tensor<Float>(repeating: 1, shape: [4096 * (1 + i % 4)])) }
          ),
        ]
    for (name, warmup, samples, make) in hundredThousand {
      Benchmark(
        "\(name) 100k cache \(cache)",
        configuration: .init(
          metrics: [.wallClock, .cpuTotal, .mallocCountTotal], timeUnits: .milliseconds,
          units: [.mallocCountTotal: .count], warmupIterations: warmup, maxDuration: .seconds(10),
          maxIterations: samples)
      ) { benchmark in
        setCache(cache == "on")
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
          for i in 0..<100_000 { make(i) }
        }
      }
    }
  }
}
