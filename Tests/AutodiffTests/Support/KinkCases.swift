// Programs that sit exactly on a kink where Autodiff and JAX choose the same one-sided rule, to
// run beside the random programs (which stay away from kinks):
//
// - a tie in max(a, b) or min(a, b), tensors or a tensor and a scalar, gives each side half the
//   gradient and half the tangent;
// - relu has derivative 0 at 0, and ELU the negative side's, α (first and second);
// - floor, round and sign have derivative 0 at their jumps, and agree on their values there
//   (round takes a tie to the even integer).
//
// The inputs hold exact ties (equal elements, elements equal to the scalar, zeros), which both
// sides receive bit for bit. Kinks where the two choose differently are left out: the maximum
// over axes gives a tie's whole gradient to the first maximal element (JAX splits it), abs has
// derivative 0 at 0 (JAX 1), leaky ReLU's at 0 is its slope (JAX 1), clamp's at a bound is 1 (JAX
// ½), and a NaN operand of relu, max or min gets a NaN gradient (JAX 0).

import Autodiff

extension DifferentialCase {
  /// The programs on kinks, on seeded inputs of shape [2, 3] with ties in half their elements.
  static func kinkCases(using random: inout SeededGenerator) -> [DifferentialCase] {
    func instruction(
      _ operation: Operation, _ operands: [Int],
      _ attributes: [(name: String, value: Attribute)] = []
    ) -> Instruction {
      Instruction(operation: operation, operands: operands, attributes: attributes)
    }
    let c = 0.5
    /// Elements drawn from [-2, 2), every other one replaced by `tie(index)`.
    func tied(_ tie: (Int) -> Double) -> Tensor<Double> {
      let drawn = Tensor<Double>(randomUniform: [2, 3], in: -2..<2, using: &random).scalars
      return Tensor(
        shape: [2, 3], scalars: drawn.indices.map { $0 % 2 == 0 ? tie($0) : drawn[$0] })
    }
    let a = Tensor<Double>(randomUniform: [2, 3], in: -2..<2, using: &random)
    let b = tied { a.scalars[$0] }
    let programs: [(inputs: [Tensor<Double>], instructions: [Instruction])] = [
      // max(a, b)² and min(a, b)², a and b tied in half their elements.
      ([a, b], [instruction(.max, [0, 1]), instruction(.square, [2])]),
      ([a, b], [instruction(.min, [0, 1]), instruction(.square, [2])]),
      // max(x, c)² and min(c, x)², x equal to c in half its elements.
      (
        [tied { _ in c }],
        [instruction(.maxScalar, [0], [("c", .number(c))]), instruction(.square, [1])]
      ),
      (
        [tied { _ in c }],
        [instruction(.minScalar, [0], [("c", .number(c))]), instruction(.square, [1])]
      ),
      // relu(x)·eˣ, x zero in half its elements: the gradient there is relu'(0)·e⁰.
      (
        [tied { _ in 0 }],
        [instruction(.relu, [0]), instruction(.exp, [0]), instruction(.multiply, [1, 2])]
      ),
      // elu(x)·eˣ, x zero in half its elements: elu'(0) = α, elu''(0) = α in both.
      (
        [tied { _ in 0 }],
        [
          instruction(.elu, [0], [("c", .number(1.5))]), instruction(.exp, [0]),
          instruction(.multiply, [1, 2]),
        ]
      ),
      // floor(x)·x, x an integer in half its elements; sign(x)·x, x zero there.
      ([tied { Double($0 - 2) }], [instruction(.floor, [0]), instruction(.multiply, [1, 0])]),
      ([tied { _ in 0 }], [instruction(.sign, [0]), instruction(.multiply, [1, 0])]),
      // round(x)·x, x halfway between two integers in half its elements.
      ([tied { Double($0) - 1.5 }], [instruction(.round, [0]), instruction(.multiply, [1, 0])]),
    ]
    return programs.map { inputs, instructions in
      let program = RandomProgram(
        inputShapes: inputs.map(\.shape), instructions: instructions, outputShape: [2, 3])
      return DifferentialCase(
        program: program, inputs: inputs,
        directions: inputs.map { Tensor(randomUniform: $0.shape, in: -1..<1, using: &random) },
        upstream: Tensor(randomUniform: [2, 3], in: -1..<1, using: &random))
    }
  }
}
