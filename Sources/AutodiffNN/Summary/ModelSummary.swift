import Foundation

extension Layer {
  /// A table of the model's layers with their output shapes, parameter counts and
  /// floating-point operations, for an input of shape `inputShape` (batch axis included), as
  /// torchinfo's `summary` and Keras's `model.summary()`.
  ///
  /// ```swift
  /// print(model.summary(inputShape: [32, 2]))
  /// // Sequential<Float> on input [32, 2]
  /// // ================================================================
  /// // Layer (type)           Output shape        Parameters     FLOPs
  /// // ================================================================
  /// // 0  Dense               [32, 16]                    48     2,560
  /// // ...
  /// ```
  ///
  /// It runs one forward pass on zeros in ``LayerMode/inference`` (on a copy: the model, its
  /// running statistics and its random streams are untouched). A ``Sequential`` lists its
  /// layers, nested ones indented under their own row; any other layer is one row.
  ///
  /// - Parameter inputShape: The input's shape, batch axis first.
  /// - Returns: The rows and totals; its `description` is the printed table.
  public func summary(inputShape: [Int]) -> ModelSummary {
    var model = self
    model.mode = .inference
    var rows: [ModelSummary.Row] = []
    let output = summarize(model, name: "", depth: 0, input: Tensor(zeros: inputShape), into: &rows)
    return ModelSummary(
      modelType: "\(Self.self)", inputShape: inputShape, outputShape: output.shape, rows: rows,
      parameterCount: model.parameters.totalScalarCount(),
      stateCount: model.state.values.reduce(0) { $0 + $1.scalarCount })
  }
}

/// Appends the rows of `layer` (and of its children, for a sequence) applied to `input`, and
/// returns its output.
private func summarize<Scalar: TensorScalar>(
  _ layer: any Layer<Scalar>, name: String, depth: Int, input: Tensor<Scalar>,
  into rows: inout [ModelSummary.Row]
) -> Tensor<Scalar> {
  let type = String(describing: Swift.type(of: layer)).prefix { $0 != "<" }
  if let sequence = layer as? Sequential<Scalar>, depth == 0 || !sequence.layers.isEmpty {
    let header = rows.count
    if depth > 0 {
      rows.append(
        ModelSummary.Row(
          name: name, type: String(type), depth: depth - 1, outputShape: [], parameterCount: 0,
          flops: nil))
    }
    var x = input
    var flops: Int? = 0
    for (index, child) in sequence.layers.enumerated() {
      let childName = name.isEmpty ? "\(index)" : "\(name).\(index)"
      let first = rows.count
      x = summarize(child, name: childName, depth: depth + 1, input: x, into: &rows)
      if let childFLOPs = rows[first].flops, let total = flops {
        flops = total + childFLOPs
      } else {
        flops = nil
      }
    }
    if depth > 0 {
      rows[header].outputShape = x.shape
      rows[header].parameterCount = sequence.parameters.totalScalarCount()
      rows[header].flops = flops
    }
    return x
  }
  let output = layer(input)
  let flops = (layer as? any FLOPCounting)?.flops(
    inputShape: input.shape, outputShape: output.shape)
  rows.append(
    ModelSummary.Row(
      name: name.isEmpty ? "0" : name, type: String(type), depth: Swift.max(depth - 1, 0),
      outputShape: output.shape, parameterCount: layer.parameters.totalScalarCount(), flops: flops))
  return output
}

/// A model's layers with their output shapes, parameter counts and floating-point operations,
/// from ``Layer/summary(inputShape:)``; its ``description`` is the table torchinfo prints.
public struct ModelSummary: Sendable, Equatable, CustomStringConvertible {
  /// One layer of the table.
  public struct Row: Sendable, Equatable {
    /// The layer's position: `"2"`, `"1.0"` for a layer inside a nested sequence.
    public var name: String
    /// The layer's type without its generic argument: `"Dense"`.
    public var type: String
    /// The nesting depth, 0 for the model's own layers.
    public var depth: Int
    /// The shape of the layer's output.
    public var outputShape: [Int]
    /// The number of trainable scalars (for a nested sequence, of all its layers).
    public var parameterCount: Int
    /// The floating-point operations of the forward pass, a multiply-add counting as two; `nil`
    /// for a layer that does not adopt ``FLOPCounting`` (or a sequence holding one).
    public var flops: Int?
  }

  /// The model's type: `"Sequential<Float>"`.
  public var modelType: String
  /// The input shape the summary was made for.
  public var inputShape: [Int]
  /// The model's output shape for that input.
  public var outputShape: [Int]
  /// The layers, in order; a nested sequence's row comes before its layers'.
  public var rows: [Row]
  /// The number of trainable scalars of the whole model.
  public var parameterCount: Int
  /// The number of scalars of the model's non-trainable ``Layer/state``.
  public var stateCount: Int

  /// The floating-point operations of the whole forward pass, counting the model's own layers;
  /// `nil` when one of them does not count its own.
  public var totalFLOPs: Int? {
    rows.filter { $0.depth == 0 }.reduce(Optional(0)) { total, row in
      guard let total, let flops = row.flops else { return nil }
      return total + flops
    }
  }

  /// The table: one row per layer, then the totals.
  public var description: String {
    let header = ["Layer (type)", "Output shape", "Parameters", "FLOPs"]
    let cells = rows.map { row in
      [
        String(repeating: "  ", count: row.depth) + row.name + "  " + row.type,
        row.outputShape.shapeText, grouped(row.parameterCount), row.flops.map(grouped) ?? "—",
      ]
    }
    let widths = (0..<4).map { column in
      ([header] + cells).map { $0[column].count }.max()! + (column == 0 ? 2 : 4)
    }
    func line(_ fields: [String]) -> String {
      fields.enumerated().map { column, field in
        let padding = String(repeating: " ", count: widths[column] - field.count)
        // The names and shapes read left to right; the counts line up on their last digit.
        return column < 2 ? field + padding : padding + field
      }.joined()
    }
    let rule = String(repeating: "=", count: widths.reduce(0, +))
    var text = ["\(modelType) on input \(inputShape.shapeText)", rule, line(header), rule]
    text += cells.map(line)
    text += [
      rule,
      "Total parameters: \(grouped(parameterCount))",
      "Non-trainable state: \(grouped(stateCount))",
      "Output shape: \(outputShape.shapeText)",
      "Forward FLOPs: " + (totalFLOPs.map(grouped) ?? "unknown (a layer does not count its own)"),
      rule,
    ]
    return text.joined(separator: "\n")
  }
}

/// `1234567` as `"1,234,567"`.
private func grouped(_ value: Int) -> String {
  let digits = String(value.magnitude)
  var result = ""
  for (index, digit) in digits.enumerated() {
    if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
    result.append(digit)
  }
  return value < 0 ? "-" + result : result
}
