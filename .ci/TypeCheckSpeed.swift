// Expressions that must type-check quickly against the Autodiff module: `.ci/typecheck-speed`
// compiles this file with a 200 ms limit per expression and per function body, and fails on a
// warning. A new overload set (an operator on a public protocol, a literal conformance of Tensor,
// a scalar overload of `exp`) that slows them shows up here, not in a user's build.
//
// Not here, because Swift's solver is slow on them whatever the library declares:
// - a literal on the left of an operator whose right operand is a parenthesized sum with a
//   tensor, nested (`1 / (1 + x) * (1 - 1 / (1 + x))`): the standard library's SIMD4<Double>,
//   whose operators have the same (Scalar, Self) overloads, takes 13 s and then gives up too;
// - with Foundation imported, five or more calls of exp, log, sqrt, sin, … on compound tensor
//   arguments mixed with literals (`exp(-x * x) * 2 + log(y * y + 1) - …`, 1.7 s): the literals
//   favor Foundation's Double overloads, which fail only deep inside each argument.
// Naming a subexpression (`let s = 1 / (1 + e)`) brings either back to milliseconds.

import Autodiff
import Foundation

// Plain numbers, with Autodiff imported.

func logisticSlope(_ x: Double) -> Double {
  1 / (1 + exp(-x)) * (1 - 1 / (1 + exp(-x)))
}

let doubleSlope = 1 / (1 + exp(-0.3)) * (1 - 1 / (1 + exp(-0.3)))
let floatSlope: Float = 1 / (1 + exp(-0.3)) * (1 - 1 / (1 + exp(-0.3)))
let mixed = 2 * log(3.0) - sqrt(2.0) / 4 + pow(2.0, 0.5) * sin(1.0) - cos(0.5) + 1

// Long tensor expressions: tensors, literals, scalars and functions.

func polynomial(_ x: Tensor<Float>) -> Tensor<Float> {
  2 * x * x * x - 3 * x * x + 0.5 * x - 1 + x / 4 - x * 0.25 + 7
}

func activations(_ x: Tensor<Float>, _ w: Tensor<Float>, _ b: Tensor<Float>) -> Tensor<Float> {
  sigmoid(w * x + b) * 0.5 + tanh(x) * tanh(x) - relu(x - 1) * 3 + softplus(x) - x / 4 + 1.5
}

func smoothTerms(_ x: Tensor<Double>, _ y: Tensor<Double>) -> Tensor<Double> {
  exp(x) * 2 + log(y) * 3 - sqrt(x) * 0.5 + sin(x) * cos(y) - abs(x - y) / 3 + exp(-x * x) * 2
}

func lossTerms(_ p: Tensor<Double>, _ t: Tensor<Double>, _ c: Double) -> Tensor<Double> {
  let s = sigmoid(p)
  return -(t * log(s) + (1 - t) * log(1 - s)) + c * p * p - 0.5 * abs(p) + max(p, 0) - min(p, 1)
}

func reductions(_ x: Tensor<Float>) -> Tensor<Float> {
  x.sum() * 2 + x.mean() - x.max() / 3 + (x * x).sum() * 0.5 - exp(x).sum().squared() + 1
}

func withScalars(_ x: Tensor<Double>, _ a: Double, _ b: Double) -> Tensor<Double> {
  a * x * x + b * x - a / 2 + x / b - (a - b) * x + pow(x, 2) * 3 + pow(2, x) - a * b
}

func logistic(_ x: Tensor<Double>) -> Tensor<Double> {
  let e = exp(-x)
  let s = 1 / (1 + e)
  return s * (1 - s) + 2 * x - 3 + x * x / 4 - sin(x) * cos(x) + 0.5
}
