// swift-tools-version: 6.1
import PackageDescription

// Benchmarks for Autodiff (ordo-one/package-benchmark). Run from this folder:
//   swift package benchmark
// Each suite measures its floor (bare BLAS calls, or a fused C loop) in the same run, so results
// read as ratios. Peers/compare.py runs them beside NumPy, PyTorch and JAX.
let package = Package(
  name: "AutodiffBenchmarks",
  dependencies: [
    // Named explicitly: a plain path dependency would take the clone's folder name.
    .package(name: "Autodiff", path: ".."),
    .package(
      url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
  ],
  targets: [
    // MARK: Suites

    .executableTarget(
      name: "Matgrad",
      dependencies: ["Autodiff", "CBLASFloor", .product(name: "Benchmark", package: "benchmark")],
      path: "Matgrad",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
    .executableTarget(
      name: "ScalarGraph",
      dependencies: ["Autodiff", .product(name: "Benchmark", package: "benchmark")],
      path: "ScalarGraph",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
    .executableTarget(
      name: "MLPStep",
      dependencies: ["Autodiff", "Networks", .product(name: "Benchmark", package: "benchmark")],
      path: "MLPStep",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
    .executableTarget(
      name: "PerExampleGradients",
      dependencies: [
        .product(name: "AutodiffNN", package: "Autodiff"),
        .product(name: "Benchmark", package: "benchmark"),
      ],
      path: "PerExampleGradients",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
    .executableTarget(
      name: "Elementwise",
      dependencies: [
        "Autodiff", "ElementwiseFloor", .product(name: "Benchmark", package: "benchmark"),
      ],
      path: "Elementwise",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
    .executableTarget(
      name: "Gather",
      dependencies: ["Autodiff", .product(name: "Benchmark", package: "benchmark")],
      path: "Gather",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),

    .executableTarget(
      name: "BufferCache",
      dependencies: [
        "Autodiff", .product(name: "AutodiffNN", package: "Autodiff"), "Networks",
        .product(name: "Benchmark", package: "benchmark"),
      ],
      path: "BufferCache",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),

    // Not a package-benchmark suite: a plain program that prints where a training step's time
    // goes, one table per network (see StepParts/main.swift).
    .executableTarget(
      name: "StepParts",
      dependencies: ["Autodiff", "Networks"],
      path: "StepParts"
    ),

    // Not a package-benchmark suite: a plain program that prints the time of each of many
    // operations on 2²⁰ Floats, to find one far slower per element than its kind (see
    // OpCosts/main.swift).
    .executableTarget(
      name: "OpCosts",
      dependencies: ["Autodiff"],
      path: "OpCosts"
    ),

    // Not a package-benchmark suite: a plain program, because it runs under mpirun, one process
    // per rank. See DistributedStep/main.swift.
    .executableTarget(
      name: "DistributedStep",
      dependencies: [.product(name: "AutodiffDistributed", package: "Autodiff")],
      path: "DistributedStep"
    ),

    // MARK: Implementation details

    // The networks MLPStep, StepParts and BufferCache train, their step, and its floor.
    .target(
      name: "Networks",
      dependencies: ["Autodiff", .product(name: "AutodiffNN", package: "Autodiff"), "CBLASFloor"],
      path: "Networks"
    ),
    // Bare CBLAS, for the floors the suites compare against.
    .systemLibrary(name: "CBLASFloor", path: "CBLASFloor", pkgConfig: "openblas"),
    // The fused C loop that "elementwise 1M" compares against (the suite splits it across
    // Autodiff's thread count).
    // Compiled as a C programmer would compile a hot loop: vectorized for this CPU, with glibc's
    // vector expf (libmvec) and the sum reassociated (-ffast-math); plain -O2 leaves it scalar,
    // calling expf once per element, 5-7× slower.
    .target(
      name: "ElementwiseFloor", path: "ElementwiseFloor",
      cSettings: [.unsafeFlags(["-O3", "-march=native", "-ffast-math", "-fveclib=libmvec"])],
      linkerSettings: [.linkedLibrary("mvec")]
    ),
  ]
)
