internal import Foundation

// What a tape holds: how many operations of each kind, how many bytes of tensors it keeps alive,
// which nodes keep the most; and a monitor that warns when the tapes of successive training
// steps keep growing.

/// A summary of what a tape has recorded and what memory it keeps alive.
///
/// A node keeps its output and its operands' values (the pullback reads them); one buffer is
/// often shared by several nodes (an output is the next operation's operand; `reshaped(to:)`
/// shares its operand's buffer), so every buffer is counted once, for the first node that holds
/// it. Values that a `customOperation` pullback captures itself are not seen.
public struct TapeStatistics: CustomStringConvertible, Sendable {
  /// One node and the bytes it holds that no earlier node holds.
  public struct NodeSize: Sendable, Equatable {
    /// The node's index on the tape, as in graphs and anomaly messages.
    public var index: Int
    /// The operation's name: `"matmul"`, `"watch"`.
    public var name: String
    /// The output's shape.
    public var shape: [Int]
    /// The bytes of the buffers this node holds that no earlier node holds.
    public var bytes: Int
    /// The call site, when known (see ``Tape/capturesCallSites``).
    public var callSite: String?
  }

  /// The number of nodes: recorded operations and watched tensors.
  public var nodeCount: Int
  /// How many nodes each operation has, by name (`"watch"` for watched tensors).
  public var countsByOperation: [String: Int]
  /// The bytes of element storage the tape keeps alive, each buffer counted once.
  public var savedBytes: Int
  /// The number of distinct buffers the tape keeps alive. An operation on scalars keeps its
  /// numbers in the tape itself, not in a buffer: they count in `savedBytes` only.
  public var bufferCount: Int
  /// The nodes that hold the most bytes, largest first (ties by index).
  public var largestNodes: [NodeSize]

  /// A table: totals, then operation counts (most frequent first), then the largest nodes.
  public var description: String {
    var lines = [
      "\(nodeCount) nodes, \(bufferCount) buffers, \(byteDescription(savedBytes)) saved"
    ]
    for (name, count) in countsByOperation.sorted(by: { ($1.value, $0.key) < ($0.value, $1.key) }) {
      lines.append("  \(name): \(count)")
    }
    if !largestNodes.isEmpty {
      lines.append("largest nodes:")
      for node in largestNodes {
        lines.append(
          "  #\(node.index) \(node.name) \(node.shape.shapeDescription): "
            + byteDescription(node.bytes) + (node.callSite.map { " at \($0)" } ?? ""))
      }
    }
    return lines.joined(separator: "\n")
  }
}

extension Tape {
  /// What this tape has recorded and the memory it keeps alive, with the 5 largest nodes.
  ///
  /// See ``statistics(largest:)``.
  public var statistics: TapeStatistics { statistics(largest: 5) }

  /// What this tape has recorded and the memory it keeps alive.
  ///
  /// ```swift
  /// print(tape.statistics(largest: 3))
  /// // 9 nodes, 9 buffers, 1.6 KB saved
  /// //   matmul: 2
  /// //   ...
  /// ```
  ///
  /// - Parameter largest: How many of the nodes that hold the most bytes to list.
  /// - Complexity: O(nodes + operands).
  public func statistics(largest: Int) -> TapeStatistics {
    exclusively("reading statistics") { unguardedStatistics(largest: largest) }
  }

  private func unguardedStatistics(largest: Int) -> TapeStatistics {
    var counts: [String: Int] = [:]
    var seen = Set<ObjectIdentifier>()
    var total = 0
    var sizes: [TapeStatistics.NodeSize] = []
    for index in entries.indices {
      let node = inspectableNode(index)
      counts["\(node.name)", default: 0] += 1
      var bytes = 0
      if case .scalar(let position) = entries[index] {
        // A scalar record keeps its numbers itself, in no buffer (its node was made for the look).
        let scalarSize =
          holdsScalarRecords(of: Float.self)
          ? MemoryLayout<Float>.stride : MemoryLayout<Double>.stride
        bytes = (Int(scalarRecords[position].operandCount) + 1) * scalarSize
      } else {
        for buffer in node.heldBuffers where seen.insert(buffer.id).inserted {
          bytes += buffer.bytes
        }
      }
      total += bytes
      sizes.append(
        .init(
          index: index, name: "\(node.name)", shape: node.outputShape, bytes: bytes,
          callSite: nil))
    }
    var largestNodes = Array(
      sizes.sorted { ($0.bytes, $1.index) > ($1.bytes, $0.index) }.prefix(Swift.max(0, largest)))
    for position in largestNodes.indices {
      largestNodes[position].callSite = callSite(ofNode: largestNodes[position].index)
    }
    return TapeStatistics(
      nodeCount: entries.count, countsByOperation: counts, savedBytes: total,
      bufferCount: seen.count, largestNodes: largestNodes)
  }
}

/// `512 B`, `1.5 KB`, `12.3 MB` (powers of 1024).
func byteDescription(_ bytes: Int) -> String {
  let units = ["B", "KB", "MB", "GB", "TB"]
  var value = Double(bytes)
  var unit = 0
  while value >= 1024, unit < units.count - 1 {
    value /= 1024
    unit += 1
  }
  return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

// MARK: - Growth across training steps

/// A warning that the tapes of successive training steps keep growing.
public struct TapeGrowthWarning: CustomStringConvertible, Sendable, Equatable {
  /// The node counts of the observed steps, oldest first, ending with the last observation.
  public var nodeCounts: [Int]
  /// The saved bytes of the same steps.
  public var savedBytes: [Int]
  /// Whether every one of those steps was recorded on the same tape.
  public var isSameTape: Bool

  public var description: String {
    let counts = nodeCounts.map(String.init).joined(separator: " → ")
    let growth =
      "the tape has grown at each of the last \(nodeCounts.count - 1) steps: \(counts) nodes, "
      + "\(byteDescription(savedBytes.last ?? 0)) saved"
    if isSameTape {
      return
        "tape growth: \(growth). The same tape is recording step after step, so it keeps every "
        + "step's operations and values; record each step on a new Tape (or use "
        + "gradient(at:of:)), and its memory is freed with it."
    }
    return
      "tape growth: \(growth). Each step records more than the one before: something carries a "
      + "recorded computation from step to step (a running total or a state that stays "
      + "recorded); carry values with withoutDerivative(at:) instead."
  }
}

/// Watches the tape of each training step and warns when the tapes keep growing.
///
/// A training loop records the same computation at every step, so its tapes should all have the
/// same size. A tape that grows from step to step is a leak: one tape reused across steps (it
/// keeps every step's values), or a recorded value carried into the next step's computation.
/// Call ``observe(_:)`` once per step with the step's tape:
///
/// ```swift
/// var monitor = TapeGrowthMonitor()
/// for batch in batches {
///   let tape = Tape()
///   // ... record the step on `tape`, take gradients, update ...
///   monitor.observe(tape)
/// }
/// ```
///
/// After `patience` steps in a row that each recorded more nodes than the step before, the
/// monitor reports a ``TapeGrowthWarning`` to its handler (by default, standard error); it then
/// stays quiet until the tape has doubled again.
public struct TapeGrowthMonitor {
  /// How many consecutive growing steps make a warning.
  public let patience: Int
  private let handler: (TapeGrowthWarning) -> Void
  private var history: [Observation] = []
  private var warnedAt: Int?

  /// The warnings reported so far.
  public private(set) var warnings: [TapeGrowthWarning] = []

  /// Creates a monitor.
  ///
  /// - Parameters:
  ///   - patience: How many consecutive steps must each record more nodes than the step before.
  ///   - handler: What to do with a warning; `nil` (the default) prints it to standard error.
  /// - Precondition: `patience >= 1`.
  public init(
    patience: Int = 3,
    handler: ((TapeGrowthWarning) -> Void)? = nil
  ) {
    check(patience >= 1, "TapeGrowthMonitor: patience \(patience) must be at least 1")
    self.patience = patience
    self.handler =
      handler ?? { warning in FileHandle.standardError.write(Data("\(warning)\n".utf8)) }
  }

  /// Records the size of this step's tape, and warns when the tapes keep growing.
  ///
  /// - Returns: The warning reported for this step, if any.
  @discardableResult
  public mutating func observe(_ tape: Tape) -> TapeGrowthWarning? {
    let statistics = tape.statistics(largest: 0)
    history.append(
      Observation(tape: tape, nodes: statistics.nodeCount, bytes: statistics.savedBytes))
    if history.count > patience + 1 { history.removeFirst() }
    guard history.count == patience + 1,
      zip(history, history.dropFirst()).allSatisfy({ $0.nodes < $1.nodes })
    else { return nil }
    let nodes = statistics.nodeCount
    if let warnedAt, nodes < 2 * warnedAt { return nil }
    warnedAt = nodes
    let warning = TapeGrowthWarning(
      nodeCounts: history.map(\.nodes), savedBytes: history.map(\.bytes),
      isSameTape: history.allSatisfy { $0.tape === tape })
    warnings.append(warning)
    handler(warning)
    return warning
  }

  /// One step's tape, held weakly: a tape freed since cannot be the one observed now (while its
  /// address, and so its `ObjectIdentifier`, may be reused).
  private struct Observation {
    weak var tape: Tape?
    var nodes: Int
    var bytes: Int
  }
}
