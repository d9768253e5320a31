/// Reports, during a backward sweep, each source's gradient as soon as it is final: once the
/// sweep has passed the lowest node that reads the source, no contribution can reach it any more.
///
/// Data-parallel training starts reducing the last layer's gradients across processes while the
/// sweep still works on the first layers (AutodiffDistributed), as PyTorch's
/// DistributedDataParallel does from its gradient-accumulation hooks.
final class SweepWatcher<Scalar: TensorScalar> {
  /// The sources' node indices, with the index of the lowest node that reads each (`-1` when no
  /// node between the source and the target does), highest first: the order they become final.
  private var schedule: [(node: Int, position: Int, lastReader: Int)] = []
  /// How many entries of `schedule` have been reported.
  private var reported = 0
  private var isReported: [Bool]
  private let ready: (Int, Tensor<Scalar>) -> Void
  private let afterEachNode: (() -> Void)?

  /// A watcher that calls `ready(position, gradient)` once for each source, and
  /// `afterEachNode` (if any) after each node the sweep visits.
  init(
    sourceCount: Int, ready: @escaping (Int, Tensor<Scalar>) -> Void,
    afterEachNode: (() -> Void)?
  ) {
    isReported = Array(repeating: false, count: sourceCount)
    self.ready = ready
    self.afterEachNode = afterEachNode
  }

  /// Plans the reports of a sweep over `tape` from `target` down to `base`: `sourceNodes[p]` is
  /// the node of source `p`.
  func plan(tape: Tape, sourceNodes: [Int], base: Int, target: Int) {
    var lastReader = [Int: Int]()
    for (position, node) in sourceNodes.enumerated() where node <= target && !isReported[position] {
      lastReader[node] = -1
    }
    if !lastReader.isEmpty {
      for index in stride(from: target, to: base, by: -1) {
        for case let input? in tape.inputNodes(of: index) where lastReader[input] != nil {
          lastReader[input] = index
        }
      }
    }
    schedule = sourceNodes.enumerated().compactMap { position, node in
      lastReader[node].map { (node, position, $0) }
    }
    schedule.sort { $0.lastReader > $1.lastReader }
    reported = 0
  }

  /// Reports the sources whose gradients are final before the sweep visits node `index`.
  @inline(__always)
  func willVisit(_ index: Int, in sweep: Sweep<Scalar>) {
    while reported < schedule.count, schedule[reported].lastReader > index {
      report(schedule[reported], in: sweep)
      reported += 1
    }
  }

  /// Called after the sweep visited a node.
  @inline(__always)
  func didVisit() { afterEachNode?() }

  /// Reports every source not reported yet, from the finished sweep.
  func sweepDidEnd(_ sweep: Sweep<Scalar>) {
    while reported < schedule.count {
      report(schedule[reported], in: sweep)
      reported += 1
    }
  }

  /// Reports the sources not reported by a sweep (none ran, or they lie outside it), with the
  /// final `gradients` of all sources.
  func finish(with gradients: [Tensor<Scalar>]) {
    for position in gradients.indices where !isReported[position] {
      isReported[position] = true
      ready(position, gradients[position])
    }
  }

  private func report(_ entry: (node: Int, position: Int, lastReader: Int), in sweep: Sweep<Scalar>)
  {
    guard !isReported[entry.position], let gradient = sweep.gradient(at: entry.node) else {
      return
    }
    gradient.storage.materialize()
    isReported[entry.position] = true
    ready(entry.position, gradient)
  }
}
