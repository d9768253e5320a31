internal import Synchronization

// Running a compiled program over blocks of elements, on several threads when there is
// enough work.

extension FusedProgram {
  /// Elements per register.
  private var blockCount: Int { Fusion.blockByteCount / MemoryLayout<Scalar>.stride }

  /// Computes the roots, on several threads when there is enough work.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func run() {
    withExtendedLifetime(inputs) {
      if sums.isEmpty {
        runBlocks(count: count)
      } else {
        runChunks(count: count)
      }
    }
  }

  /// Runs the blocks of consecutive ranges on the threads, for a program without sums.
  private func runBlocks(count: Int) {
    let grain = transcendental || instructions.count > 4 ? transcendentalGrain : elementwiseGrain
    forEachRange(count: count, grain: grain) { range in
      withScratch { scratch in
        var offset = range.lowerBound
        while offset < range.upperBound {
          let n = Swift.min(blockCount, range.upperBound - offset)
          runBlock(at: offset, count: n, scratch)
          offset += n
        }
      }
    }
  }

  /// Runs the blocks chunk by chunk, each chunk's on one thread, so that each sum adds its
  /// elements in the chunks and lanes of `sumKernel` and gets its value to the bit.
  private func runChunks(count: Int) {
    let sumCount = sums.count
    let chunks = Swift.max(1, (count + sumChunkCount - 1) / sumChunkCount)
    withUnsafeTemporaryAllocation(of: Scalar.self, capacity: chunks * sumCount) { totals in
      let totals = totals.baseAddress!
      forEachRange(count: chunks, grain: 1, alignment: 1) { range in
        withScratch { scratch in
          for chunk in range {
            let start = chunk * sumChunkCount
            let end = Swift.min(count, start + sumChunkCount)
            var lanes = LaneSums(count: end - start, scratch: scratch.lanes, sums: sumCount)
            var offset = start
            while offset < end {
              let n = Swift.min(blockCount, end - offset)
              runBlock(at: offset, count: n, scratch)
              for (k, sum) in sums.enumerated() {
                var (elements, stride) = address(sum.operand, offset, scratch)
                if stride == 0 {
                  // A sum of an expression that folded to a constant adds the constant's copies.
                  scratch.block.update(repeating: elements.pointee, count: n)
                  elements = UnsafePointer(scratch.block)
                }
                lanes.add(elements, count: n, to: k)
              }
              offset += n
            }
            for k in 0..<sumCount { totals[chunk * sumCount + k] = lanes.total(k) }
          }
        }
      }
      for (k, sum) in sums.enumerated() {
        sum.result.pointee = pairwiseSum(totals + k, count: chunks, stride: sumCount)
      }
    }
  }

  /// A thread's scratch memory: the registers, the constants, the sums' lanes, and a block for
  /// a constant that a sum adds.
  private struct Scratch {
    let registers: UnsafeMutablePointer<Scalar>
    let constants: UnsafePointer<Scalar>
    let lanes: UnsafeMutablePointer<Scalar>
    let block: UnsafeMutablePointer<Scalar>
  }

  private func withScratch<R>(_ body: (Scratch) -> R) -> R {
    let registerElements = registerCount * blockCount
    let laneElements = LaneSums<Scalar>.scratchCount(sums: sums.count)
    let blockElements = sums.isEmpty ? 0 : blockCount
    let total = registerElements + blockElements + constants.count + laneElements
    let memory = UnsafeMutableRawPointer.allocate(
      byteCount: Swift.max(1, total) * MemoryLayout<Scalar>.stride, alignment: 64
    ).bindMemory(to: Scalar.self, capacity: total)
    defer { memory.deallocate() }
    let constantsStart = memory + registerElements + blockElements
    for (index, value) in constants.enumerated() { (constantsStart + index).initialize(to: value) }
    return body(
      Scratch(
        registers: memory, constants: UnsafePointer(constantsStart),
        lanes: constantsStart + constants.count, block: memory + registerElements))
  }

  /// Where `source`'s elements for the block at `offset` are, and their stride (0 for a
  /// constant).
  @inline(__always)
  private func address(_ source: Source, _ offset: Int, _ scratch: Scratch)
    -> (UnsafePointer<Scalar>, stride: Int)
  {
    switch source {
    case .register(let r): (UnsafePointer(scratch.registers + r * blockCount), 1)
    case .elements(let start): (start + offset, 1)
    case .output(let o): (UnsafePointer(outputs[o].elements + offset), 1)
    case .constant(let index): (scratch.constants + index, 0)
    }
  }

  /// Runs every instruction on the `n` elements from `offset`, then fills the outputs that no
  /// instruction writes.
  @inline(__always)
  private func runBlock(at offset: Int, count n: Int, _ scratch: Scratch) {
    for instruction in instructions {
      let target =
        switch instruction.target {
        case .register(let r): scratch.registers + r * blockCount
        case .output(let o): outputs[o].elements + offset
        }
      switch instruction.step {
      case .unary(let function, let a):
        unaryLoop(
          function, UnsafeBufferPointer(start: address(a, offset, scratch).0, count: n),
          UnsafeMutableBufferPointer(start: target, count: n))
      case .binary(let function, let a, let b):
        let (x, y) = (address(a, offset, scratch), address(b, offset, scratch))
        binaryLoop(function, x.0, x.stride, y.0, y.stride, target, n)
      }
    }
    for output in outputs {
      guard let copy = output.copy else { continue }
      let (source, stride) = address(copy, offset, scratch)
      let target = output.elements + offset
      if stride == 0 {
        target.update(repeating: source.pointee, count: n)
      } else {
        target.update(from: source, count: n)
      }
    }
  }
}
