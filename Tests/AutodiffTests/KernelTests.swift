// The machinery under the elementwise operations: the split of large loops across threads, the
// vectorized sum, and the fused pullbacks. The buffer cache's tests are in BufferCacheTests.swift.

import Foundation
import Testing

@testable import Autodiff

@Suite struct ElementwiseKernelTests {
  @Test(
    "A loop long enough to be split across threads gives each element what a short loop gives",
    arguments: ["exp", "sigmoid", "relu", "x·y", "x - 1"])
  func splitEqualsUnsplit(_ name: String) {
    let f: (Tensor<Double>) -> Tensor<Double> =
      switch name {
      case "exp": { exp($0) }
      case "sigmoid": { sigmoid($0) }
      case "relu": { relu($0) }
      case "x·y": { $0 * $0 }
      default: { $0 - 1 }
      }
    var rng = SeededGenerator(seed: 11)
    let count = (1 << 18) + 77  // split on a multi-core machine, with an uneven tail
    let x = Tensor<Double>(randomNormal: [count], using: &rng)
    let whole = f(x).scalars
    let piece = 1000  // far below the split threshold: one thread
    var pieces: [Double] = []
    for start in stride(from: 0, to: count, by: piece) {
      pieces += f(x[start..<min(start + piece, count)]).scalars
    }
    #expect(whole == pieces)
  }

  @Test("Converting precision rounds each element as Float(_:) and Double(_:) do, split or not")
  func conversions() {
    var rng = SeededGenerator(seed: 12)
    let count = (1 << 18) + 77  // split on a multi-core machine, with an uneven tail
    var doubles = Tensor<Double>(randomNormal: [count], using: &rng).scalars.map { $0 * 1e3 }
    let specials: [Double] = [
      .nan, .infinity, -.infinity, -0.0, 1e39, -1e39, 1e-46, Double(Float.leastNonzeroMagnitude),
      1 + 0x1p-24, 1 + 0x1p-24 + 0x1p-50, Double(Float.greatestFiniteMagnitude),
    ]
    doubles.replaceSubrange(1000..<(1000 + specials.count), with: specials)
    let floats = Tensor<Float>(Tensor(doubles)).scalars
    #expect(floats.map(\.bitPattern) == doubles.map { Float($0).bitPattern })
    let back = Tensor<Double>(Tensor(floats)).scalars
    #expect(back.map(\.bitPattern) == floats.map { Double($0).bitPattern })
  }

  @Test(
    "Transposes copy each element where a plain index loop puts it, tiled or not",
    arguments: [
      ([37, 70], [1, 0]), ([64, 64], [1, 0]), ([3, 45, 33], [0, 2, 1]),
      ([5, 33, 2, 40], [2, 0, 3, 1]),
      ([4, 1, 65], [2, 0, 1]), ([2, 3, 4], [2, 1, 0]), ([300, 500], [1, 0]),
    ])
  func transposes(shape: [Int], permutation: [Int]) {
    var rng = SeededGenerator(seed: 14)
    let x = Tensor<Float>(randomNormal: shape, using: &rng)
    let y = x.transposed(permutation: permutation)
    // The reference: each target index's source index, one element at a time.
    let targetShape = permutation.map { shape[$0] }
    var sourceStrides = [Int](repeating: 1, count: shape.count)
    for axis in (0..<(shape.count - 1)).reversed() {
      sourceStrides[axis] = sourceStrides[axis + 1] * shape[axis + 1]
    }
    let source = x.scalars
    var expected: [Float] = []
    var index = [Int](repeating: 0, count: shape.count)
    for _ in 0..<source.count {
      expected.append(source[zip(index, permutation).map { $0 * sourceStrides[$1] }.reduce(0, +)])
      var axis = shape.count - 1
      while axis >= 0 {
        index[axis] += 1
        if index[axis] < targetShape[axis] { break }
        index[axis] = 0
        axis -= 1
      }
    }
    #expect(y.shape == targetShape)
    #expect(y.scalars == expected)
  }

  @Test("max, min, argmax and argmin of long runs and of columns are a plain loop's; NaN wins")
  func longExtrema() {
    var rng = SeededGenerator(seed: 15)
    var rows = (0..<5).map { _ in Tensor<Double>(randomNormal: [1007], using: &rng).scalars }
    rows[1][517] = .nan  // in a lane's run
    rows[2][1006] = .nan  // in the tail
    rows[3][0] = .nan  // the first element
    rows[4][300] = .infinity
    rows[4][301] = -.infinity
    let x = Tensor(shape: [5, 1007], scalars: rows.flatMap { $0 })
    func plain(_ row: [Double], _ larger: (Double, Double) -> Bool) -> Double {
      row.dropFirst().reduce(row[0]) { larger($1, $0) || $1.isNaN ? $1 : $0 }
    }
    // Along rows (contiguous runs) and along columns (the columns kernel).
    let columns = x.transposed()
    for (maxima, minima) in [
      (x.max(alongAxes: [1]).scalars, x.min(alongAxes: [1]).scalars),
      (columns.max(alongAxes: [0]).scalars, columns.min(alongAxes: [0]).scalars),
    ] {
      for (index, row) in rows.enumerated() {
        let (largest, smallest) = (plain(row, >), plain(row, <))
        #expect(maxima[index] == largest || (maxima[index].isNaN && largest.isNaN))
        #expect(minima[index] == smallest || (minima[index].isNaN && smallest.isNaN))
      }
    }
    // argmax and argmin: the first extremum, or the first NaN (rows 1 to 3); row 0's maximum
    // appears a second time, later.
    func firstIndex(_ row: [Double], _ larger: (Double, Double) -> Bool) -> Int {
      row.firstIndex(where: \.isNaN) ?? row.firstIndex(of: plain(row, larger))!
    }
    #expect(x.argmax(alongAxis: 1) == rows.map { firstIndex($0, >) })
    #expect(x.argmin(alongAxis: 1) == rows.map { firstIndex($0, <) })
    // max's gradient: 1 at each row's argmax (the first NaN in a row with one).
    let slope = gradient(at: x) { $0.max(alongAxes: [1]).sum() }.scalars
    let argmaxes = x.argmax(alongAxis: 1)
    #expect(
      slope == (0..<5).flatMap { r in (0..<1007).map { $0 == argmaxes[r] ? 1.0 : 0 } })
    var repeated = rows[0]
    let top = repeated.indices.max { repeated[$0] < repeated[$1] }!
    repeated[1000] = repeated[top]
    #expect(Tensor(repeated).argmax() == top && top < 1000)
    #expect(
      x.max().scalar.isNaN && x[4].max().scalar == .infinity && x[4].min().scalar == -.infinity)
    let floats = Tensor<Float>(x[0])
    #expect(floats.max().scalar == Float(plain(rows[0], >)))
    #expect(floats.min().scalar == Float(plain(rows[0], <)))
  }

  @Test("pow with an exponent of 2 or 1 gives x·x and C's pow(x, 1) of each element, as ever")
  func powSquareAndIdentity() {
    var rng = SeededGenerator(seed: 16)
    var values = Tensor<Double>(randomNormal: [70_001], using: &rng).scalars.map { $0 * 1e3 }
    let specials: [Double] = [
      .nan, .infinity, -.infinity, 0, -0.0, 1e200, -1e200, 1e-200, .leastNonzeroMagnitude, -1,
    ]
    values.replaceSubrange(500..<(500 + specials.count), with: specials)
    let x = Tensor(values)
    for p in [2.0, 1.0] {
      // x·x for 2, as `power` has always given it (libm's pow(x, 2) may differ by an ulp).
      let expected = values.map { (p == 2 ? $0 * $0 : Foundation.pow($0, p)).bitPattern }
      let bits = pow(x, p).scalars.map(\.bitPattern)
      let nan = values.map(\.isNaN)
      // NaN's payload aside, the same bits.
      #expect(zip(zip(bits, expected), nan).allSatisfy { $0.1 || $0.0.0 == $0.0.1 }, "p = \(p)")
      #expect(zip(pow(x, p).scalars, nan).allSatisfy { $0.0.isNaN == $0.1 })
    }
    let g = gradient(at: Tensor(Array(values[0..<500]))) { pow($0, 2).sum() }
    #expect(g.scalars == values[0..<500].map { 2 * $0 })
  }

  @Test("The sum of many elements is accurate and the same on every call")
  func longSum() {
    var rng = SeededGenerator(seed: 5)
    let count = 1_000_003
    let x = Tensor<Float>(randomUniform: [count], using: &rng)
    let exact = x.scalars.reduce(0.0) { $0 + Double($1) }
    let sum = x.sum().scalar
    // One running Float sum of a million values in [0, 1) is typically off by ~1e-4 relative;
    // sixteen partial sums over runs of 256 and the runs pairwise, within about an ulp.
    #expect(Swift.abs(Double(sum) - exact) <= 1.5 * Double(sum.ulp))
    #expect(x.sum().scalar == sum)
    // Values far from 0: 10⁴ + u. Lanes that each ran through their elements in order were
    // five ulps off here.
    let offset = Tensor<Float>(randomUniform: [count], in: 0..<0.01, using: &rng) + 10_000
    let offsetSum = offset.sum().scalar
    let offsetExact = offset.scalars.reduce(0.0) { $0 + Double($1) }
    #expect(Swift.abs(Double(offsetSum) - offsetExact) <= 1.5 * Double(offsetSum.ulp))
  }

  @Test("A long sum's order depends on the elements' positions, not on how they are blocked")
  func laneSumsBlocking() {
    var rng = SeededGenerator(seed: 6)
    let count = 5_000
    let x = Tensor<Float>(randomNormal: [count], using: &rng).scalars
    func sum(blocks: Int) -> Float {
      x.withUnsafeBufferPointer { x in
        withUnsafeTemporaryAllocation(
          of: Float.self, capacity: LaneSums<Float>.scratchCount(sums: 1)
        ) { scratch in
          var sums = LaneSums(count: count, scratch: scratch.baseAddress!, sums: 1)
          var offset = 0
          while offset < count {
            let n = Swift.min(16 * blocks, count - offset)
            sums.add(x.baseAddress! + offset, count: n, to: 0)
            offset += n
          }
          return sums.total(0)
        }
      }
    }
    let whole = sum(blocks: count)
    for blocks in [1, 3, 16, 17, 100] {
      #expect(sum(blocks: blocks).bitPattern == whole.bitPattern)
    }
  }

  @Test(
    "Sums of short runs along the last axis are sumKernel's, bit for bit",
    arguments: [1, 2, 3, 16, 31, 32, 33, 100])
  func shortRunSums(length: Int) {
    var rng = SeededGenerator(seed: 7)
    let x = Tensor<Float>(randomNormal: [300, length], using: &rng)
    let sums = x.sum(alongAxes: [1]).scalars
    x.withUnsafeBufferPointer { x in
      for row in 0..<300 {
        let expected = sumKernel(x.baseAddress! + row * length, count: length)
        #expect(sums[row].bitPattern == expected.bitPattern, "row \(row)")
      }
    }
  }

  @Test(
    "A fused first-order pullback equals its recorded form (second-order sweeps) to the bit",
    arguments: ["sigmoid", "tanh", "relu", "squared"])
  func fusedEqualsComposite(_ name: String) {
    let f: (Tensor<Double>) -> Tensor<Double> =
      switch name {
      case "sigmoid": { sigmoid($0) }
      case "tanh": { tanh($0) }
      case "relu": { relu($0) }
      default: { $0.squared() }
      }
    var rng = SeededGenerator(seed: 9)
    let x = Tensor<Double>(randomNormal: [3, 7], using: &rng)
    let seed = Tensor<Double>(randomNormal: [3, 7], using: &rng)
    let tape = Tape()
    let watched = tape.watch(x)
    let y = f(watched)
    let fused = tape.gradient(of: y, wrt: [watched], seed: seed)[0]
    // A recorded seed makes every pullback take its recorded form (relu's gradient does not
    // depend on x, so with a constant seed it would not need to record).
    let composite = tape.gradient(
      of: y, wrt: [watched], seed: tape.watch(seed), createGraph: true)[0]
    #expect(composite.isRecorded)  // the second-order sweep took the recorded form
    #expect(fused.scalars == composite.scalars)
  }
}

@Suite struct BLASKernelChoiceTests {
  @Test("A generic OpenBLAS kernel set on an AVX-512 or AVX2 CPU gets a faster one; others none")
  func fasterCoreType() {
    #expect(BLAS.fasterCoreType(than: "Prescott", avx512: true, avx2: true) == "SkylakeX")
    #expect(BLAS.fasterCoreType(than: "Prescott", avx512: false, avx2: true) == "Haswell")
    #expect(BLAS.fasterCoreType(than: "Prescott", avx512: false, avx2: false) == nil)
    #expect(BLAS.fasterCoreType(than: "Haswell", avx512: true, avx2: true) == nil)
    #expect(BLAS.fasterCoreType(than: "SkylakeX", avx512: true, avx2: true) == nil)
    #expect(!BLAS.coreName.isEmpty)
  }

  @Test("Before any BLAS call the kernels in use are the upgraded ones, unless pinned")
  func kernelsInUse() {
    let pinned = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] != nil
    if let replaced = BLAS.replacedCoreName {
      #expect(!pinned)
      #expect(replaced == "Prescott")
      #expect(BLAS.coreName != replaced)
    }
    let product = matmul(
      Tensor<Double>(shape: [1, 2], scalars: [1, 2]), Tensor(shape: [2, 1], scalars: [3, 4]))
    #expect(product.scalars == [11])
  }

  @Test("Restoring OpenBLAS's own choice puts back its kernels, and the answers stay")
  func restoringLoadedKernels() async {
    await #expect(processExitsWith: .success) {
      let a = Tensor<Double>(shape: [2, 2], scalars: [1, 2, 3, 4])
      let before = matmul(a, a).scalars
      let replaced = BLAS.replacedCoreName
      let restored = BLAS.restoreLoadedKernels()
      guard restored == (replaced != nil), BLAS.replacedCoreName == nil,
        replaced == nil || BLAS.coreName == replaced, matmul(a, a).scalars == before
      else { exit(1) }
    }
  }
}

@Suite struct ParallelismTests {
  @Test("The available cores are the affinity mask's: at least one, at most the online cores")
  func availableCores() {
    let online = ProcessInfo.processInfo.activeProcessorCount
    #expect((1...max(1, online)).contains(Parallelism.availableCoreCount))
    if let limit = Parallelism.cpuLimit {
      #expect(Parallelism.availableCoreCount <= Int(limit.rounded(.up)))
    }
  }

  /// Lays out a system's cgroup files under a new directory: `files` maps paths such as
  /// "proc/self/cgroup" to their contents.
  private func system(_ files: [String: String]) throws -> URL {
    let root = FileManager.default.temporaryDirectory
      .appendingPathComponent("autodiff-cgroup-\(UUID().uuidString)")
    for (path, contents) in files {
      let file = root.appendingPathComponent(path)
      try FileManager.default.createDirectory(
        at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
      try contents.write(to: file, atomically: true, encoding: .utf8)
    }
    return root
  }

  @Test(
    "A cgroup CPU limit is the smallest quota along the hierarchy, v2 and v1, in containers too")
  func cgroupLimits() throws {
    let v2 = "30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev - cgroup2 cgroup2 rw,nsdelegate\n"
    let cases: [(String, [String: String], Double?)] = [
      // v2: the parent's 2.5 CPUs bound a child without its own limit; a child's 1.5 is lower.
      (
        "v2, the parent's limit",
        [
          "proc/self/cgroup": "0::/user.slice/app.scope\n", "proc/self/mountinfo": v2,
          "sys/fs/cgroup/user.slice/cpu.max": "250000 100000\n",
          "sys/fs/cgroup/user.slice/app.scope/cpu.max": "max 100000\n",
        ], 2.5
      ),
      (
        "v2, the child's lower limit",
        [
          "proc/self/cgroup": "0::/user.slice/app.scope\n", "proc/self/mountinfo": v2,
          "sys/fs/cgroup/user.slice/cpu.max": "250000 100000\n",
          "sys/fs/cgroup/user.slice/app.scope/cpu.max": "150000 100000\n",
        ], 1.5
      ),
      (
        "v2 in a container's cgroup namespace: the mount point is the container's cgroup",
        [
          "proc/self/cgroup": "0::/\n", "proc/self/mountinfo": v2,
          "sys/fs/cgroup/cpu.max": "200000 100000\n",
        ], 2
      ),
      (
        "v2 without a limit", ["proc/self/cgroup": "0::/\n", "proc/self/mountinfo": v2], nil
      ),
      // v1's cpu controller beside a v2 hierarchy without controllers (systemd's hybrid).
      (
        "v1, hybrid, the parent's limit",
        [
          "proc/self/cgroup": "4:memory:/docker/abc\n1:cpu,cpuacct:/docker/abc\n0::/\n",
          "proc/self/mountinfo":
            "35 25 0:30 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
            + "40 25 0:35 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
            + "41 25 0:36 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n",
          "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "-1\n",
          "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
          "sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_quota_us": "300000\n",
          "sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_period_us": "100000\n",
        ], 3
      ),
      // A container without a cgroup namespace mounts its own cgroup, named by its host path.
      (
        "v1, a container's own cgroup mounted",
        [
          "proc/self/cgroup": "3:cpuacct,cpu:/docker/abc\n",
          "proc/self/mountinfo":
            "40 25 0:35 /docker/abc /sys/fs/cgroup/cpu ro - cgroup cgroup rw,cpuacct,cpu\n",
          "sys/fs/cgroup/cpu/cpu.cfs_quota_us": "50000\n",
          "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
        ], 0.5
      ),
      // "cpuset" names a controller, not "cpu".
      (
        "v1, only cpuset",
        [
          "proc/self/cgroup": "3:cpuset:/a\n",
          "proc/self/mountinfo":
            "41 25 0:36 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n",
          "sys/fs/cgroup/cpuset/a/cpu.cfs_quota_us": "50000\n",
          "sys/fs/cgroup/cpuset/a/cpu.cfs_period_us": "100000\n",
        ], nil
      ),
      ("no cgroup files", [:], nil),
    ]
    for (name, files, expected) in cases {
      let root = try system(files)
      defer { try? FileManager.default.removeItem(at: root) }
      #expect(cgroupCPULimit(root: root.path) == expected, "\(name)")
    }
  }

  @Test("A CPU limit allows its CPUs rounded up, at least one thread")
  func cgroupCores() {
    #expect([0.5, 1, 1.5, 2.0000000001, 16].map(cgroupCoreCount) == [1, 1, 2, 2, 16])
  }

  @Test("Any thread count computes the same bits, and 1 turns the splitting off")
  func threadCountKeepsResults() async {
    // In a child process: the count is process-wide, and other suites run in parallel.
    await #expect(processExitsWith: .success) {
      var rng = SeededGenerator(seed: 7)
      let x = Tensor<Float>(randomUniform: [1 << 18], in: -2..<2, using: &rng)
      let (value, slope) = valueWithGradient(at: x) { (sigmoid($0) * $0).sum() }
      let original = Parallelism.threadCount
      Parallelism.threadCount = 1
      let (one, slopeOne) = valueWithGradient(at: x) { (sigmoid($0) * $0).sum() }
      Parallelism.threadCount = 3
      let (three, slopeThree) = valueWithGradient(at: x) { (sigmoid($0) * $0).sum() }
      Parallelism.threadCount = original
      guard Parallelism.threadCount == original, value.scalars == one.scalars,
        value.scalars == three.scalars, slope.scalars == slopeOne.scalars,
        slope.scalars == slopeThree.scalars
      else { exit(1) }
    }
  }

  @Test("Reductions, broadcasts, transposes and bias rows split across threads give the same bits")
  func splitKernelsKeepBits() async {
    await #expect(processExitsWith: .success) {
      var rng = SeededGenerator(seed: 11)
      let x = Tensor<Float>(randomUniform: [512, 1024], in: -1..<1, using: &rng)
      let b = Tensor<Float>(randomUniform: [1024], in: -1..<1, using: &rng)
      let w = Tensor<Float>(randomUniform: [16, 1024], in: -1..<1, using: &rng)
      let column = Tensor<Float>(randomUniform: [512, 1], in: -1..<1, using: &rng)
      let cube = Tensor<Double>(randomUniform: [64, 96, 40], in: -1..<1, using: &rng)
      func results() -> [[Double]] {
        let float: [Tensor<Float>] = [
          x.sum(alongAxes: [0]), x.sum(alongAxes: [1]), x.max(alongAxes: [0]),
          x.max(alongAxes: [1]), x + b, x * column, x.transposed(),
          matmul(w, x.transposed(), plus: Tensor(zeros: [512])), x.mean(alongAxes: [0, 1]),
          x.cumulativeSum(alongAxis: 1), x.cumulativeSum(alongAxis: 0),
          Tensor(cube),
        ]
        let double: [Tensor<Double>] = [
          cube.sum(alongAxes: [1]), cube.sum(alongAxes: [0, 2]), cube.max(alongAxes: [2]),
          cube.transposed(permutation: [2, 0, 1]), Tensor(x),
        ]
        return float.map { $0.scalars.map(Double.init) } + double.map(\.scalars)
      }
      Parallelism.threadCount = 1
      let serial = results()
      // The column sums against plain loops in the same order: four blocks of 128 rows, each
      // in row order, added pairwise.
      let elements = x.scalars
      let columnSums = (0..<1024).map { j in
        let blocks = (0..<4).map { block in
          (block * 128..<(block * 128 + 128)).reduce(Float(0)) { $0 + elements[$1 * 1024 + j] }
        }
        return (blocks[0] + blocks[1]) + (blocks[2] + blocks[3])
      }
      guard serial[0] == columnSums.map(Double.init) else { exit(2) }
      for threads in [2, 3, 8] {
        Parallelism.threadCount = threads
        guard results() == serial else { exit(Int32(threads)) }
      }
    }
  }

  @Test(
    "Slicing, concatenation, gathers and their pullbacks split across threads give the same bits")
  func splitMovementKeepsBits() async {
    await #expect(processExitsWith: .success) {
      var rng = SeededGenerator(seed: 13)
      // Copies split from 2²⁰ elements a thread: these are large enough for two and more.
      let x = Tensor<Float>(randomUniform: [2048, 1100], in: -1..<1, using: &rng)
      let y = Tensor<Float>(randomUniform: [2048, 256], in: -1..<1, using: &rng)
      let long = Tensor<Double>(randomUniform: [3, 1_000_000], in: -1..<1, using: &rng)
      // Rows picked twice and out of order: their gradients add up.
      let rows = (0..<2800).map { ($0 * 37) % 2048 }
      func results() -> [[Double]] {
        let float: [Tensor<Float>] = [
          x[10..<2040], x[.all, 2..<1098], x[.all, 3],
          Tensor(concatenating: [x, y], alongAxis: 1),
          Tensor(concatenating: [x, x], alongAxis: 0), x.gathering(atIndices: rows),
          x.gathering(atIndices: Array(0..<1100).reversed(), alongAxis: 1),
          gradient(at: x) { ($0.gathering(atIndices: rows) * $0[0..<1]).sum() },
          gradient(at: x) { ($0[.all, 2..<1098] * 2).sum() },
          gradient(at: x) { $0[.all, 3].sum() },
        ]
        let double: [Tensor<Double>] = [
          long[.all, 1..<999_999], Tensor(concatenating: [long, long], alongAxis: 1),
          gradient(at: long) { ($0[.all, 7..<900_000] * $0[.all, 8..<900_001]).sum() },
        ]
        return float.map { $0.scalars.map(Double.init) } + double.map(\.scalars)
      }
      Parallelism.threadCount = 1
      let serial = results()
      // Against plain loops: a column slice, and the gather's gradient (row counts times the
      // first row, plus the first row's own term).
      let elements = x.scalars
      let slice = (0..<2048).flatMap { r in (2..<1098).map { elements[r * 1100 + $0] } }
      guard serial[1] == slice.map(Double.init) else { exit(2) }
      var counts = [Float](repeating: 0, count: 2048)
      for row in rows { counts[row] += 1 }
      let gatherGradient = serial[7]
      for r in [1, 100, 2047] {
        for c in [0, 513, 1099] where r != 0 {
          guard gatherGradient[r * 1100 + c] == Double(counts[r] * elements[c]) else { exit(3) }
        }
      }
      for threads in [2, 3, 8] {
        Parallelism.threadCount = threads
        guard results() == serial else { exit(Int32(10 + threads)) }
      }
    }
  }

  @Test("A thread count below 1 stops with a message")
  func threadCountBelowOne() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      Parallelism.threadCount = 0
    }
    expectMessage(result, contains: ["Parallelism.threadCount: 0; it must be at least 1"])
  }
}
