import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Shows how an epoch goes. On a terminal: a live line (bar, batches done, running loss and
/// accuracy, throughput, time left in the epoch and in the run), redrawn in place at most ten
/// times a second and cut to the terminal's width; then the epoch's row of the results table.
/// Elsewhere (a log file, CI, mpirun): only the rows, one line per epoch, no control codes.
struct Progress {
  let epoch: Int
  let epochs: Int
  let steps: Int
  private var done = 0
  private var processed = 0
  private let start = Date()
  private var lastDraw = Date.distantPast
  private let isLive: Bool

  /// `live: false` prints only the rows even on a terminal: under mpirun, standard output is a
  /// terminal of mpirun's making whatever mpirun's own output is.
  init(epoch: Int, of epochs: Int, steps: Int, live: Bool = true) {
    self.epoch = epoch
    self.epochs = epochs
    self.steps = steps
    self.isLive = live && isatty(STDOUT_FILENO) == 1
  }

  /// Records one finished batch of `size` examples; redraws the line at most ten times a second.
  mutating func advance(size: Int, loss: Double, accuracy: Double) {
    done += 1
    processed += size
    guard isLive, done == steps || Date().timeIntervalSince(lastDraw) >= 0.1 else { return }
    lastDraw = Date()
    let line = ProgressLine(
      epoch: epoch, epochs: epochs, done: done, steps: steps, processed: processed,
      elapsed: Date().timeIntervalSince(start), loss: loss, accuracy: accuracy)
    print("\r" + line.text(width: terminalColumns() - 1) + "\u{1B}[K", terminator: "")
    fflush(nil)  // All output streams: `stdout` itself is not concurrency-safe to name.
  }

  /// Replaces the live line with the epoch's row of the results table.
  func finish(_ record: EpochRecord) {
    if isLive { print("\r\u{1B}[K", terminator: "") }
    print(ResultsTable.row(epoch: epoch, of: epochs, record))
    fflush(nil)  // One line per epoch reaches a log file as the epoch ends, not at exit.
  }
}

/// The columns of a terminal on standard output: the kernel's window size (TIOCGWINSZ), else
/// `COLUMNS`, else 80.
func terminalColumns() -> Int {
  var size = winsize()
  if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 {
    return Int(size.ws_col)
  }
  if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns > 0 {
    return columns
  }
  return 80
}

/// The live line of an epoch in progress, fitted to a width.
struct ProgressLine {
  var epoch: Int
  var epochs: Int
  var done: Int
  var steps: Int
  var processed: Int
  var elapsed: Double
  var loss: Double
  var accuracy: Double

  /// The line in at most `width` columns (one character each): the epoch, the bar, the batches,
  /// the running loss and accuracy, examples per second, and the time left in the epoch and in
  /// the run. Where they do not fit, the run's time left goes first, then the throughput, the
  /// accuracy, the epoch's time left and the loss; the bar takes what space is left, if enough.
  func text(width: Int) -> String {
    let stepsPerSecond = Double(done) / max(elapsed, 1e-9)
    let epochLeft = Double(steps - done) / stepsPerSecond
    let runLeft = epochLeft + Double((epochs - epoch) * steps) / stepsPerSecond
    let counter = padded(done, toWidthOf: steps) + "/\(steps)"
    // In the order shown; `rank` is the order in which they are dropped, highest first.
    var parts: [(text: String, rank: Int)] = [
      ("loss " + String(format: "%.4f", loss), 1),
      ("acc " + String(format: "%.4f", accuracy), 3),
      (rate(Double(processed) / max(elapsed, 1e-9)), 4),
      ("ETA " + duration(epochLeft), 2),
    ]
    if epoch < epochs { parts.append(("run " + duration(runLeft), 5)) }
    let head = "epoch " + padded(epoch, toWidthOf: epochs) + "/\(epochs)"
    func assembled(bar: String?) -> String {
      ([head] + (bar.map { [$0] } ?? []) + [counter] + parts.map(\.text))
        .joined(separator: "  ")
    }
    while assembled(bar: nil).count > width, let drop = parts.map(\.rank).max() {
      parts.removeAll { $0.rank == drop }
    }
    let room = width - assembled(bar: nil).count - 2
    guard room >= 10 else { return String(assembled(bar: nil).prefix(max(width, 0))) }
    let barWidth = min(room, 30)
    let filled = barWidth * done / max(steps, 1)
    return assembled(
      bar: String(repeating: "█", count: filled) + String(repeating: "░", count: barWidth - filled))
  }
}

/// The rows printed after each epoch, under a header, in aligned columns.
enum ResultsTable {
  /// The columns after the epoch's, each right-aligned to its title's width.
  private static let titles = ["train loss", "train acc", "test loss", "test acc", "lr", "time"]
  private static let widths = [10, 9, 9, 8, 8, 8]

  /// The header for a run of `epochs` epochs.
  static func header(epochs: Int) -> String {
    let epochTitle = "epoch".padding(
      toLength: max(5, 2 * String(epochs).count + 1), withPad: " ", startingAt: 0)
    return ([epochTitle] + zip(titles, widths).map { leftPadded($0, $1) })
      .joined(separator: "  ")
  }

  /// The row of epoch `epoch` (counted from 1): ` 3/20  0.4123  ...`, the epoch number padded
  /// to the width of the total, so that the columns stay aligned past epoch 9.
  static func row(epoch: Int, of epochs: Int, _ record: EpochRecord) -> String {
    let epochText = (padded(epoch, toWidthOf: epochs) + "/\(epochs)")
      .padding(toLength: max(5, 2 * String(epochs).count + 1), withPad: " ", startingAt: 0)
    func fixed(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "—" }
    let values = [
      fixed(record.trainingLoss), fixed(record.trainingAccuracy), fixed(record.testLoss),
      fixed(record.testAccuracy),
      record.learningRate.map { String(format: "%.2e", $0) } ?? "—",
      String(format: "%.2f s", record.seconds),
    ]
    return ([epochText] + zip(values, widths).map { leftPadded($0, $1) })
      .joined(separator: "  ")
  }

  private static func leftPadded(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - text.count)) + text
  }
}

/// `value` with spaces before it to the width of `total`: ` 3` for 3 of 20.
func padded(_ value: Int, toWidthOf total: Int) -> String {
  let text = String(value)
  return String(repeating: " ", count: max(0, String(total).count - text.count)) + text
}

/// `1 epoch`, `2 epochs`.
func counted(_ count: Int, _ noun: String) -> String {
  "\(count) \(noun)\(count == 1 ? "" : "s")"
}

/// `0:04`, `12:31`, `1:02:03`.
func duration(_ seconds: Double) -> String {
  guard seconds.isFinite else { return "?" }
  let total = Int(seconds.rounded(.up))
  let (hours, minutes, rest) = (total / 3600, total / 60 % 60, total % 60)
  return hours > 0
    ? String(format: "%d:%02d:%02d", hours, minutes, rest)
    : String(format: "%d:%02d", minutes, rest)
}

/// `850 img/s`, `12.3k img/s`.
private func rate(_ perSecond: Double) -> String {
  perSecond >= 1000
    ? String(format: "%.1fk img/s", perSecond / 1000) : String(format: "%.0f img/s", perSecond)
}
