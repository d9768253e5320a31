import AutodiffDistributed
import Testing

@Suite struct ShardingTests {
  @Test(
    "The ranks' shares cover a batch in order, without overlap, differing by at most one row",
    arguments: [1, 2, 3, 4, 7], [0, 1, 2, 5, 7, 128, 129])
  func sharesPartitionTheBatch(size: Int, count: Int) {
    let ranges = (0..<size).map { MPIContext.shardRange(ofBatchOf: count, rank: $0, size: size) }
    #expect(ranges.first?.lowerBound == 0)
    #expect(ranges.last?.upperBound == count)
    for (previous, next) in zip(ranges, ranges.dropFirst()) {
      #expect(previous.upperBound == next.lowerBound)
    }
    let counts = ranges.map(\.count)
    #expect(counts.max()! - counts.min()! <= 1)
  }

  @Test("Batches of 7 on 2 ranks split 3 and 4; a batch of 1 leaves rank 0 nothing")
  func unevenShares() {
    #expect(MPIContext.shardRange(ofBatchOf: 7, rank: 0, size: 2) == 0..<3)
    #expect(MPIContext.shardRange(ofBatchOf: 7, rank: 1, size: 2) == 3..<7)
    #expect(MPIContext.shardRange(ofBatchOf: 1, rank: 0, size: 2).isEmpty)
    #expect(MPIContext.shardRange(ofBatchOf: 1, rank: 1, size: 2) == 0..<1)
  }

  @Test("A mismatch names the field and groups the ranks by value")
  func mismatchMessage() {
    let mismatch = ConfigurationMismatch(field: "seed", valuesByRank: ["42", "7", "42", nil])
    #expect(
      mismatch.description == "seed differs across ranks: 42 on ranks 0, 2; 7 on rank 1; "
        + "(not given) on rank 3")
    let error = DistributedError.configurationMismatch([mismatch])
    #expect(error.description.hasPrefix("seed differs across ranks"))
    #expect(error.description.contains("same options and data"))
  }
}
