// Plain numbers and tensors, with Foundation and Autodiff imported: `.ci/typecheck-speed`
// compiles this file and Tensors.swift with a 400 ms limit per expression and per function body,
// and fails on a warning.
//
// Not here, because Swift's solver is slow on them whatever Autodiff declares:
// - plain numbers with `import Autodiff` alone, without Foundation or Glibc: `exp` then names
//   only the tensor function, so `1 / (1 + exp(-0.3))` has no typing, and the solver tries every
//   overload of every operator before it says so (3 s, then "unable to type-check");
// - with Foundation imported, a literal over a sum with a call on a tensor, nested:
//   `1 / (1 + exp(-x)) * (1 - 1 / (1 + exp(-x))) + 2 * x - 3` takes 0.8 s (Float) to 1.8 s
//   (Double), and more terms make it give up: the literals fit Foundation's `exp(Double)`, which
//   fails only at `-x`. Without Foundation (Tensors.swift) it takes milliseconds.

import Autodiff
import Foundation

// Plain numbers, with Autodiff imported.

func logisticSlope(_ x: Double) -> Double {
  1 / (1 + exp(-x)) * (1 - 1 / (1 + exp(-x)))
}

let doubleSlope = 1 / (1 + exp(-0.3)) * (1 - 1 / (1 + exp(-0.3)))
let floatSlope: Float = 1 / (1 + exp(-0.3)) * (1 - 1 / (1 + exp(-0.3)))
let mixed = 2 * log(3.0) - sqrt(2.0) / 4 + pow(2.0, 0.5) * sin(1.0) - cos(0.5) + 1
let angles = 2 * atan2(1.0, 2.0) - tan(0.5) / 4 + sinh(0.3) * cosh(0.2) - asin(0.5) + atan(3.0)

// Tensors, with Foundation's overloads of the elementary functions in the way. Before the
// integer forms of the arithmetic operators this took 1.6 s.

func smoothTerms(_ x: Tensor<Double>, _ y: Tensor<Double>) -> Tensor<Double> {
  exp(-x * x) * 2 + log(y * y + 1) - sqrt(x * x + 1) * 0.5 + sin(x) * cos(y) - abs(x - y) / 3
}

func trigonometricTerms(_ x: Tensor<Double>, _ y: Tensor<Double>) -> Tensor<Double> {
  atan2(y, x) * 2 + tan(x * 0.5) - sinh(y) / cosh(x) + asin(x / 3) * acos(y / 3) - atan(x - y)
}
