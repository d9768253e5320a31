import Foundation

extension MPIContext {
  /// Checks that every rank runs with the same configuration, and throws on every rank when not.
  ///
  /// Data parallelism only works when the ranks build the same model from the same seed and
  /// split the same batches: ranks that differ would exchange gradients of different shapes
  /// (which stalls or corrupts the job) or silently train different things. Call it once at
  /// start, on every rank, with the fields that must match:
  ///
  /// ```swift
  /// try context.requireAgreement(on: [
  ///   "model": model.parameterShapesDescription, "seed": "\(seed)", "batch size": "\(batch)",
  /// ])
  /// ```
  ///
  /// Every rank learns every rank's fields (one allgather), so on a mismatch every rank throws
  /// the same error, naming each field that differs and each rank's value:
  /// `batch size differs across ranks: 128 on rank 0; 64 on rank 1`.
  ///
  /// - Parameter configuration: Named values, compared as text, in the same order on every rank.
  /// - Throws: ``DistributedError/configurationMismatch(_:)`` on every rank when some field's
  ///   value differs between ranks or is missing on some.
  /// - Complexity: Three collectives (the check that every rank calls it, the lengths, then
  ///   the fields).
  public func requireAgreement(
    on configuration: KeyValuePairs<String, String>
  ) throws(DistributedError) {
    requireSameCall(.requireAgreement)
    let differences = mismatches(among: configuration.map { ($0.key, $0.value) })
    if !differences.isEmpty { throw .configurationMismatch(differences) }
  }

  /// The fields whose values differ between ranks, or are missing on some, with every rank's
  /// value: every rank learns every rank's `fields` (one allgather, unchecked: the caller knows
  /// every rank calls it).
  func mismatches(among fields: [(String, String)]) -> [ConfigurationMismatch] {
    let encoded = (try? JSONEncoder().encode(fields.map { [$0.0, $0.1] }))
      .map { String(decoding: $0, as: UTF8.self) }
    let everyone = gather(encoded ?? "[]").map { text -> [(String, String)] in
      let decoded = (try? JSONDecoder().decode([[String]].self, from: Data(text.utf8))) ?? []
      return decoded.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }
    }
    // Field names in first appearance order, rank 0's first.
    var names: [String] = []
    for rankFields in everyone {
      for (name, _) in rankFields where !names.contains(name) { names.append(name) }
    }
    var mismatches: [ConfigurationMismatch] = []
    for name in names {
      let values = everyone.map { rankFields in rankFields.first { $0.0 == name }?.1 }
      if Set(values).count > 1 {
        mismatches.append(ConfigurationMismatch(field: name, valuesByRank: values))
      }
    }
    return mismatches
  }
}

/// A failure that the ranks of a job detect together, so that each can stop with the same
/// message.
public enum DistributedError: Error, Equatable, CustomStringConvertible {
  /// The ranks' configurations differ: each element names a field and every rank's value.
  case configurationMismatch([ConfigurationMismatch])

  /// What went wrong and what to do about it, the same on every rank.
  public var description: String {
    switch self {
    case .configurationMismatch(let mismatches):
      mismatches.map(\.description).joined(separator: "\n")
        + "\nEvery rank must run the same program with the same options and data."
    }
  }
}

/// One configuration field whose value differs between ranks.
public struct ConfigurationMismatch: Equatable, Sendable, CustomStringConvertible {
  /// The field's name, as given to ``MPIContext/requireAgreement(on:)``.
  public var field: String

  /// Each rank's value, indexed by rank; `nil` where the rank did not give the field.
  public var valuesByRank: [String?]

  /// Creates a mismatch of `field` with each rank's value.
  public init(field: String, valuesByRank: [String?]) {
    self.field = field
    self.valuesByRank = valuesByRank
  }

  /// `seed differs across ranks: 42 on ranks 0, 2; 7 on rank 1`: the ranks grouped by value,
  /// in the order values first appear.
  public var description: String {
    var groups: [(value: String?, ranks: [Int])] = []
    for (rank, value) in valuesByRank.enumerated() {
      if let index = groups.firstIndex(where: { $0.value == value }) {
        groups[index].ranks.append(rank)
      } else {
        groups.append((value, [rank]))
      }
    }
    let parts = groups.map { group in
      let ranks =
        group.ranks.prefix(8).map(String.init).joined(separator: ", ")
        + (group.ranks.count > 8 ? " and \(group.ranks.count - 8) more" : "")
      return "\(group.value ?? "(not given)") on rank\(group.ranks.count > 1 ? "s" : "") \(ranks)"
    }
    return "\(field) differs across ranks: " + parts.joined(separator: "; ")
  }
}
