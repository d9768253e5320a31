// Prints the gradients of the worked examples from the backpropagation tutorials that Autodiff
// grew from, computed by reverse mode. Each figure is also checked by the test suite.

import Autodiff

typealias T = Tensor<Double>

func show(_ title: String, _ values: [(String, T)]) {
  print(title)
  for (name, value) in values { print("  \(name) = \(value)") }
}

// f(x) = f1(f2(x), f3(x)), f1(x, y) = 3x² + 5xy + 4y², f2 = sin, f3 = √x + eˣ, at x = 1.
do {
  let dfdx = gradient(at: T(1)) { x in
    let (u, v) = (sin(x), sqrt(x) + exp(x))
    return 3 * u * u + 5 * u * v + 4 * v * v
  }
  show("f1(sin x, √x + eˣ) at x = 1", [("f'(1)", dfdx)])
}

// f(x1, x2) = sin(π·x1^(x2^x1)) + cos(π·log x1) at (2, 3).
do {
  let (d1, d2) = gradient(at: T(2), T(3)) { x1, x2 in
    sin(Double.pi * pow(x1, pow(x2, x1))) + cos(Double.pi * log(x1))
  }
  show("sin(π·x1^(x2^x1)) + cos(π·log x1) at (2, 3)", [("∂f/∂x1", d1), ("∂f/∂x2", d2)])
}

// The tape of nodes: f = 5·(a·b) at a = 2, b = 3, intermediate gradients included.
do {
  let tape = Tape()
  let a = tape.watch(T(2))
  let b = tape.watch(T(3))
  let o = a * b
  let f = 5 * o
  let g = tape.gradient(of: f, wrt: [f, o, a, b])
  show(
    "f = 5·(a·b) at a = 2, b = 3 (f = \(f))",
    [("df/df", g[0]), ("df/do", g[1]), ("df/da", g[2]), ("df/db", g[3])])
}

// The diamond: h1 = xy, h2 = yz, h = h1·h2, o = h² at x = 3, y = 2, z = 1.
do {
  let tape = Tape()
  let (x, y, z) = (tape.watch(T(3)), tape.watch(T(2)), tape.watch(T(1)))
  let (h1, h2) = (x * y, y * z)
  let h = h1 * h2
  let o = h.squared()
  let g = tape.gradient(of: o, wrt: [h, h1, h2, x, y, z])
  show(
    "o = (xy·yz)² at (3, 2, 1)", zip(["h", "h1", "h2", "x", "y", "z"], g).map { ("do/d\($0)", $1) })
}

// One sigmoid neuron with squared error against target 1.
do {
  let tape = Tape()
  let (x1, w1, x2, w2) = (
    tape.watch(T(2)), tape.watch(T(0.4)), tape.watch(T(3)), tape.watch(T(-0.2))
  )
  let loss = (sigmoid(x1 * w1 + x2 * w2) - 1).squared()
  let g = tape.gradient(of: loss, wrt: [w1, w2, x1, x2])
  show(
    "(σ(x1·w1 + x2·w2) − 1)², loss = \(loss)",
    zip(["w1", "w2", "x1", "x2"], g).map { ("d/d\($0)", $1) })
}

// (x + σ(y)) / (σ(x) + (x + y)²) at x = 2, y = −4.
do {
  let (dx, dy) = gradient(at: T(2), T(-4)) { x, y in
    (x + sigmoid(y)) / (sigmoid(x) + (x + y).squared())
  }
  show("(x + σ(y)) / (σ(x) + (x + y)²) at (2, −4)", [("df/dx", dx), ("df/dy", dy)])
}

// Gradient descent on x² + y² + 400x + 8y from (0, 0), step 0.1, 50 steps.
do {
  var (x, y) = (T(0), T(0))
  for _ in 0..<50 {
    let (dx, dy) = gradient(at: x, y) { x, y in x.squared() + y.squared() + 400 * x + 8 * y }
    x -= 0.1 * dx
    y -= 0.1 * dy
  }
  show("minimum of x² + y² + 400x + 8y after 50 steps", [("x", x), ("y", y)])
}

// Vectorized backprop: D = W·X, dW = dD·Xᵀ, dX = Wᵀ·dD.
do {
  var rng = SeededGenerator(seed: 7)
  let w = T(randomNormal: [5, 10], using: &rng)
  let x = T(randomNormal: [10, 3], using: &rng)
  let dD = T(randomNormal: [5, 3], using: &rng)
  let tape = Tape()
  let (tw, tx) = (tape.watch(w), tape.watch(x))
  let (dW, dX) = tape.gradient(of: matmul(tw, tx), wrt: tw, tx, seed: dD)
  show(
    "D = W·X with W 5×10, X 10×3",
    [("dW shape", T(dW.shape.map(Double.init))), ("dX shape", T(dX.shape.map(Double.init)))])
}
