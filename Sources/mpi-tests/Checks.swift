// The checks of a scenario, made on every rank and reported by rank 0.

import AutodiffDistributed
import Foundation

/// Checks made on every rank, reported by rank 0 once every rank's findings are in.
struct Checks {
  let context: MPIContext
  private var results: [(name: String, failure: String?)] = []

  init(context: MPIContext) { self.context = context }

  mutating func expect(_ name: String, _ condition: Bool, _ failure: @autoclosure () -> String) {
    results.append((name, condition ? nil : failure()))
  }

  /// Prints the results on rank 0 (a check fails if it failed on any rank), finalizes MPI, and
  /// exits with status 1 on every rank if any check failed.
  func finish() -> Never {
    let mine = results.map { $0.failure.map { "rank \(context.rank): \($0)" } ?? "" }
    let everyone = context.allgather(mine.joined(separator: "\u{1E}"))
      .map { $0.split(separator: "\u{1E}", omittingEmptySubsequences: false).map(String.init) }
    var failed = 0
    for (index, result) in results.enumerated() {
      let failures = everyone.compactMap {
        index < $0.count && !$0[index].isEmpty ? $0[index] : nil
      }
      if failures.isEmpty {
        if context.isRoot { print("PASS \(result.name)") }
      } else {
        failed += 1
        if context.isRoot { print("FAIL \(result.name): \(failures.joined(separator: "; "))") }
      }
    }
    if context.isRoot { print("mpi-tests: \(results.count - failed) passed, \(failed) failed") }
    fflush(nil)
    context.finalize()
    exit(failed == 0 ? 0 : 1)
  }
}
