import AutodiffNN
import Foundation
import Testing

/// The quick start of README.md, compiled and run (see ArticleSnippets.swift, which compares each
/// snippet here with the README's code block of the same name).
@Suite struct ReadmeTests {
  @Test("README: tensors from literals, indexed, reduced, gathered and stacked")
  func tensors() {
    // snippet: readme-tensors
    let x = Tensor<Float>([[1, -2, 3], [4, 5, -6]])
    print(x[1], x[-1, 0..<2], x[.all, 2])  // [4.0, 5.0, -6.0] [4.0, 5.0] [3.0, -6.0]
    print(x.argmax(alongAxis: 1), x.sum(squeezingAxes: [0]))  // [2, 1] [5.0, 3.0, -3.0]
    let rows = x.gathering(atIndices: [1, 1, 0], alongAxis: 0)  // shape [3, 3]
    let both = Tensor(stacking: [x, clamp(x, min: -1, max: 1)], alongAxis: 0)  // shape [2, 2, 3]
    print(rows.shape, both.shape, Tensor<Double>(linearSpaceFrom: 0, to: 1, count: 5))
    // end snippet
    #expect(x[1].scalars == [4, 5, -6])
    #expect(x[-1, 0..<2].scalars == [4, 5])
    #expect(x[.all, 2].scalars == [3, -6])
    #expect(x.argmax(alongAxis: 1) == [2, 1])
    #expect(x.sum(squeezingAxes: [0]).scalars == [5, 3, -3])
    #expect(rows.shape == [3, 3] && rows.scalars == [4, 5, -6, 4, 5, -6, 1, -2, 3])
    #expect(both.shape == [2, 2, 3] && both[1].scalars == [1, -1, 1, 1, 1, -1])
  }

  @Test("README: the gradient of a function of two scalars")
  func gradientOfAFunction() {
    // snippet: readme-gradient
    // f(x, y) = (x + σ(y)) / (σ(x) + (x + y)²) at (2, −4)
    let (dx, dy) = gradient(at: Tensor<Double>(2), Tensor<Double>(-4)) { x, y in
      (x + sigmoid(y)) / (sigmoid(x) + (x + y).squared())
    }
    print(dx, dy)  // 0.5348320870757594 0.342460382923052
    // end snippet
    #expect(abs(dx.scalar - 0.5348320870757594) <= 1e-15)
    #expect(abs(dy.scalar - 0.342460382923052) <= 1e-15)
  }

  @Test("README: a small network learns a circle")
  func training() {
    // snippet: readme-training
    // Points in the square [-2, 2)², labelled 1 inside the unit circle and 0 outside.
    var rng = SeededGenerator(seed: 1)
    var points: [Float] = []
    var classes: [Int] = []
    for _ in 0..<512 {
      let (x, y) = (Float.random(in: -2..<2, using: &rng), Float.random(in: -2..<2, using: &rng))
      points += [x, y]
      classes.append(x * x + y * y < 1 ? 1 : 0)
    }
    let data = LabeledDataset(inputs: Tensor(shape: [512, 2], scalars: points), labels: classes)

    var model = Sequential<Float>(
      Dense(inputSize: 2, outputSize: 32, activation: .relu, using: &rng),
      Dense(inputSize: 32, outputSize: 2, using: &rng))
    var optimizer = Adam(for: model.parameters, learningRate: 0.01)
    for _ in 1...40 {
      for (inputs, labels) in data.shuffled(using: &rng).batches(ofSize: 32) {
        let (_, gradients) = valueWithGradient(at: model.parameters) { parameters in
          let logits = model.replacingParameters(with: parameters)(inputs)
          return softmaxCrossEntropy(logits: logits, labels: labels)
        }
        optimizer.update(&model.parameters, along: gradients)
      }
    }
    print(accuracy(logits: model(data.inputs), labels: data.labels))  // about 0.99
    // end snippet
    #expect(accuracy(logits: model(data.inputs), labels: data.labels) > 0.95)
  }
}
