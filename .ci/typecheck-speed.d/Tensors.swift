// Long tensor expressions, with `import Autodiff` alone: tensors, integer and floating-point
// literals, scalars and functions. `.ci/typecheck-speed` compiles this file and Numbers.swift
// with a 400 ms limit per expression and per function body, and fails on a warning, so that a
// new overload set (an operator requirement on a public protocol, a literal conformance of
// Tensor, a scalar overload of `exp`, the loss of the integer forms of the arithmetic
// operators) that slows them shows up here rather than in a user's build. Before the integer
// forms, `logistic` gave up after 6 s ("unable to type-check").

import Autodiff

func logistic(_ x: Tensor<Double>) -> Tensor<Double> {
  1 / (1 + exp(-x)) * (1 - 1 / (1 + exp(-x))) + 2 * x - 3 + x * x / 4 - sin(x) * cos(x) + 0.5
}

func logisticFloat(_ x: Tensor<Float>) -> Tensor<Float> {
  0.5 / (1.5 + exp(-x)) * (1.5 - 0.5 / (1.5 + exp(-x))) + 2.5 * x - 3 + x * x / 4.5 + 1
}

func polynomial(_ x: Tensor<Float>) -> Tensor<Float> {
  2 * x * x * x - 3 * x * x + 0.5 * x - 1 + x / 4 - x * 0.25 + 7 - (1 - x) * (2 + x) / 3
}

func activations(_ x: Tensor<Float>, _ w: Tensor<Float>, _ b: Tensor<Float>) -> Tensor<Float> {
  sigmoid(w * x + b) * (1 - sigmoid(w * x + b)) + tanh(x) * tanh(x) - relu(x - 1) * 3
    + softplus(x) - x / 4 + 1.5
}

func lossTerms(_ p: Tensor<Double>, _ t: Tensor<Double>, _ c: Double) -> Tensor<Double> {
  -(t * log(sigmoid(p)) + (1 - t) * log(1 - sigmoid(p))) + c * p * p - 0.5 * abs(p)
    + max(p, 0) - min(p, 1)
}

func reductions(_ x: Tensor<Float>) -> Tensor<Float> {
  x.sum() * 2 + x.mean() - x.max() / 3 + (x * x).sum() * 0.5 - exp(x).sum().squared() + 1
    + x.logSumExp() - x.variance() * 2 + x.product() / 4 - x.min() + x.standardDeviation()
}

func withScalars(_ x: Tensor<Double>, _ a: Double, _ b: Double, _ n: Int) -> Tensor<Double> {
  a * x * x + b * x - a / 2 + x / b - (a - b) * x + pow(x, 2) * 3 + pow(2, x) - a * b + n * x
}

func generic<Scalar: TensorScalar>(_ x: Tensor<Scalar>, _ c: Scalar) -> Tensor<Scalar> {
  c * x + x / c - 1 + 2 * (c - x) * exp(-x) / (1 + exp(-x)) - 0.5 * x * x + 3
}
