// Random straight-line programs over Autodiff's operations, for the differential test against
// JAX (DifferentialTests.swift): the program type, its text form, and its interpreter.
//
// A program reads its inputs into registers r0, r1, …, and each instruction writes the next
// register from earlier ones. Its text has one line per input and per instruction:
//
//   in r0 [2,3]
//   in r1 [3]
//   r2 = add r0 r1
//   r3 = matmul r2 r2 tA=0 tB=1
//   r4 = shift r3 c=5.25 g=0.0
//   r5 = logdet r4
//
// and its output is the last register. Attributes are `name=value` with JSON values (integers,
// numbers in Swift's shortest round-trip form, lists of integers) or a bare word, so Python
// reads each number back exactly. The decompositions appear only through uses that do not
// depend on the signs LAPACK picks for their vectors (Q·R, Q·Qᵀ, Rᵀ·R, the eigenvalues,
// V·diag(f(λ))·Vᵀ, the singular values, U·diag(f(s))·Vᵀ), so both sides compute the same function.

import Autodiff

/// One operation of a random program: an Autodiff function, or a short sign-invariant use of a
/// decomposition. The raw value is the operation's name in the program text.
enum Operation: String, CaseIterable, Sendable {
  // Elementwise functions of one tensor.
  case negate = "neg"
  case exp, log, sqrt, sin, cos, tanh, sigmoid, relu, abs, square
  case log1p, expm1, erf, softplus, silu, gelu
  case geluTanh = "gelu_tanh"
  case tan, asin, acos, atan, sinh, cosh
  case sign, floor, ceil, round
  // With the scalar attribute `c`: leaky ReLU's negative slope, ELU's α.
  case leakyRelu = "leaky_relu"
  case elu
  // clamp(x, min: y, max: z) with tensor bounds; with the scalar attributes `lo` and `hi`.
  case clamp
  case clampScalar = "clamps"
  // Comparisons, which give masks of 0s and 1s, and where(mask, a, b).
  case greater = "gt"
  case greaterOrEqual = "ge"
  case less = "lt"
  case lessOrEqual = "le"
  case equal = "eq"
  case notEqual = "ne"
  case `where`
  // Elementwise functions of two tensors that broadcast.
  case add
  case subtract = "sub"
  case multiply = "mul"
  case divide = "div"
  case pow, max, min, atan2
  // A tensor and the scalar attribute `c`: x + c, x·c, c − x, c / x, xᶜ, cˣ, max(x, c), min(c, x).
  case addScalar = "adds"
  case multiplyScalar = "muls"
  case subtractFromScalar = "rsubs"
  case divideScalar = "rdivs"
  case powerScalar = "pows"
  case scalarPower = "rpows"
  case maxScalar = "maxs"
  case minScalar = "mins"
  // Reductions along `axes` (kept when `keep=1`), and over all elements.
  case sum, mean
  case maxAlong = "maxalong"
  case sumAll = "sumall"
  case meanAll = "meanall"
  case maxAll = "maxall"
  case minAlong = "minalong"
  // Products, variances and standard deviations (`ddof` as NumPy's), log-sum-exp along `axes`
  // (kept when `keep=1`), and running sums along `axis`.
  case product = "prod"
  case variance = "var"
  case standardDeviation = "std"
  case logSumExp = "logsumexp"
  case cumulativeSum = "cumsum"
  // Moving elements.
  case reshape
  case transpose = "T"
  case permute, expand, slice, concat
  // x[i, 1..<3, .all, -1]: the word attribute `i` in NumPy's syntax (`1,1:3,:,-1`); and
  // x.gathering(atIndices: idx, alongAxis: axis), whose indices may repeat and be negative.
  case index, gather
  // Two tensors of one shape stacked along a new `axis`; piece `k` of `n` equal pieces along
  // `axis`.
  case stack, split
  // Reversed along `axes`; tiled by `reps`; each slice along `axis` repeated `n` times, or
  // `counts[j]` times; padded by `w` (before and after for each axis in turn) with the value `c`.
  case flip, tile
  case `repeat`
  case repeatCounts = "repeats"
  case pad
  case softmax
  case logSoftmax = "logsoftmax"
  // matmul(a, b) with transpose flags, and matmul(a, b, plus: bias).
  case matmul, affine
  // matmul of vectors and stacks (b's matrices transposed when `tB=1`), as NumPy's matmul.
  case stackedMatmul = "bmm"
  // Einstein summation of one or two tensors by the word attribute `eq`, as `"iJ,Jk->ki"`.
  case einsum
  // The 2-norm along `axes` (kept when `keep=1`); values sorted along `axis` (largest first
  // when `desc=1`); the `k` largest along the last axis.
  case norm, sort
  case topK = "topk"
  // The lower (`lower=1`) or upper triangle of each matrix from diagonal `k`.
  case triangle = "tri"
  // M + diag(c + g·i): how the generator makes a matrix well conditioned.
  case shift
  // Linear algebra. `signlogdet` is sign·logAbs of logDeterminant.
  case solve, inverse
  case determinant = "det"
  case logDeterminant = "logdet"
  case signedLogDeterminant = "signlogdet"
  case cholesky
  case choleskySolve = "cholsolve"
  case triangularSolve = "trisolve"
  case qrProduct = "qr_qr"
  case qrProjector = "qr_qqt"
  case qrGram = "qr_rtr"
  case eigenvalues = "eigvals"
  case eigenFunction = "eigfn"
  case singularValues = "svdvals"
  case singularFunction = "svdfn"
}

/// The value of one attribute of an instruction.
enum Attribute: CustomStringConvertible, Sendable {
  case int(Int)
  case number(Double)
  case ints([Int])
  case word(String)

  var description: String {
    switch self {
    case .int(let value): "\(value)"
    case .number(let value): "\(value)"
    case .ints(let values): "[\(values.map(String.init).joined(separator: ","))]"
    case .word(let value): value
    }
  }
}

/// One line of a program: an operation on earlier registers, writing the next register.
struct Instruction: Sendable {
  var operation: Operation
  var operands: [Int]
  var attributes: [(name: String, value: Attribute)] = []

  /// The integer attribute `name`.
  func int(_ name: String) -> Int {
    guard case .int(let value) = attribute(name) else { fatalError("\(name) is not an integer") }
    return value
  }

  /// The integer attribute `name` as a flag: 0 is false.
  func flag(_ name: String) -> Bool { int(name) != 0 }

  /// The number attribute `name`.
  func number(_ name: String) -> Double {
    guard case .number(let value) = attribute(name) else { fatalError("\(name) is not a number") }
    return value
  }

  /// The list attribute `name`.
  func ints(_ name: String) -> [Int] {
    guard case .ints(let values) = attribute(name) else { fatalError("\(name) is not a list") }
    return values
  }

  /// The word attribute `name`.
  func word(_ name: String) -> String {
    guard case .word(let value) = attribute(name) else { fatalError("\(name) is not a word") }
    return value
  }

  private func attribute(_ name: String) -> Attribute {
    guard let value = attributes.first(where: { $0.name == name })?.value else {
      fatalError("\(operation.rawValue) has no attribute \(name)")
    }
    return value
  }
}

/// A straight-line program over Autodiff's operations: inputs of given shapes, instructions,
/// and the last register as its output.
struct RandomProgram: Sendable {
  var inputShapes: [[Int]]
  var instructions: [Instruction]
  /// The output's shape, as computed when the program was generated.
  var outputShape: [Int]

  /// The program text that the Python evaluator reads (see the file's comment).
  var text: String {
    var lines = inputShapes.enumerated().map { register, shape in
      "in r\(register) \(Attribute.ints(shape))"
    }
    for (offset, instruction) in instructions.enumerated() {
      let words =
        ["r\(inputShapes.count + offset)", "=", instruction.operation.rawValue]
        + instruction.operands.map { "r\($0)" }
        + instruction.attributes.map { "\($0.name)=\($0.value)" }
      lines.append(words.joined(separator: " "))
    }
    return lines.joined(separator: "\n")
  }

  /// The output at `inputs`, computed by Autodiff; recorded on a tape when the inputs are.
  ///
  /// A linear-algebra error, which the generator's checks rule out, gives NaN, so that the
  /// comparison reports the program instead of the test stopping.
  func callAsFunction(_ inputs: [Tensor<Double>]) -> Tensor<Double> {
    var registers = inputs
    do {
      for instruction in instructions {
        registers.append(try instruction.apply(to: registers))
      }
    } catch {
      return Tensor(repeating: .nan, shape: outputShape)
    }
    return registers[registers.count - 1]
  }
}

extension RandomProgram {
  /// The program without the instructions its output does not depend on, its registers
  /// renumbered: JAX's time grows with the program, and a dead instruction tests nothing.
  var withoutDeadCode: RandomProgram {
    let inputCount = inputShapes.count
    var live = Set([inputCount + instructions.count - 1])
    for (offset, instruction) in instructions.enumerated().reversed()
    where live.contains(inputCount + offset) {
      live.formUnion(instruction.operands)
    }
    var renumbered = Dictionary(uniqueKeysWithValues: (0..<inputCount).map { ($0, $0) })
    var kept: [Instruction] = []
    for (offset, instruction) in instructions.enumerated() where live.contains(inputCount + offset)
    {
      var copy = instruction
      copy.operands = instruction.operands.map { renumbered[$0]! }
      renumbered[inputCount + offset] = inputCount + kept.count
      kept.append(copy)
    }
    return RandomProgram(inputShapes: inputShapes, instructions: kept, outputShape: outputShape)
  }
}

extension Instruction {
  /// The instruction's result, computed by Autodiff from `registers`.
  func apply(to registers: [Tensor<Double>]) throws(LinearAlgebraError) -> Tensor<Double> {
    let x = registers[operands[0]]
    var y: Tensor<Double> { registers[operands[1]] }
    var c: Double { number("c") }
    switch operation {
    case .negate: return -x
    case .exp: return Autodiff.exp(x)
    case .log: return Autodiff.log(x)
    case .sqrt: return Autodiff.sqrt(x)
    case .sin: return Autodiff.sin(x)
    case .cos: return Autodiff.cos(x)
    case .tanh: return Autodiff.tanh(x)
    case .sigmoid: return Autodiff.sigmoid(x)
    case .relu: return Autodiff.relu(x)
    case .abs: return Autodiff.abs(x)
    case .square: return x.squared()
    case .log1p: return Autodiff.log1p(x)
    case .expm1: return Autodiff.expm1(x)
    case .erf: return Autodiff.erf(x)
    case .tan: return Autodiff.tan(x)
    case .asin: return Autodiff.asin(x)
    case .acos: return Autodiff.acos(x)
    case .atan: return Autodiff.atan(x)
    case .sinh: return Autodiff.sinh(x)
    case .cosh: return Autodiff.cosh(x)
    case .softplus: return Autodiff.softplus(x)
    case .silu: return Autodiff.silu(x)
    case .gelu: return Autodiff.gelu(x)
    case .geluTanh: return Autodiff.gelu(x, approximation: .tanh)
    case .sign: return Autodiff.sign(x)
    case .floor: return Autodiff.floor(x)
    case .ceil: return Autodiff.ceil(x)
    case .round: return Autodiff.round(x)
    case .leakyRelu: return Autodiff.leakyRelu(x, negativeSlope: c)
    case .elu: return Autodiff.elu(x, alpha: c)
    case .clamp: return Autodiff.clamp(x, min: y, max: registers[operands[2]])
    case .clampScalar: return Autodiff.clamp(x, min: number("lo"), max: number("hi"))
    case .greater: return x .> y
    case .greaterOrEqual: return x .>= y
    case .less: return x .< y
    case .lessOrEqual: return x .<= y
    case .equal: return x .== y
    case .notEqual: return x .!= y
    case .where: return Autodiff.where(x, y, registers[operands[2]])
    case .add: return x + y
    case .subtract: return x - y
    case .multiply: return x * y
    case .divide: return x / y
    case .pow: return Autodiff.pow(x, y)
    case .max: return Autodiff.max(x, y)
    case .min: return Autodiff.min(x, y)
    case .atan2: return Autodiff.atan2(x, y)
    case .addScalar: return x + c
    case .multiplyScalar: return x * c
    case .subtractFromScalar: return c - x
    case .divideScalar: return c / x
    case .powerScalar: return Autodiff.pow(x, c)
    case .scalarPower: return Autodiff.pow(c, x)
    case .maxScalar: return Autodiff.max(x, c)
    case .minScalar: return Autodiff.min(c, x)
    case .sum:
      return flag("keep") ? x.sum(alongAxes: ints("axes")) : x.sum(squeezingAxes: ints("axes"))
    case .mean:
      return flag("keep") ? x.mean(alongAxes: ints("axes")) : x.mean(squeezingAxes: ints("axes"))
    case .maxAlong: return x.max(alongAxes: ints("axes"))
    case .sumAll: return x.sum()
    case .meanAll: return x.mean()
    case .maxAll: return x.max()
    case .minAlong: return x.min(alongAxes: ints("axes"))
    case .product:
      return flag("keep")
        ? x.product(alongAxes: ints("axes")) : x.product(squeezingAxes: ints("axes"))
    case .variance:
      return flag("keep")
        ? x.variance(alongAxes: ints("axes"), correction: int("ddof"))
        : x.variance(squeezingAxes: ints("axes"), correction: int("ddof"))
    case .standardDeviation:
      return flag("keep")
        ? x.standardDeviation(alongAxes: ints("axes"), correction: int("ddof"))
        : x.standardDeviation(squeezingAxes: ints("axes"), correction: int("ddof"))
    case .logSumExp:
      return flag("keep")
        ? x.logSumExp(alongAxes: ints("axes")) : x.logSumExp(squeezingAxes: ints("axes"))
    case .cumulativeSum: return x.cumulativeSum(alongAxis: int("axis"))
    case .reshape: return x.reshaped(to: ints("shape"))
    case .transpose: return x.transposed()
    case .permute: return x.transposed(permutation: ints("perm"))
    case .expand: return x.expanded(to: ints("shape"))
    case .slice:
      let range = int("lo")..<int("hi")
      return int("axis") == 0 ? x[range] : x.sliced(alongAxis: int("axis"), range)
    case .concat:
      return Tensor(concatenating: operands.map { registers[$0] }, alongAxis: int("axis"))
    case .index:
      let i = tensorIndices(word("i"))
      switch i.count {
      case 1: return x[i[0]]
      case 2: return x[i[0], i[1]]
      case 3: return x[i[0], i[1], i[2]]
      case 4: return x[i[0], i[1], i[2], i[3]]
      case let count: fatalError("index: \(count) indices")
      }
    case .gather: return x.gathering(atIndices: ints("idx"), alongAxis: int("axis"))
    case .stack:
      return Tensor(stacking: operands.map { registers[$0] }, alongAxis: int("axis"))
    case .split: return x.split(into: int("n"), alongAxis: int("axis"))[int("k")]
    case .flip: return x.flipped(alongAxes: ints("axes"))
    case .tile: return x.tiled(ints("reps"))
    case .repeat: return x.repeated(int("n"), alongAxis: int("axis"))
    case .repeatCounts: return x.repeated(ints("counts"), alongAxis: int("axis"))
    case .pad:
      let w = ints("w")
      return x.padded(
        stride(from: 0, to: w.count, by: 2).map { (w[$0], w[$0 + 1]) }, with: c)
    case .softmax: return Autodiff.softmax(x, alongAxis: int("axis"))
    case .logSoftmax: return Autodiff.logSoftmax(x, alongAxis: int("axis"))
    case .matmul: return Autodiff.matmul(x, transposed: flag("tA"), y, transposed: flag("tB"))
    case .affine: return Autodiff.matmul(x, y, plus: registers[operands[2]])
    case .stackedMatmul: return Autodiff.matmul(x, transposed: false, y, transposed: flag("tB"))
    case .einsum: return Autodiff.einsum(word("eq"), operands.map { registers[$0] })
    case .norm:
      return flag("keep") ? x.norm(alongAxes: ints("axes")) : x.norm(squeezingAxes: ints("axes"))
    case .sort: return x.sorted(alongAxis: int("axis"), descending: flag("desc")).values
    case .topK: return x.topK(int("k")).values
    case .triangle:
      return flag("lower")
        ? x.lowerTriangular(diagonal: int("k")) : x.upperTriangular(diagonal: int("k"))
    case .shift: return x + shiftMatrix(x.shape, c: c, g: number("g"))
    case .solve: return try Autodiff.solve(x, y)
    case .inverse: return try Autodiff.inverse(x)
    case .determinant: return Autodiff.determinant(x)
    case .logDeterminant: return Autodiff.logDeterminant(x).logAbs
    case .signedLogDeterminant:
      let (sign, logAbs) = Autodiff.logDeterminant(x)
      return sign * logAbs
    case .cholesky: return try Autodiff.cholesky(x)
    case .choleskySolve: return try Autodiff.choleskySolve(x, y)
    case .triangularSolve:
      return try Autodiff.triangularSolve(
        x, y, lower: flag("lower"), transposed: flag("trans"), unitDiagonal: flag("unit"))
    case .qrProduct:
      let (q, r) = Autodiff.qr(x)
      return Autodiff.matmul(q, r)
    case .qrProjector:
      let q = Autodiff.qr(x).q
      return Autodiff.matmul(q, transposed: false, q, transposed: true)
    case .qrGram:
      let r = Autodiff.qr(x).r
      return Autodiff.matmul(r, transposed: true, r, transposed: false)
    case .eigenvalues: return try eigh(x).values
    case .eigenFunction:
      let (values, vectors) = try eigh(x)
      return Autodiff.matmul(
        vectors * spectralFunction(values), transposed: false, vectors, transposed: true)
    case .singularValues: return try svd(x).s
    case .singularFunction:
      let (u, s, v) = try svd(x)
      return Autodiff.matmul(u * spectralFunction(s), transposed: false, v, transposed: true)
    }
  }

  /// f(λ) for the attribute `f`: one of `id`, `sqrt`, `log`, `square`.
  private func spectralFunction(_ values: Tensor<Double>) -> Tensor<Double> {
    switch word("f") {
    case "id": values
    case "sqrt": Autodiff.sqrt(values)
    case "log": Autodiff.log(values)
    case "square": values.squared()
    case let f: fatalError("unknown spectral function \(f)")
    }
  }
}

/// The indices written `1,1:3,:,-1` (NumPy's syntax, which the `index` operation's attribute
/// uses): an integer, a range `lower:upper`, or `:` for the whole axis.
func tensorIndices(_ text: String) -> [any TensorIndexExpression] {
  text.split(separator: ",").map { part -> any TensorIndexExpression in
    if part == ":" { return .all }
    let bounds = part.split(separator: ":", omittingEmptySubsequences: false).map { Int($0)! }
    return bounds.count == 1 ? bounds[0] : bounds[0]..<bounds[1]
  }
}

/// The constant m×n matrix with c + g·i at (i, i) and zeros elsewhere.
func shiftMatrix(_ shape: [Int], c: Double, g: Double) -> Tensor<Double> {
  let (m, n) = (shape[0], shape[1])
  var scalars = [Double](repeating: 0, count: m * n)
  for i in 0..<Swift.min(m, n) { scalars[i * n + i] = c + g * Double(i) }
  return Tensor(shape: shape, scalars: scalars)
}

/// The spectral functions `eigfn` and `svdfn` may apply to the eigen- or singular values.
let spectralFunctionNames = ["id", "sqrt", "log", "square"]
