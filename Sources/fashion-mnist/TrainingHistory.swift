import Foundation

/// One epoch's results.
struct EpochRecord: Codable, Equatable {
  var trainingLoss: Double
  var testAccuracy: Double
  var seconds: Double
}

/// The results of every epoch so far: stored in the checkpoint's metadata so that a resumed run
/// continues its curves, and drawn as an SVG chart.
struct TrainingHistory {
  var epochs: [EpochRecord] = []

  init() {}

  /// Reads the history from a checkpoint's metadata.
  init(metadata: [String: String]) throws {
    guard let text = metadata["history"] else {
      throw HistoryError("the checkpoint has no training history; it was not written by this job")
    }
    do {
      epochs = try JSONDecoder().decode([EpochRecord].self, from: Data(text.utf8))
    } catch {
      throw HistoryError("the checkpoint's training history is unreadable: \(error)")
    }
  }

  /// The history as checkpoint metadata.
  var metadata: [String: String] {
    ["history": json, "epochs": "\(epochs.count)"]
  }

  /// The epochs' records as JSON, as the metadata's `"history"` holds them.
  var json: String {
    let data = (try? JSONEncoder().encode(epochs)) ?? Data("[]".utf8)
    return String(decoding: data, as: UTF8.self)
  }

  /// A chart of the training loss (left axis) and the test accuracy (right axis) by epoch.
  func svgChart() -> String {
    let (width, height) = (720.0, 420.0)
    let (left, right, top, bottom) = (70.0, 70.0, 50.0, 60.0)
    let plotWidth = width - left - right
    let plotHeight = height - top - bottom
    let count = max(epochs.count, 2)
    func x(_ index: Int) -> Double { left + plotWidth * Double(index) / Double(count - 1) }

    let losses = epochs.map(\.trainingLoss)
    let accuracies = epochs.map(\.testAccuracy)
    let lossMax = (losses.max() ?? 1) * 1.05
    let accuracyMin = min(accuracies.min() ?? 0.8, 0.85) - 0.01
    let accuracyMax = max(accuracies.max() ?? 0.9, 0.90) + 0.01
    func yLoss(_ value: Double) -> Double { top + plotHeight * (1 - value / lossMax) }
    func yAccuracy(_ value: Double) -> Double {
      top + plotHeight * (1 - (value - accuracyMin) / (accuracyMax - accuracyMin))
    }
    func path(_ values: [Double], _ y: (Double) -> Double) -> String {
      values.enumerated().map { index, value in
        "\(index == 0 ? "M" : "L")\(format(x(index))),\(format(y(value)))"
      }.joined(separator: " ")
    }

    var svg = """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
      font-family="sans-serif" font-size="12">
      <rect width="100%" height="100%" fill="white"/>
      <text x="\(width / 2)" y="24" text-anchor="middle" font-size="15">\
      Fashion-MNIST, 784-256-128-10 with Adam</text>
      <rect x="\(left)" y="\(top)" width="\(plotWidth)" height="\(plotHeight)" fill="none" \
      stroke="#999"/>

      """
    for tick in 0...4 {
      let fraction = Double(tick) / 4
      let y = top + plotHeight * (1 - fraction)
      svg += """
        <line x1="\(left)" y1="\(format(y))" x2="\(left + plotWidth)" y2="\(format(y))" \
        stroke="#eee"/>
        <text x="\(left - 8)" y="\(format(y + 4))" text-anchor="end" fill="#1f77b4">\
        \(String(format: "%.3f", lossMax * fraction))</text>
        <text x="\(left + plotWidth + 8)" y="\(format(y + 4))" fill="#d62728">\
        \(String(format: "%.3f", accuracyMin + (accuracyMax - accuracyMin) * fraction))</text>

        """
    }
    for index in 0..<epochs.count {
      svg += """
        <text x="\(format(x(index)))" y="\(format(top + plotHeight + 18))" \
        text-anchor="middle">\(index + 1)</text>

        """
    }
    svg += """
      <text x="\(left + plotWidth / 2)" y="\(height - 18)" text-anchor="middle">epoch</text>
      <text x="18" y="\(top + plotHeight / 2)" fill="#1f77b4" text-anchor="middle" \
      transform="rotate(-90 18 \(top + plotHeight / 2))">training loss</text>
      <text x="\(width - 18)" y="\(top + plotHeight / 2)" fill="#d62728" text-anchor="middle" \
      transform="rotate(90 \(width - 18) \(top + plotHeight / 2))">test accuracy</text>
      <path d="\(path(losses, yLoss))" fill="none" stroke="#1f77b4" stroke-width="2"/>
      <path d="\(path(accuracies, yAccuracy))" fill="none" stroke="#d62728" stroke-width="2"/>
      </svg>

      """
    return svg
  }

  private func format(_ value: Double) -> String { String(format: "%.1f", value) }
}

struct HistoryError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// Writes `text` to `url` through a temporary file in the same folder and a rename, so that the
/// file at `url` is always either the old one or the complete new one.
func writeAtomically(_ text: String, to url: URL) throws {
  try Data(text.utf8).write(to: url, options: .atomic)
}
