import Autodiff
import Testing

/// Tensors from nested literals and from the constructors that NumPy users reach for first
/// (linspace, arange, eye, one-hot), and how tensors print.
@Suite struct TensorConstructionTests {
  // MARK: Literals

  @Test("A nested literal's depth is the rank and its elements are read in row-major order")
  func nestedLiterals() {
    let matrix = Tensor<Float>([[1, 2, 3], [4, 5, 6]])
    #expect(matrix.shape == [2, 3])
    #expect(matrix.scalars == [1, 2, 3, 4, 5, 6])

    let annotated: Tensor<Double> = [[1, 2], [3, 4.5]]
    #expect(annotated == Tensor(shape: [2, 2], scalars: [1, 2, 3, 4.5]))

    let cube = Tensor<Double>([[[1], [2]], [[3], [4]], [[5], [6]]])
    #expect(cube.shape == [3, 2, 1])
    #expect(cube.scalars == [1, 2, 3, 4, 5, 6])

    let vector: Tensor<Float> = [0.5, -1, 2]
    #expect(vector.shape == [3] && vector.scalars == [0.5, -1, 2])
  }

  @Test("Empty literals keep the extents they show: [] is [0], [[]] is [1, 0]")
  func emptyLiterals() {
    let none: Tensor<Float> = []
    #expect(none.shape == [0])
    let emptyRow: Tensor<Float> = [[]]
    #expect(emptyRow.shape == [1, 0])
    #expect(Tensor<Double>([[], []]).shape == [2, 0])
  }

  @Test("A literal tensor is a constant that operations and gradients accept")
  func literalsInComputation() {
    let w: Tensor<Double> = [[1, 2], [3, 4]]
    let g = gradient(at: w) { w in (w * [[10, 20], [30, 40]]).sum() }
    #expect(g == Tensor([[10, 20], [30, 40]]))
  }

  // MARK: Constructors

  @Test("linearSpaceFrom includes both ends and spaces the elements evenly")
  func linearSpace() {
    #expect(Tensor<Float>(linearSpaceFrom: 0, to: 1, count: 5).scalars == [0, 0.25, 0.5, 0.75, 1])
    #expect(Tensor<Double>(linearSpaceFrom: 2, to: -2, count: 3).scalars == [2, 0, -2])
    #expect(Tensor<Double>(linearSpaceFrom: 3, to: 7, count: 1).scalars == [3])
    #expect(Tensor<Float>(linearSpaceFrom: 3, to: 7, count: 0).shape == [0])
    // The last element is `end` exactly, though 0.1 · 9 rounds below 0.9 in Float.
    #expect(Tensor<Float>(linearSpaceFrom: 0, to: 0.9, count: 10).scalars.last == 0.9)
  }

  @Test("rangeFrom counts ⌈(end − start) / stride⌉ elements, up or down, as arange does")
  func range() {
    #expect(Tensor<Float>(rangeFrom: 0, to: 5).scalars == [0, 1, 2, 3, 4])
    #expect(Tensor<Double>(rangeFrom: 1, to: 0, stride: -0.25).scalars == [1, 0.75, 0.5, 0.25])
    #expect(Tensor<Double>(rangeFrom: 0, to: 1, stride: 0.3).scalars.count == 4)
    #expect(Tensor<Float>(rangeFrom: 5, to: 0).shape == [0])
  }

  @Test("eye is the identity: matmul by it changes nothing")
  func eye() {
    #expect(Tensor<Float>(eye: 2) == [[1, 0], [0, 1]])
    let x = Tensor<Double>(rangeFrom: 0, to: 12).reshaped(to: [4, 3])
    #expect(matmul(x, Tensor(eye: 3)) == x)
    #expect(Tensor<Double>(eye: 0).shape == [0, 0])
  }

  @Test("oneHot puts a 1 at each label's column")
  func oneHot() {
    let expected: Tensor<Float> = [[0, 0, 1], [1, 0, 0], [0, 0, 1]]
    #expect(Tensor<Float>(oneHot: [2, 0, 2], classes: 3) == expected)
    #expect(Tensor<Double>(oneHot: [], classes: 4).shape == [0, 4])
  }

  // MARK: Printing

  @Test("Small tensors print every element, nested by axis, without a header")
  func smallDescription() {
    let x: Tensor<Float> = [[1, 2], [3, 4]]
    #expect(x.description == "[[1.0, 2.0],\n [3.0, 4.0]]")
    let edge = Tensor<Double>(zeros: [1000])
    #expect(!edge.description.contains("..."))
    #expect(edge.description == edge.description(summarizing: false))
  }

  @Test("Tensors of more than 1,000 elements print a header and 3 entries at each end per axis")
  func summarizedDescription() {
    let v = Tensor<Float>(rangeFrom: 0, to: 2000)
    #expect(v.description == "Tensor<Float> [2000]\n[0.0, 1.0, 2.0, ..., 1997.0, 1998.0, 1999.0]")

    let m = Tensor<Double>(rangeFrom: 0, to: 10_000).reshaped(to: [100, 100])
    let lines = m.description.split(separator: "\n")
    #expect(lines.count == 8)  // the header, 3 rows, "...", 3 rows
    #expect(lines[0] == "Tensor<Double> [100, 100]")
    #expect(lines[1] == "[[0.0, 1.0, 2.0, ..., 97.0, 98.0, 99.0],")
    #expect(lines[4] == " ...,")
    #expect(lines[7] == " [9900.0, 9901.0, 9902.0, ..., 9997.0, 9998.0, 9999.0]]")

    // An axis of at most 6 entries is shown whole even when the tensor is summarized.
    let wide = Tensor<Float>(zeros: [2, 600]).description
    #expect(wide.split(separator: "\n").count == 3)
  }

  @Test("description(summarizing: false) prints every element of a large tensor")
  func fullDescription() {
    let m = Tensor<Float>(rangeFrom: 0, to: 1200).reshaped(to: [40, 30])
    let text = m.description(summarizing: false)
    #expect(!text.contains("...") && !text.contains("Tensor<"))
    #expect(text.split(separator: "\n").count == 40)
    #expect(text.hasSuffix("1198.0, 1199.0]]"))
  }
}
