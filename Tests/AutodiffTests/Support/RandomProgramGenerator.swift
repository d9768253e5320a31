// How random programs are drawn: each step picks an operation, operands among the registers
// and attributes, computes the result on the program's inputs, and keeps the step only if the
// result is usable. So every program is smooth at its inputs by construction:
//
// - domains: log, sqrt, the base of pow and a divisor get a register whose elements are
//   ≥ 0.1 (or, for a divisor, ≥ 0.1 in magnitude), else the program first makes one, x² + c;
//   asin and acos get elements within [−0.9, 0.9], tan within 1.2 of a multiple of π (0.37
//   from its poles), else 0.9·tanh x; atan2 gets points at least 0.1 from the origin;
// - kinks: relu, abs, sign, leaky ReLU and ELU get elements at least `kinkMargin` from 0,
//   floor and ceil from the integers, round from the halves between them; max, min, clamp and
//   the comparisons get operands at least that far apart, and a maximum over axes a group whose
//   largest element leads the next by that much (broadcast copies tie exactly, and the tie rules
//   differ: Autodiff gives a reduction's gradient to the first maximum, JAX splits it); `where`
//   gets a mask of 0s and 1s, made by a comparison when no register is one;
// - conditioning: each matrix a decomposition or a solve reads is M + diag(c + g·i) with
//   c ≥ ‖M‖_F + 1, so its singular values are ≥ 1 (Weyl), and for eigh and svd g ≥ 2‖M‖_F + 1,
//   so the eigen- and singular values lie ≥ 1 apart and their second derivatives are tame;
// - size: every element is finite and below 10⁴ in magnitude, and a register has at most 64
//   elements.

import Autodiff

/// A random program and the data it is compared on: inputs, a direction per input (for
/// forward mode and Hessian-vector products) and the upstream gradient u of the output
/// (every gradient is that of Σ(output·u)).
struct DifferentialCase: Sendable {
  var program: RandomProgram
  var inputs: [Tensor<Double>]
  var directions: [Tensor<Double>]
  var upstream: Tensor<Double>
}

extension DifferentialCase {
  /// Draws a program of 2 to 7 operations (plus the ones that prepare their operands) over
  /// 1 to 3 inputs of broadcasting shapes, keeps those its output depends on, and draws its
  /// data.
  static func random(using random: inout SeededGenerator) -> DifferentialCase {
    let shapes = broadcastingShapes(count: Int.random(in: 1...3, using: &random), using: &random)
    let inputs = shapes.map { Tensor<Double>(randomUniform: $0, in: -2..<2, using: &random) }
    var builder = ProgramBuilder(inputs: inputs)
    let length = Int.random(in: 2...7, using: &random)
    var steps = 0
    for _ in 0..<200 where steps < length {
      var trial = builder
      let operation = Operation.allCases.randomElement(using: &random)!
      if trial.append(operation, using: &random) {
        builder = trial
        steps += 1
      }
    }
    let output = builder.registers[builder.registers.count - 1]
    return DifferentialCase(
      program: RandomProgram(
        inputShapes: shapes, instructions: builder.instructions, outputShape: output.shape
      ).withoutDeadCode,
      inputs: inputs,
      directions: shapes.map { Tensor(randomUniform: $0, in: -1..<1, using: &random) },
      upstream: Tensor(randomUniform: output.shape, in: -1..<1, using: &random))
  }

  /// Shapes that broadcast together: a base shape of rank 0 to 3 and extents 1 to 4, from
  /// which each shape keeps some axes (the others become 1) and drops some leading axes.
  static func broadcastingShapes(count: Int, using random: inout SeededGenerator) -> [[Int]] {
    let base = (0..<Int.random(in: 0...3, using: &random)).map { _ in
      Int.random(in: 1...4, using: &random)
    }
    return (0..<count).map { _ in
      let kept = base.map { Double.random(in: 0..<1, using: &random) < 0.75 ? $0 : 1 }
      let dropped = Bool.random(using: &random) ? Int.random(in: 0...kept.count, using: &random) : 0
      return Array(kept.dropFirst(dropped))
    }
  }
}

/// A program under construction with the value of each register on the program's inputs.
struct ProgramBuilder {
  /// How far from a kink (0 for relu and abs, a tie for max and min) an argument must stay.
  static let kinkMargin = 1e-6

  private(set) var registers: [Tensor<Double>]
  private(set) var instructions: [Instruction] = []

  init(inputs: [Tensor<Double>]) { registers = inputs }

  /// Appends `operation`, with the operations that prepare its operands, and returns true; or
  /// returns false, leaving `self` in an unspecified state, when its result is unusable.
  mutating func append(_ operation: Operation, using random: inout SeededGenerator) -> Bool {
    var rng = random
    defer { random = rng }
    func scalar(_ range: ClosedRange<Int>) -> Double {
      Double(Int.random(in: range, using: &rng)) / 4
    }
    func emit(_ operands: [Int], _ attributes: [(name: String, value: Attribute)] = []) -> Bool {
      self.emit(Instruction(operation: operation, operands: operands, attributes: attributes))
    }
    let any = pick(using: &rng) { _ in true }
    switch operation {
    case .negate, .exp, .sin, .cos, .tanh, .sigmoid, .square, .expm1, .erf, .softplus, .silu,
      .gelu, .geluTanh, .atan, .sinh, .cosh:
      return emit([any])
    case .asin, .acos:
      let x = registers[any].scalars.allSatisfy { Swift.abs($0) <= 0.9 } ? any : bounded(any)
      return emit([x])
    case .tan:
      let nearPole = registers[any].scalars.contains {
        Swift.abs($0 - ($0 / Double.pi).rounded() * Double.pi) > 1.2
      }
      return emit([nearPole ? bounded(any) : any])
    case .relu, .abs, .sign:
      return registers[any].scalars.allSatisfy { Swift.abs($0) >= Self.kinkMargin } && emit([any])
    case .leakyRelu, .elu:
      // JAX's leaky_relu takes the positive side's derivative at 0, Autodiff PyTorch's negative.
      return registers[any].scalars.allSatisfy { Swift.abs($0) >= Self.kinkMargin }
        && emit([any], [("c", .number(scalar(1...8)))])
    case .floor, .ceil:
      return registers[any].scalars.allSatisfy {
        Swift.abs($0 - $0.rounded()) >= Self.kinkMargin
      } && emit([any])
    case .round:
      return registers[any].scalars.allSatisfy {
        Swift.abs($0 - $0.rounded(.down) - 0.5) >= Self.kinkMargin
      } && emit([any])
    case .log, .sqrt:
      return emit([positive(any, using: &rng)])
    case .log1p:
      let x = registers[any].scalars.allSatisfy { $0 >= -0.9 } ? any : positive(any, using: &rng)
      return emit([x])
    case .greater, .greaterOrEqual, .less, .lessOrEqual, .equal, .notEqual:
      guard let (x, y) = distinctPair(any, using: &rng) else { return false }
      return emit([x, y])
    case .clamp:
      // Bounds apart from x and from each other (clip's tie rules differ: JAX splits the
      // gradient, Autodiff gives it to x as PyTorch); min > max is allowed, max wins in both.
      let low = pick(excluding: any, using: &rng) { broadcasts(registers[any].shape, $0.shape) }
      let high = pick(excluding: any, using: &rng) {
        broadcasts(registers[any].shape, $0.shape) && broadcasts(registers[low].shape, $0.shape)
      }
      let operands = [any, low, high]
      for (i, j) in [(0, 1), (0, 2), (1, 2)] {
        let (a, b) = (registers[operands[i]], registers[operands[j]])
        guard broadcasts(a.shape, b.shape),
          Autodiff.abs(a - b).scalars.allSatisfy({ $0 >= Self.kinkMargin })
        else { return false }
      }
      return emit(operands)
    case .clampScalar:
      let (low, high) = (scalar(-6...6), scalar(-6...6))
      guard
        registers[any].scalars.allSatisfy({
          Swift.abs($0 - low) >= Self.kinkMargin && Swift.abs($0 - high) >= Self.kinkMargin
        })
      else { return false }
      return emit([any], [("lo", .number(low)), ("hi", .number(high))])
    case .where:
      var mask = pick(using: &rng) { $0.scalars.allSatisfy { $0 == 0 || $0 == 1 } }
      if !registers[mask].scalars.allSatisfy({ $0 == 0 || $0 == 1 }) {
        guard let (x, y) = distinctPair(any, using: &rng),
          broadcastCount(registers[x].shape, registers[y].shape) <= 64
        else { return false }
        mask = emitted(.greater, [x, y])
      }
      let a = pick(using: &rng) { broadcasts(registers[mask].shape, $0.shape) }
      let b = pick(excluding: a, using: &rng) {
        broadcasts(registers[mask].shape, $0.shape) && broadcasts(registers[a].shape, $0.shape)
      }
      guard broadcasts(registers[mask].shape, registers[a].shape),
        broadcasts(registers[mask].shape, registers[b].shape),
        broadcasts(registers[a].shape, registers[b].shape)
      else { return false }
      return emit([mask, a, b])
    case .add, .subtract, .multiply, .divide, .pow, .max, .min, .atan2:
      // max(x, x) ties everywhere: its operands differ.
      let excluded = operation == .max || operation == .min ? any : nil
      var y = pick(excluding: excluded, using: &rng) { broadcasts(registers[any].shape, $0.shape) }
      var x = any
      guard broadcasts(registers[x].shape, registers[y].shape) else { return false }
      if Bool.random(using: &rng) { swap(&x, &y) }
      if operation == .divide { y = awayFromZero(y, using: &rng) }
      if operation == .pow { x = positive(x, using: &rng) }
      if operation == .max || operation == .min {
        let gap = Autodiff.abs(registers[x] - registers[y]).scalars
        guard gap.allSatisfy({ $0 >= Self.kinkMargin }) else { return false }
      }
      if operation == .atan2 {
        let squaredNorm = (registers[x].squared() + registers[y].squared()).scalars
        guard squaredNorm.allSatisfy({ $0 >= 0.01 }) else { return false }
      }
      return emit([x, y])
    case .addScalar, .multiplyScalar, .subtractFromScalar:
      return emit([any], [("c", .number(scalar(-8...8)))])
    case .divideScalar:
      return emit([awayFromZero(any, using: &rng)], [("c", .number(scalar(-8...8)))])
    case .powerScalar:
      return emit([positive(any, using: &rng)], [("c", .number(scalar(-8...12)))])
    case .scalarPower:
      return emit([any], [("c", .number(scalar(1...12)))])
    case .maxScalar, .minScalar:
      let c = scalar(-6...6)
      guard registers[any].scalars.allSatisfy({ Swift.abs($0 - c) >= Self.kinkMargin }) else {
        return false
      }
      return emit([any], [("c", .number(c))])
    case .sum, .mean, .maxAlong, .minAlong, .product, .variance, .standardDeviation, .logSumExp:
      let x = pick(using: &rng) { $0.rank >= 1 }
      let rank = registers[x].rank
      guard rank >= 1 else { return false }
      var axes = (0..<rank).filter { _ in Bool.random(using: &rng) }
      if axes.isEmpty { axes = [Int.random(in: 0..<rank, using: &rng)] }
      axes = axes.map { Bool.random(using: &rng) ? $0 - rank : $0 }
      if operation == .maxAlong || operation == .minAlong {
        let sign: Double = operation == .maxAlong ? 1 : -1
        guard hasUniqueMaxima(sign * registers[x], alongAxes: axes) else { return false }
        return emit([x], [("axes", .ints(axes))])
      }
      var attributes: [(name: String, value: Attribute)] = [
        ("axes", .ints(axes)), ("keep", .int(Int.random(in: 0...1, using: &rng))),
      ]
      if operation == .variance || operation == .standardDeviation {
        // n > ddof, and a standard deviation away from its kink at a variance of 0.
        let count = axes.reduce(1) { $0 * registers[x].shape[($1 + rank) % rank] }
        let ddof = Int.random(in: 0...1, using: &rng)
        guard count > ddof else { return false }
        if operation == .standardDeviation {
          let variance = registers[x].variance(alongAxes: axes, correction: ddof)
          guard variance.scalars.allSatisfy({ $0 >= 0.01 }) else { return false }
        }
        attributes.append(("ddof", .int(ddof)))
      }
      return emit([x], attributes)
    case .sumAll, .meanAll:
      return emit([any])
    case .maxAll:
      return hasUniqueMaxima(registers[any], alongAxes: Array(registers[any].shape.indices))
        && emit([any])
    case .reshape:
      return emit([any], [("shape", .ints(randomShape(count: registers[any].scalarCount, &rng)))])
    case .transpose:
      return emit([any])
    case .permute:
      let x = pick(using: &rng) { $0.rank >= 2 }
      let permutation = Array(registers[x].shape.indices).shuffled(using: &rng)
      return emit([x], [("perm", .ints(permutation))])
    case .expand:
      var shape = registers[any].shape.map { $0 == 1 ? Int.random(in: 1...4, using: &rng) : $0 }
      if shape.count < 4 && Bool.random(using: &rng) {
        shape.insert(Int.random(in: 1...3, using: &rng), at: 0)
      }
      return emit([any], [("shape", .ints(shape))])
    case .slice:
      guard let (x, axis) = pickLongAxis(using: &rng) else { return false }
      let extent = registers[x].shape[axis]
      let lo = Int.random(in: 0..<extent, using: &rng)
      let hi = Int.random(in: (lo + 1)...extent, using: &rng)
      return emit([x], [("axis", .int(axis)), ("lo", .int(lo)), ("hi", .int(hi))])
    case .concat:
      let x = pick(using: &rng) { $0.rank >= 1 }
      let shape = registers[x].shape
      guard let axis = shape.indices.randomElement(using: &rng) else { return false }
      let y = pick(using: &rng) { other in
        other.rank == shape.count
          && shape.indices.allSatisfy { $0 == axis || other.shape[$0] == shape[$0] }
      }
      return emit([x, y], [("axis", .int(axis))])
    case .index:
      let x = pick(using: &rng) { $0.rank >= 1 }
      let shape = registers[x].shape
      guard !shape.isEmpty else { return false }
      let parts = shape.prefix(Int.random(in: 1...shape.count, using: &rng)).map { extent in
        switch Int.random(in: 0..<3, using: &rng) {
        case 0:
          let position = Int.random(in: 0..<extent, using: &rng)
          return "\(Bool.random(using: &rng) ? position - extent : position)"
        case 1:
          let lower = Int.random(in: 0..<extent, using: &rng)
          return "\(lower):\(Int.random(in: (lower + 1)...extent, using: &rng))"
        default: return ":"
        }
      }
      return emit([x], [("i", .word(parts.joined(separator: ",")))])
    case .gather:
      let x = pick(using: &rng) { $0.rank >= 1 }
      let shape = registers[x].shape
      guard let axis = shape.indices.randomElement(using: &rng) else { return false }
      let extent = shape[axis]
      let indices = (0..<Int.random(in: 1...4, using: &rng)).map { _ in
        Int.random(in: -extent..<extent, using: &rng)
      }
      return emit([x], [("axis", .int(axis)), ("idx", .ints(indices))])
    case .stack:
      let x = any
      let y = pick(using: &rng) { $0.shape == registers[x].shape }
      guard registers[y].shape == registers[x].shape else { return false }
      let rank = registers[x].rank
      return emit([x, y], [("axis", .int(Int.random(in: -(rank + 1)...rank, using: &rng)))])
    case .split:
      guard let (x, axis) = pickLongAxis(using: &rng) else { return false }
      let extent = registers[x].shape[axis]
      let n = (1...extent).filter { extent % $0 == 0 }.randomElement(using: &rng)!
      return emit(
        [x],
        [("axis", .int(axis)), ("n", .int(n)), ("k", .int(Int.random(in: 0..<n, using: &rng)))])
    case .flip:
      // Any subset of the axes, in any order, each positive or negative; [] flips none.
      let rank = registers[any].rank
      let axes = (0..<rank).filter { _ in Bool.random(using: &rng) }.shuffled(using: &rng)
        .map { Bool.random(using: &rng) ? $0 - rank : $0 }
      return emit([any], [("axes", .ints(axes))])
    case .tile:
      // Fewer multiples than axes, as many, or one more (a new leading axis).
      let rank = registers[any].rank
      let length = Int.random(in: 0...Swift.min(rank + 1, 4), using: &rng)
      let multiples = (0..<length).map { _ in Int.random(in: 1...3, using: &rng) }
      return emit([any], [("reps", .ints(multiples))])
    case .repeat, .repeatCounts:
      let x = pick(using: &rng) { $0.rank >= 1 }
      let shape = registers[x].shape
      guard let axis = shape.indices.randomElement(using: &rng) else { return false }
      let signed = Bool.random(using: &rng) ? axis - shape.count : axis
      if operation == .repeat {
        return emit(
          [x], [("axis", .int(signed)), ("n", .int(Int.random(in: 1...3, using: &rng)))])
      }
      // Counts of 0 drop a slice; at least one slice is kept.
      var counts = (0..<shape[axis]).map { _ in Int.random(in: 0...3, using: &rng) }
      counts[Int.random(in: 0..<counts.count, using: &rng)] = Int.random(in: 1...3, using: &rng)
      return emit([x], [("axis", .int(signed)), ("counts", .ints(counts))])
    case .pad:
      let x = pick(using: &rng) { $0.rank >= 1 }
      let rank = registers[x].rank
      guard rank >= 1 else { return false }
      let widths = (0..<(2 * rank)).map { _ in Int.random(in: 0...2, using: &rng) }
      return emit([x], [("w", .ints(widths)), ("c", .number(scalar(-8...8)))])
    case .cumulativeSum:
      let x = pick(using: &rng) { $0.rank >= 1 }
      let rank = registers[x].rank
      guard rank >= 1 else { return false }
      return emit([x], [("axis", .int(Int.random(in: -rank..<rank, using: &rng)))])
    case .softmax, .logSoftmax:
      let x = pick(using: &rng) { $0.rank >= 1 }
      let rank = registers[x].rank
      guard rank >= 1 else { return false }
      return emit([x], [("axis", .int(Int.random(in: -rank..<rank, using: &rng)))])
    case .matmul:
      let a = matrix(using: &rng)
      let transposeA = Bool.random(using: &rng)
      let inner = registers[a].shape[transposeA ? 0 : 1]
      let b = pick(using: &rng) { $0.rank == 2 && $0.shape.contains(inner) }
      let transposeB =
        registers[b].shape[0] != inner
        || (registers[b].shape[1] == inner && Bool.random(using: &rng))
      return emit([a, b], [("tA", .int(transposeA ? 1 : 0)), ("tB", .int(transposeB ? 1 : 0))])
    case .affine:
      let a = matrix(using: &rng)
      let inner = registers[a].shape[1]
      var b = pick(using: &rng) { $0.rank == 2 && $0.shape[0] == inner }
      if registers[b].rank != 2 || registers[b].shape[0] != inner {
        b = emitted(.transpose, [a])
      }
      let n = registers[b].shape[1]
      var bias = pick(using: &rng) { $0.shape == [n] }
      if registers[bias].shape != [n] {
        bias = emitted(.sum, [b], [("axes", .ints([0])), ("keep", .int(0))])
      }
      return emit([a, b, bias])
    case .stackedMatmul:
      // x against a vector or stack whose last axis matches x's (read transposed), or x itself.
      let x = pick(using: &rng) { $0.rank >= 1 && $0.rank != 2 }
      guard let k = registers[x].shape.last else { return false }
      let batch = Array(registers[x].shape.dropLast(2))
      func fits(_ y: Tensor<Double>) -> Bool {
        y.rank == 1
          ? y.shape[0] == k
          : y.shape.last == k && broadcasts(batch, Array(y.shape.dropLast(2)))
      }
      let picked = pick(using: &rng, where: fits)
      let y = fits(registers[picked]) ? picked : x
      return emit([x, y], [("tB", .int(registers[y].rank >= 2 ? 1 : 0))])
    case .einsum:
      // One or two tensors labelled at random: an axis of x may repeat an earlier label of its
      // extent (a diagonal), an axis of y takes a label of x of its extent (a batch or a
      // contracted axis) or a new one; the output keeps a random subset of the labels in a
      // random order. Capital letters are labels too.
      let alphabet = Array("iJkLmNpQ")
      var extents: [Character: Int] = [:]
      func term(_ shape: [Int], sharing share: Double) -> String {
        var labels: [Character] = []
        for extent in shape {
          let candidates = extents.keys.filter { extents[$0] == extent }.sorted()
          if !candidates.isEmpty && Double.random(in: 0..<1, using: &rng) < share {
            labels.append(candidates.randomElement(using: &rng)!)
          } else {
            let label = alphabet[extents.count]
            extents[label] = extent
            labels.append(label)
          }
        }
        return String(labels)
      }
      let x = pick(using: &rng) { $0.rank <= 3 }
      let y = Bool.random(using: &rng) ? pick(using: &rng) { $0.rank <= 3 } : nil
      let operands = [x] + (y.map { [$0] } ?? [])
      guard operands.allSatisfy({ registers[$0].rank <= 3 }) else { return false }
      let terms =
        [term(registers[x].shape, sharing: 0.2)]
        + (y.map { [term(registers[$0].shape, sharing: 0.7)] } ?? [])
      let output = extents.keys.filter { _ in Bool.random(using: &rng) }.sorted()
        .shuffled(using: &rng)
      return emit(operands, [("eq", .word(terms.joined(separator: ",") + "->" + String(output)))])
    case .norm:
      let x = pick(using: &rng) { $0.rank >= 1 }
      let rank = registers[x].rank
      guard rank >= 1 else { return false }
      var axes = (0..<rank).filter { _ in Bool.random(using: &rng) }
      if axes.isEmpty { axes = [Int.random(in: 0..<rank, using: &rng)] }
      // Away from a group of zeros, where JAX's gradient is NaN and Autodiff's 0.
      guard registers[x].norm(alongAxes: axes).scalars.allSatisfy({ $0 >= 0.01 }) else {
        return false
      }
      return emit([x], [("axes", .ints(axes)), ("keep", .int(Int.random(in: 0...1, using: &rng)))])
    case .triangle:
      let x = pick(using: &rng) { $0.rank >= 2 }
      guard registers[x].rank >= 2 else { return false }
      return emit(
        [x],
        [
          ("lower", .int(Int.random(in: 0...1, using: &rng))),
          ("k", .int(Int.random(in: -2...2, using: &rng))),
        ])
    case .sort, .topK:
      // Distinct values, so that both libraries route each tangent to the same element.
      let x = pick(using: &rng) { $0.rank >= 1 }
      let values = registers[x].scalars.sorted()
      guard registers[x].rank >= 1, registers[x].scalarCount > 0,
        zip(values, values.dropFirst()).allSatisfy({ $1 - $0 >= Self.kinkMargin })
      else { return false }
      if operation == .topK {
        let n = registers[x].shape.last!
        return emit([x], [("k", .int(Int.random(in: 1...n, using: &rng)))])
      }
      let rank = registers[x].rank
      return emit(
        [x],
        [
          ("axis", .int(Int.random(in: -rank..<rank, using: &rng))),
          ("desc", .int(Int.random(in: 0...1, using: &rng))),
        ])
    case .shift:
      return emit(
        [matrix(using: &rng)], [("c", .number(scalar(-8...8))), ("g", .number(scalar(0...4)))])
    case .solve, .choleskySolve, .triangularSolve:
      let a: Int
      if operation == .choleskySolve && Bool.random(using: &rng) {
        a = emitted(.cholesky, [conditioned(squareMatrix(using: &rng), sign: 1)])
      } else {
        a = conditioned(squareMatrix(using: &rng), sign: Bool.random(using: &rng) ? 1 : -1)
      }
      let n = registers[a].shape[0]
      var b = pick(excluding: a, using: &rng) { (1...2).contains($0.rank) && $0.shape[0] == n }
      if !(1...2).contains(registers[b].rank) || registers[b].shape[0] != n {
        b = emitted(.square, [a])
      }
      guard operation == .triangularSolve else { return emit([a, b]) }
      let flags = ["lower", "trans", "unit"].map {
        ($0, Attribute.int(Int.random(in: 0...1, using: &rng)))
      }
      return emit([a, b], flags)
    case .inverse, .determinant, .logDeterminant, .signedLogDeterminant:
      return emit([conditioned(squareMatrix(using: &rng), sign: Bool.random(using: &rng) ? 1 : -1)])
    case .cholesky:
      return emit([conditioned(squareMatrix(using: &rng), sign: 1)])
    case .qrProduct, .qrProjector, .qrGram:
      return emit([conditioned(matrix(using: &rng), sign: Bool.random(using: &rng) ? 1 : -1)])
    case .eigenvalues, .singularValues:
      let square = operation == .eigenvalues
      return emit([
        conditioned(square ? squareMatrix(using: &rng) : matrix(using: &rng), sign: 1, graded: true)
      ])
    case .eigenFunction, .singularFunction:
      let square = operation == .eigenFunction
      let a = conditioned(
        square ? squareMatrix(using: &rng) : matrix(using: &rng), sign: 1, graded: true)
      return emit([a], [("f", .word(spectralFunctionNames.randomElement(using: &rng)!))])
    }
  }

  // MARK: Steps

  /// Appends `instruction` if its result is usable (finite, below 10⁴, at most 64 elements of
  /// rank ≤ 4); returns whether it did.
  private mutating func emit(_ instruction: Instruction) -> Bool {
    guard let result = try? instruction.apply(to: registers),
      result.rank <= 4, result.scalarCount <= 64,
      result.scalars.allSatisfy({ $0.isFinite && Swift.abs($0) < 1e4 })
    else { return false }
    registers.append(result)
    instructions.append(instruction)
    return true
  }

  /// Appends a preparing step whose result is always usable, and returns its register.
  private mutating func emitted(
    _ operation: Operation, _ operands: [Int], _ attributes: [(name: String, value: Attribute)] = []
  ) -> Int {
    let instruction = Instruction(operation: operation, operands: operands, attributes: attributes)
    registers.append(try! instruction.apply(to: registers))
    instructions.append(instruction)
    return registers.count - 1
  }

  /// A register other than `excluded` whose value satisfies `condition`: the last one when it
  /// does, half the time, else a random one that does; the last register when none does.
  private func pick(
    excluding excluded: Int? = nil, using random: inout SeededGenerator,
    where condition: (Tensor<Double>) -> Bool
  ) -> Int {
    let candidates = registers.indices.filter { $0 != excluded && condition(registers[$0]) }
    if let last = candidates.last, last == registers.count - 1, Bool.random(using: &random) {
      return last
    }
    return candidates.randomElement(using: &random) ?? registers.count - 1
  }

  /// A register with an axis of extent 2 or more (see `pick`), and one such axis at random;
  /// `nil` when the register picked has none.
  private func pickLongAxis(using random: inout SeededGenerator) -> (register: Int, axis: Int)? {
    let x = pick(using: &random) { $0.shape.contains { $0 >= 2 } }
    let axes = registers[x].shape.indices.filter { registers[x].shape[$0] >= 2 }
    return axes.randomElement(using: &random).map { (x, $0) }
  }

  /// `x` and another register that broadcasts with it, in a random order, whose elements differ
  /// by at least `kinkMargin` (a comparison of the two is the same in both libraries); `nil`
  /// when the one picked does not.
  private func distinctPair(_ x: Int, using random: inout SeededGenerator) -> (Int, Int)? {
    let y = pick(excluding: x, using: &random) { broadcasts(registers[x].shape, $0.shape) }
    guard y != x, broadcasts(registers[x].shape, registers[y].shape),
      Autodiff.abs(registers[x] - registers[y]).scalars.allSatisfy({ $0 >= Self.kinkMargin })
    else { return nil }
    return Bool.random(using: &random) ? (x, y) : (y, x)
  }

  /// `x` if its elements are ≥ 0.1, else a new register x² + c with c in {0.25, 0.5, 1}.
  private mutating func positive(_ x: Int, using random: inout SeededGenerator) -> Int {
    if registers[x].scalars.allSatisfy({ $0 >= 0.1 }) { return x }
    let squared = emitted(.square, [x])
    let c = [0.25, 0.5, 1].randomElement(using: &random)!
    return emitted(.addScalar, [squared], [("c", .number(c))])
  }

  /// 0.9·tanh x: elements in (−0.9, 0.9).
  private mutating func bounded(_ x: Int) -> Int {
    emitted(.multiplyScalar, [emitted(.tanh, [x])], [("c", .number(0.9))])
  }

  /// `x` if its elements are ≥ 0.1 in magnitude, else `positive(x)`.
  private mutating func awayFromZero(_ x: Int, using random: inout SeededGenerator) -> Int {
    registers[x].scalars.allSatisfy({ Swift.abs($0) >= 0.1 }) ? x : positive(x, using: &random)
  }

  /// A rank-2 register: a matrix one, or a register reshaped to [d, count/d].
  private mutating func matrix(using random: inout SeededGenerator) -> Int {
    let x = pick(using: &random) { $0.rank == 2 }
    if registers[x].rank == 2 { return x }
    let count = registers[x].scalarCount
    let rows = (1...count).filter { count % $0 == 0 }.randomElement(using: &random)!
    return emitted(.reshape, [x], [("shape", .ints([rows, count / rows]))])
  }

  /// A square register: a matrix, sliced to its leading square block when it is not square.
  private mutating func squareMatrix(using random: inout SeededGenerator) -> Int {
    let x = matrix(using: &random)
    let (m, n) = (registers[x].shape[0], registers[x].shape[1])
    guard m != n else { return x }
    let attributes: [(name: String, value: Attribute)] = [
      ("axis", .int(m > n ? 0 : 1)), ("lo", .int(0)), ("hi", .int(Swift.min(m, n))),
    ]
    return emitted(.slice, [x], attributes)
  }

  /// M + diag(c + g·i), c = sign·(‖M‖_F + 1) and g = 2‖M‖_F + 1 when `graded`, else 0, both
  /// rounded up to a multiple of 1/4.
  private mutating func conditioned(_ m: Int, sign: Double, graded: Bool = false) -> Int {
    let norm = registers[m].squared().sum().scalar.squareRoot()
    func roundedUp(_ x: Double) -> Double { (x * 4).rounded(.up) / 4 }
    let c = sign * roundedUp(norm + 1)
    let g = graded ? roundedUp(2 * norm + 1) : 0
    return emitted(.shift, [m], [("c", .number(c)), ("g", .number(g))])
  }
}

/// Whether NumPy's broadcasting rules join `a` and `b`.
func broadcasts(_ a: [Int], _ b: [Int]) -> Bool {
  zip(a.reversed(), b.reversed()).allSatisfy { $0 == $1 || $0 == 1 || $1 == 1 }
}

/// The number of elements of the broadcast of `a` and `b`, which broadcast.
func broadcastCount(_ a: [Int], _ b: [Int]) -> Int {
  let rank = Swift.max(a.count, b.count)
  let (a, b) = (
    [Int](repeating: 1, count: rank - a.count) + a, [Int](repeating: 1, count: rank - b.count) + b
  )
  return zip(a, b).reduce(1) { $0 * Swift.max($1.0, $1.1) }
}

/// Whether the largest element of each group reduced by `max(alongAxes: axes)` exceeds the
/// others of its group by at least `ProgramBuilder.kinkMargin`.
private func hasUniqueMaxima(_ x: Tensor<Double>, alongAxes axes: [Int]) -> Bool {
  guard x.scalarCount > 0 else { return false }
  let maxima = x.max(alongAxes: axes)
  let near = (x .>= maxima - ProgramBuilder.kinkMargin).sum(alongAxes: axes)
  return near.scalars.allSatisfy { $0 == 1 }
}

/// A random shape of rank 0 to 3 with `count` elements.
private func randomShape(count: Int, _ random: inout SeededGenerator) -> [Int] {
  var factors: [Int] = []
  var rest = count
  var p = 2
  while rest > 1 {
    while rest % p == 0 {
      factors.append(p)
      rest /= p
    }
    p += 1
  }
  let rank = Int.random(in: (count == 1 ? 0 : 1)...3, using: &random)
  var shape = [Int](repeating: 1, count: rank)
  for factor in factors { shape[Int.random(in: 0..<rank, using: &random)] *= factor }
  return shape
}
