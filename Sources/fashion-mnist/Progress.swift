import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Shows how an epoch goes: on a terminal, a live bar with batches per second and the running
/// loss, redrawn in place; otherwise (a log file, CI) nothing until the epoch's summary line.
struct Progress {
  let epoch: Int
  let epochs: Int
  let steps: Int
  private var done = 0
  private let start = Date()
  private var lastDraw = Date.distantPast
  private let isTerminal: Bool

  /// `live: false` prints only the summary lines even on a terminal: under mpirun, standard
  /// output is a terminal of mpirun's making whatever mpirun's own output is.
  init(epoch: Int, of epochs: Int, steps: Int, live: Bool = true) {
    self.epoch = epoch
    self.epochs = epochs
    self.steps = steps
    self.isTerminal = live && isatty(STDOUT_FILENO) == 1
  }

  /// Records one finished batch; redraws the bar at most ten times a second.
  mutating func advance(loss: Double) {
    done += 1
    guard isTerminal, done == steps || Date().timeIntervalSince(lastDraw) >= 0.1 else { return }
    lastDraw = Date()
    let width = 30
    let filled = width * done / steps
    let rate = Double(done) / max(Date().timeIntervalSince(start), 1e-9)
    let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
    print(
      "\r\u{1B}[2Kepoch \(epoch)/\(epochs) \(bar) \(done)/\(steps) "
        + "\(String(format: "%.0f", rate)) batches/s  loss \(String(format: "%.4f", loss))",
      terminator: "")
    fflush(nil)  // All output streams: `stdout` itself is not concurrency-safe to name.
  }

  /// Replaces the bar with the epoch's summary line.
  func finish(_ record: EpochRecord) {
    if isTerminal { print("\r\u{1B}[2K", terminator: "") }
    print(
      "epoch \(epoch)/\(epochs)  train loss \(String(format: "%.4f", record.trainingLoss))  "
        + "test accuracy \(String(format: "%.4f", record.testAccuracy))  "
        + "\(String(format: "%.2f", record.seconds)) s")
    fflush(nil)  // One line per epoch reaches a log file as the epoch ends, not at exit.
  }
}
