// On `@_specialize`, see the Performance article in Documentation.docc.

// Forward mode and higher derivatives. Each form records the function once on a tape and sweeps
// it: forward (tangent rules) for Jacobian-vector products, backward (pullbacks) for gradients,
// and both for Hessian-vector products (forward over reverse). Like the reverse-mode forms, they
// record on an enclosing differentiation's tape when there is one, so they nest.

/// The value of `f` at `x` and its differential: the linear map from a direction `v` (of `x`'s
/// shape) to the derivative of `f` along it, `J·v`.
///
/// The differential replays the recorded computation's tangent rules, without running `f`
/// again; it keeps that recording alive while it exists.
///
/// - Precondition: Every operation of `f` that depends on `x` has a tangent rule.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func valueWithDifferential<Scalar>(
  at x: Tensor<Scalar>, of f: (Tensor<Scalar>) -> Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> (value: Tensor<Scalar>, differential: (Tensor<Scalar>) -> Tensor<Scalar>) {
  differentiating([x]) { tape, nested in
    let watched = tape.watch(x)
    let value = f(watched)
    guard value.trace?.tape === tape else {
      return (value, { _ in Tensor(zeros: value.shape) })
    }
    let differential = { (v: Tensor<Scalar>) -> Tensor<Scalar> in
      tape.tangent(
        of: value, wrt: [watched], along: [v], createGraph: nested, file: file, line: line)
    }
    return (nested ? value : value.detached, differential)
  }
}

/// The value of `f` at `x` and the Jacobian-vector product `J·v`: how `f(x)` moves when `x`
/// moves along `v` (forward mode).
///
/// ```swift
/// let (y, dy) = jvp(at: Tensor<Double>(1), tangent: Tensor(1)) { x in sin(x) + exp(x) }
/// // dy = cos 1 + e
/// ```
///
/// - Precondition: `v` has `x`'s shape; every operation of `f` that depends on `x` has a
///   tangent rule.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func jvp<Scalar>(
  at x: Tensor<Scalar>, tangent v: Tensor<Scalar>, of f: (Tensor<Scalar>) -> Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> (value: Tensor<Scalar>, tangent: Tensor<Scalar>) {
  let (value, differential) = valueWithDifferential(at: x, of: f, file: file, line: line)
  return (value, differential(v))
}

/// The derivative of `f` at a scalar `x`: `df/dx`, of `f(x)`'s shape (forward mode).
///
/// ```swift
/// // f(x) = f1(f2(x), f3(x)), f1(a, b) = 3a² + 5ab + 4b², f2 = sin, f3 = √x + eˣ
/// let d = derivative(at: Tensor<Double>(1)) { x in
///   let (a, b) = (sin(x), sqrt(x) + exp(x))
///   return 3 * a * a + 5 * a * b + 4 * b * b
/// }   // 122.045158140265
/// ```
///
/// - Precondition: `x` has exactly one element.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func derivative<Scalar>(
  at x: Tensor<Scalar>, of f: (Tensor<Scalar>) -> Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  check(
    x.scalarCount == 1,
    "derivative: x has shape \(x.shape.shapeDescription); derivative(at:of:) takes a scalar, "
      + "use jvp(at:tangent:of:) for a direction", at: SourceLocation(file: file, line: line))
  return jvp(at: x, tangent: Tensor(ones: x.shape), of: f, file: file, line: line).tangent
}

/// The product `H·v` of the Hessian of a scalar function `f` at `x` with a direction `v`,
/// computed forward over reverse: the gradient is recorded, then swept forward along `v`. It
/// costs a small constant times one gradient, and never forms `H`.
///
/// - Precondition: `f` returns a scalar; `v` has `x`'s shape.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func hessianVectorProduct<Scalar>(
  at x: Tensor<Scalar>, direction v: Tensor<Scalar>, of f: (Tensor<Scalar>) -> Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  differentiating([x]) { tape, nested in
    let location = SourceLocation(file: file, line: line)
    check(
      v.shape == x.shape,
      "hessianVectorProduct: direction shape \(v.shape.shapeDescription) differs from x's "
        + x.shape.shapeDescription, at: location)
    let watched = tape.watch(x)
    let value = f(watched)
    guard value.trace?.tape === tape else { return Tensor(zeros: x.shape) }
    let g = tape.gradient(of: value, wrt: [watched], createGraph: true, file: file, line: line)[0]
    return tape.tangent(
      of: g, wrt: [watched], along: [v], createGraph: nested, file: file, line: line)
  }
}

/// The products `H·v` of the Hessian of a scalar function of several tensors (a network's
/// parameters, say) with a direction given per tensor, computed forward over reverse in one
/// backward and one forward sweep.
///
/// - Precondition: `f` returns a scalar; `directions` match `inputs` in count and shapes.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func hessianVectorProduct<Scalar>(
  at inputs: [Tensor<Scalar>], directions: [Tensor<Scalar>],
  of f: ([Tensor<Scalar>]) -> Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line
) -> [Tensor<Scalar>] {
  differentiating(inputs) { tape, nested in
    let location = SourceLocation(file: file, line: line)
    check(
      inputs.count == directions.count
        && zip(inputs, directions).allSatisfy { $0.shape == $1.shape },
      "hessianVectorProduct: directions \(directions.map(\.shape)) do not match inputs "
        + "\(inputs.map(\.shape))", at: location)
    let watched = inputs.map { tape.watch($0) }
    let value = f(watched)
    guard value.trace?.tape === tape else { return inputs.map { Tensor(zeros: $0.shape) } }
    let g = tape.gradient(of: value, wrt: watched, createGraph: true, file: file, line: line)
    return tape.tangents(
      of: g, wrt: watched, along: directions, createGraph: nested, file: file, line: line)
  }
}

/// The Jacobian of `f` at `x`, of shape `f(x).shape + x.shape`: element `[i…, j…]` is
/// `∂f(x)[i…] / ∂x[j…]`.
///
/// The function is recorded once; the Jacobian is then built row by row in reverse mode or
/// column by column in forward mode, whichever needs fewer sweeps. Meant for small inputs and
/// outputs.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func jacobian<Scalar>(
  at x: Tensor<Scalar>, of f: (Tensor<Scalar>) -> Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  differentiating([x]) { tape, nested in
    let watched = tape.watch(x)
    let value = f(watched)
    let (m, n) = (value.scalarCount, x.scalarCount)
    let shape = value.shape + x.shape
    guard value.trace?.tape === tape, m > 0, n > 0 else { return Tensor(zeros: shape) }
    if m <= n {
      let rows = (0..<m).map { i in
        tape.gradient(
          of: value, wrt: [watched], seed: basis(i, value.shape), createGraph: nested,
          file: file, line: line)[0].reshaped(to: [1, n])
      }
      return Tensor(concatenating: rows).reshaped(to: shape)
    }
    return forwardJacobian(of: value, wrt: watched, on: tape, nested, file, line)
  }
}

/// The Hessian of a scalar function `f` at `x`, of shape `x.shape + x.shape`, built column by
/// column as Hessian-vector products (forward over reverse). Meant for small inputs.
///
/// - Precondition: `f` returns a scalar.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func hessian<Scalar>(
  at x: Tensor<Scalar>, of f: (Tensor<Scalar>) -> Tensor<Scalar>,
  file: StaticString = #fileID, line: UInt = #line
) -> Tensor<Scalar> {
  differentiating([x]) { tape, nested in
    let n = x.scalarCount
    let watched = tape.watch(x)
    let value = f(watched)
    guard value.trace?.tape === tape, n > 0 else { return Tensor(zeros: x.shape + x.shape) }
    let g = tape.gradient(of: value, wrt: [watched], createGraph: true, file: file, line: line)[0]
    return forwardJacobian(of: g, wrt: watched, on: tape, nested, file, line)
  }
}

/// The Jacobian of `value` with respect to `x`, both recorded on `tape`, of shape
/// `value.shape + x.shape`: column `j` is the tangent of `value` along the `j`-th basis tensor.
private func forwardJacobian<Scalar>(
  of value: Tensor<Scalar>, wrt x: Tensor<Scalar>, on tape: Tape, _ nested: Bool,
  _ file: StaticString, _ line: UInt
) -> Tensor<Scalar> {
  let columns = (0..<x.scalarCount).map { j in
    tape.tangent(
      of: value, wrt: [x], along: [basis(j, x.shape)], createGraph: nested, file: file, line: line
    ).reshaped(to: [value.scalarCount, 1])
  }
  return Tensor(concatenating: columns, alongAxis: 1).reshaped(to: value.shape + x.shape)
}

/// The tensor of `shape` that is 1 at flat index `index` and 0 elsewhere.
private func basis<Scalar>(_ index: Int, _ shape: [Int]) -> Tensor<Scalar> {
  var e = Tensor<Scalar>(zeros: shape)
  e.withUnsafeMutableBufferPointer { $0[index] = 1 }
  return e
}
