// swift-tools-version: 6.1
import PackageDescription

let package = Package(
  name: "Autodiff",
  products: [
    .library(name: "Autodiff", targets: ["Autodiff"]),
    .executable(name: "seed-examples", targets: ["seed-examples"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1")
  ],
  targets: [
    // MARK: Public API

    .target(
      name: "Autodiff",
      dependencies: [
        "CBLAS",
        .product(name: "RealModule", package: "swift-numerics"),
      ]
    ),
    .executableTarget(name: "seed-examples", dependencies: ["Autodiff"]),

    // MARK: Implementation details

    .systemLibrary(
      name: "CBLAS",
      path: "Modules/CBLAS",
      pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
    ),

    // MARK: Tests

    .testTarget(name: "AutodiffTests", dependencies: ["Autodiff"]),
  ]
)
