import Foundation

/// The SVG chart of a run, as a practitioner reads it: the loss (training and test) and the
/// accuracy (training and test) side by side over the same epochs, so that overfitting shows as
/// curves that part; the learning rate in a narrow third panel; the best epoch marked; the model
/// and the training options in the title.
///
/// Plain SVG without scripts, styles or fonts to fetch: browsers, `rsvg-convert` and Inkscape
/// draw it alike. Every number is printed with fixed decimals, so one history always gives the
/// same text (the tests compare it with a golden file).
struct TrainingChart {
  var history: TrainingHistory
  var configuration: RunConfiguration

  static let width = 1080.0
  static let height = 432.0
  /// The panels' top edge and height, shared; each panel has its own left edge and width.
  static let plotTop = 116.0
  static let plotHeight = 256.0

  static let trainingColor = "#1f77b4"
  static let testColor = "#ff7f0e"
  static let rateColor = "#6a51a3"
  static let bestColor = "#2ca02c"

  /// One curve: a value per epoch (`nil` where an old checkpoint lacks it).
  struct Series {
    var name: String
    var values: [Double?]
    var color: String
    var marker: Marker
  }

  enum Marker { case circle, square, none }

  /// A rectangle to draw in, with its axes' scales.
  struct Panel {
    var id: String
    var title: String
    var left: Double
    var width: Double
    var x: AxisScale
    var y: AxisScale
    var scientific = false

    func px(_ epoch: Double) -> Double { left + width * x.fraction(epoch) }
    func py(_ value: Double) -> Double {
      TrainingChart.plotTop + TrainingChart.plotHeight * (1 - y.fraction(value))
    }
    func yLabel(_ value: Double) -> String {
      scientific ? y.scientificLabel(value) : y.label(value)
    }
  }

  /// The whole chart as SVG text.
  func svg() -> String {
    let records = history.epochs
    let epochs = AxisScale(epochs: records.count)
    let losses: [Series] = [
      Series(
        name: "training loss", values: records.map(\.trainingLoss), color: Self.trainingColor,
        marker: .circle),
      Series(
        name: "test loss", values: records.map(\.testLoss), color: Self.testColor, marker: .square),
    ]
    let accuracies: [Series] = [
      Series(
        name: "training accuracy", values: records.map(\.trainingAccuracy),
        color: Self.trainingColor, marker: .circle),
      Series(
        name: "test accuracy", values: records.map(\.testAccuracy), color: Self.testColor,
        marker: .square),
    ]
    let rates = Series(
      name: "learning rate", values: records.map(\.learningRate), color: Self.rateColor,
      marker: .none)

    let lossPanel = Panel(
      id: "loss", title: "Loss (cross-entropy)", left: 64, width: 356, x: epochs,
      y: AxisScale(covering: Self.extent(losses), limits: 0 ... .infinity))
    let accuracyPanel = Panel(
      id: "accuracy", title: "Accuracy", left: 492, width: 356, x: epochs,
      y: AxisScale(covering: Self.extent(accuracies), limits: 0...1))
    let highestRate = rates.values.compactMap { $0 }.max() ?? 1e-3
    let ratePanel = Panel(
      id: "learning-rate", title: "Learning rate", left: 912, width: 144,
      x: AxisScale(epochs: records.count, tickCount: 3),
      y: AxisScale(covering: 0...highestRate, tickCount: 5, limits: 0 ... .infinity),
      scientific: true)

    var svg = SVGText()
    let (width, height) = (Self.format(Self.width, 0), Self.format(Self.height, 0))
    svg.open(
      "svg",
      [
        "xmlns": "http://www.w3.org/2000/svg", "width": width, "height": height,
        "viewBox": "0 0 \(width) \(height)",
        "font-family": "DejaVu Sans, Helvetica, Arial, sans-serif", "font-size": "12",
      ])
    svg.element("title", text: "Fashion-MNIST, \(configuration.modelDescription): training curves")
    svg.element("rect", ["width": "100%", "height": "100%", "fill": "white"])
    header(into: &svg)
    legend(into: &svg)
    let best = history.bestEpoch
    draw(lossPanel, losses, best: best, into: &svg)
    draw(accuracyPanel, accuracies, best: best, into: &svg)
    if let best {
      annotateBest(
        epoch: best, accuracy: records[best - 1].testAccuracy, in: accuracyPanel, into: &svg)
    }
    draw(ratePanel, [rates], best: nil, into: &svg)
    svg.close("svg")
    return svg.text
  }

  /// The title; under it the options, the final test accuracy and the best one.
  private func header(into svg: inout SVGText) {
    svg.element(
      "text", ["x": "24", "y": "32", "font-size": "17", "font-weight": "bold", "fill": "#222"],
      text: "Fashion-MNIST · \(configuration.modelDescription) network")
    var parts = [configuration.trainingDescription]
    if let last = history.epochs.last {
      parts.append(
        "test accuracy \(Self.format(last.testAccuracy, 4)) after "
          + counted(history.epochs.count, "epoch"))
    }
    if let best = history.improvedBest {
      parts.append("best \(Self.format(best.testAccuracy, 4)) at epoch \(best.epoch)")
    }
    svg.element(
      "text", ["x": "24", "y": "54", "font-size": "13", "fill": "#555"],
      text: parts.joined(separator: " · "))
  }

  /// What the colors, markers and the dashed line mean, once for all panels.
  private func legend(into svg: inout SVGText) {
    let y = 80.0
    var x = 24.0
    svg.open("g", ["id": "legend"])
    for (name, color, marker) in [
      ("training (mean over the epoch's batches)", Self.trainingColor, Marker.circle),
      ("test (after the epoch)", Self.testColor, Marker.square),
    ] {
      line(from: (x, y), to: (x + 24, y), color: color, width: 2, into: &svg)
      self.marker(marker, at: (x + 12, y), color: color, into: &svg)
      svg.element("text", ["x": Self.format(x + 32, 1), "y": Self.format(y + 4, 1)], text: name)
      // DejaVu Sans at 12 px averages about 6.6 px a character.
      x += 32 + Double(name.count) * 6.6 + 24
    }
    line(
      from: (x + 12, y - 8), to: (x + 12, y + 8), color: Self.bestColor, width: 1.5, dashed: true,
      into: &svg)
    svg.element(
      "text", ["x": Self.format(x + 32, 1), "y": Self.format(y + 4, 1)],
      text: "epoch of the best test accuracy")
    svg.close("g")
  }

  /// A panel: its title, grid, ticks and frame, the best epoch's line, then its curves.
  private func draw(_ panel: Panel, _ series: [Series], best: Int?, into svg: inout SVGText) {
    let (top, bottom) = (Self.plotTop, Self.plotTop + Self.plotHeight)
    let right = panel.left + panel.width
    svg.open("g", ["id": panel.id + "-panel"])
    svg.element(
      "text",
      [
        "x": Self.format(panel.left, 1), "y": Self.format(top - 10, 1), "font-size": "13",
        "font-weight": "bold", "fill": "#222",
      ], text: panel.title)
    for tick in panel.y.ticks {
      let y = panel.py(tick)
      line(from: (panel.left, y), to: (right, y), color: "#e6e6e6", width: 1, into: &svg)
      svg.element(
        "text",
        [
          "x": Self.format(panel.left - 6, 1), "y": Self.format(y + 4, 1), "text-anchor": "end",
          "font-size": "11", "fill": "#555",
        ], text: panel.yLabel(tick))
    }
    for tick in panel.x.ticks {
      let x = panel.px(tick)
      line(from: (x, bottom), to: (x, bottom + 5), color: "#999", width: 1, into: &svg)
      svg.element(
        "text",
        [
          "x": Self.format(x, 1), "y": Self.format(bottom + 18, 1), "text-anchor": "middle",
          "font-size": "11", "fill": "#555",
        ], text: panel.x.label(tick))
    }
    svg.element(
      "rect",
      [
        "x": Self.format(panel.left, 1), "y": Self.format(top, 1),
        "width": Self.format(panel.width, 1), "height": Self.format(Self.plotHeight, 1),
        "fill": "none", "stroke": "#aaa",
      ])
    svg.element(
      "text",
      [
        "x": Self.format(panel.left + panel.width / 2, 1), "y": Self.format(bottom + 36, 1),
        "text-anchor": "middle", "fill": "#333",
      ], text: "epoch")
    if let best {
      let x = panel.px(Double(best))
      line(
        from: (x, top), to: (x, bottom), color: Self.bestColor, width: 1.5, dashed: true, into: &svg
      )
    }
    for curve in series { draw(curve, in: panel, into: &svg) }
    svg.close("g")
  }

  /// A curve as a path through its points (broken where a value is missing), with a marker and
  /// a tooltip at each point while there are few enough to tell apart.
  private func draw(_ curve: Series, in panel: Panel, into svg: inout SVGText) {
    var segments: [String] = []
    var drawing = false
    for (index, value) in curve.values.enumerated() {
      guard let value else {
        drawing = false
        continue
      }
      let (x, y) = (panel.px(Double(index + 1)), panel.py(value))
      segments.append((drawing ? "L" : "M") + Self.format(x, 1) + "," + Self.format(y, 1))
      drawing = true
    }
    svg.open("g", ["id": curve.name.replacingOccurrences(of: " ", with: "-")])
    if !segments.isEmpty {
      svg.element(
        "path",
        [
          "d": segments.joined(separator: " "), "fill": "none", "stroke": curve.color,
          "stroke-width": "2", "stroke-linejoin": "round",
        ])
    }
    if curve.values.count <= 60 {
      for (index, value) in curve.values.enumerated() {
        guard let value else { continue }
        marker(
          curve.marker, at: (panel.px(Double(index + 1)), panel.py(value)), color: curve.color,
          tooltip: "epoch \(index + 1): \(curve.name) \(Self.format(value, 4))", into: &svg)
      }
    }
    svg.close("g")
  }

  /// A ring around the best test accuracy, and its value at the foot of the dashed line.
  private func annotateBest(
    epoch: Int, accuracy: Double, in panel: Panel, into svg: inout SVGText
  ) {
    let (x, y) = (panel.px(Double(epoch)), panel.py(accuracy))
    svg.element(
      "circle",
      [
        "cx": Self.format(x, 1), "cy": Self.format(y, 1), "r": "7", "fill": "none",
        "stroke": Self.bestColor, "stroke-width": "2",
      ])
    // At the foot of the line, where rising accuracy curves leave room, on the side with more.
    let toTheRight = panel.x.fraction(Double(epoch)) < 0.6
    svg.element(
      "text",
      [
        "x": Self.format(x + (toTheRight ? 6 : -6), 1),
        "y": Self.format(Self.plotTop + Self.plotHeight - 8, 1),
        "text-anchor": toTheRight ? "start" : "end", "font-weight": "bold",
        "fill": Self.bestColor,
      ], text: "best \(Self.format(accuracy, 4)), epoch \(epoch)")
  }

  private func marker(
    _ kind: Marker, at point: (x: Double, y: Double), color: String, tooltip: String? = nil,
    into svg: inout SVGText
  ) {
    switch kind {
    case .circle:
      svg.element(
        "circle",
        [
          "cx": Self.format(point.x, 1), "cy": Self.format(point.y, 1), "r": "3.5",
          "fill": color, "stroke": "white", "stroke-width": "1",
        ], title: tooltip)
    case .square:
      svg.element(
        "rect",
        [
          "x": Self.format(point.x - 3.5, 1), "y": Self.format(point.y - 3.5, 1), "width": "7",
          "height": "7", "fill": color, "stroke": "white", "stroke-width": "1",
        ], title: tooltip)
    case .none:
      break
    }
  }

  private func line(
    from start: (x: Double, y: Double), to end: (x: Double, y: Double), color: String,
    width: Double, dashed: Bool = false, into svg: inout SVGText
  ) {
    svg.element(
      "line",
      [
        "x1": Self.format(start.x, 1), "y1": Self.format(start.y, 1),
        "x2": Self.format(end.x, 1), "y2": Self.format(end.y, 1), "stroke": color,
        "stroke-width": Self.format(width, 1), "stroke-dasharray": dashed ? "5 4" : "none",
      ])
  }

  /// The range of the curves' values, or 0...1 when they have none.
  static func extent(_ series: [Series]) -> ClosedRange<Double> {
    let values = series.flatMap { $0.values.compactMap { $0 } }
    guard let low = values.min(), let high = values.max() else { return 0...1 }
    return low...high
  }

  static func format(_ value: Double, _ decimals: Int) -> String {
    String(format: "%.\(decimals)f", value)
  }
}
