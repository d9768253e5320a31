// swift-tools-version: 6.1
import PackageDescription

let package = Package(
  name: "Autodiff",
  products: [
    .library(name: "Autodiff", targets: ["Autodiff"]),
    .library(name: "AutodiffNN", targets: ["AutodiffNN"]),
    .library(name: "AutodiffDistributed", targets: ["AutodiffDistributed"]),
    .executable(name: "fashion-mnist", targets: ["fashion-mnist"]),
    .executable(name: "seed-examples", targets: ["seed-examples"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    // `swift package generate-documentation`: the DocC catalogs of the three libraries.
    .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
  ],
  targets: [
    // MARK: Public API

    .target(
      name: "Autodiff",
      dependencies: [
        "CBLAS",
        "CElementwise",
        .product(name: "RealModule", package: "swift-numerics"),
      ]
    ),
    .target(name: "AutodiffNN", dependencies: ["Autodiff", "CZlib"]),
    // Data-parallel training over MPI; the only target that links MPI.
    .target(name: "AutodiffDistributed", dependencies: ["AutodiffNN", "CMPI"]),
    .executableTarget(
      name: "fashion-mnist",
      dependencies: [
        "AutodiffNN",
        "AutodiffDistributed",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .executableTarget(name: "seed-examples", dependencies: ["Autodiff"]),
    // Long runs (memory over 20,000 training steps, a 1,000,000-op graph); not a product.
    .executableTarget(name: "soak", dependencies: ["AutodiffNN"]),

    // MARK: Implementation details

    .systemLibrary(
      name: "CBLAS",
      path: "Modules/CBLAS",
      pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
    ),
    // exp, log, sin, cos, tanh and sigmoid over buffers, compiled for AVX-512, AVX2 and the
    // baseline, picked at load time (Elementwise.c says why).
    .target(
      name: "CElementwise", path: "Modules/CElementwise", linkerSettings: [.linkedLibrary("m")]),
    .systemLibrary(
      name: "CZlib",
      path: "Modules/CZlib",
      pkgConfig: "zlib",
      providers: [.apt(["zlib1g-dev"])]
    ),
    .systemLibrary(
      name: "CMPI",
      path: "Modules/CMPI",
      pkgConfig: "ompi-c",
      providers: [.apt(["libopenmpi-dev"])]
    ),

    // MARK: Tests

    // Reads the documentation's code blocks and the tests that run them, for both test targets.
    .target(name: "DocumentationSnippets", path: "Tests/DocumentationSnippets"),
    .testTarget(
      name: "AutodiffTests",
      dependencies: [
        "Autodiff", "DocumentationSnippets",
        .product(name: "PropertyBased", package: "swift-property-based"),
      ]
    ),
    .testTarget(name: "AutodiffNNTests", dependencies: ["AutodiffNN", "DocumentationSnippets"]),
    // The scenarios run by AutodiffDistributedTests under `mpirun -np 2`, one process per rank.
    .executableTarget(name: "mpi-tests", dependencies: ["AutodiffDistributed"]),
    .testTarget(
      name: "AutodiffDistributedTests",
      dependencies: ["AutodiffDistributed", "DocumentationSnippets"]),
    // Runs the built `fashion-mnist` on synthetic data, and tests its parts (@testable import).
    .testTarget(
      name: "FashionMNISTCommandTests", dependencies: ["fashion-mnist", "AutodiffNN"],
      exclude: ["Golden"]),
  ]
)
