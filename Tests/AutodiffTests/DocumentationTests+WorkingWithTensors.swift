import Autodiff
import Testing

/// The code of the article Working with Tensors (WorkingWithTensors.md), compiled and checked;
/// see `DocumentationTests` for how the snippets are matched with the article.
extension DocumentationTests {
  @Test("Working with Tensors: nested literals give tensors of their depth")
  func tensorLiterals() {
    // snippet: tensor-literals
    let m = Tensor<Float>([[1, 2, 3], [4, 5, 6]])  // shape [2, 3]
    let w: Tensor<Double> = [[0.5, -1], [2, 0]]  // shape [2, 2]
    let cube = Tensor<Float>([[[1], [2]], [[3], [4]]])  // shape [2, 2, 1]
    // end snippet
    #expect(m.shape == [2, 3] && m.scalars == [1, 2, 3, 4, 5, 6])
    #expect(w.shape == [2, 2] && w.scalars == [0.5, -1, 2, 0])
    #expect(cube.shape == [2, 2, 1] && cube.scalars == [1, 2, 3, 4])
  }

  @Test("Working with Tensors: the constructors NumPy programs start with")
  func tensorConstructors() {
    // snippet: tensor-constructors
    let grid = Tensor<Float>(linearSpaceFrom: 0, to: 1, count: 5)  // [0.0, 0.25, 0.5, 0.75, 1.0]
    let steps = Tensor<Float>(rangeFrom: 0, to: 10, stride: 2)  // [0.0, 2.0, 4.0, 6.0, 8.0]
    let identity = Tensor<Double>(eye: 3)  // ones on the diagonal
    let sevens = Tensor<Float>(repeating: 7, shape: [2, 2])
    let targets = Tensor<Float>(oneHot: [2, 0, 1], classes: 3)  // [[0, 0, 1], [1, 0, 0], [0, 1, 0]]
    var rng = SeededGenerator(seed: 42)
    let noise = Tensor<Float>(randomUniform: [2, 3], in: -1..<1, using: &rng)
    // end snippet
    #expect(grid.scalars == [0, 0.25, 0.5, 0.75, 1])
    #expect(steps.scalars == [0, 2, 4, 6, 8])
    #expect(identity == [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    #expect(sevens == [[7, 7], [7, 7]])
    #expect(targets == [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    #expect(noise.shape == [2, 3] && noise.scalars.allSatisfy { (-1..<1).contains($0) })
  }

  @Test("Working with Tensors: integers, ranges and .all pick parts; the gradient goes back")
  func tensorIndexing() {
    // snippet: tensor-indexing
    let x: Tensor<Float> = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    let row = x[1]  // [4.0, 5.0, 6.0, 7.0], shape [4]
    let element = x[1, 2]  // 6.0, shape []
    let last = x[-1]  // [8.0, 9.0, 10.0, 11.0]
    let part = x[0, 1..<3]  // [1.0, 2.0]
    let column = x[.all, 2]  // [2.0, 6.0, 10.0], NumPy's x[:, 2]
    let corner = x[1..., ..<2]  // [[4.0, 5.0], [8.0, 9.0]], NumPy's x[1:, :2]
    // end snippet
    #expect(row == [4, 5, 6, 7])
    #expect(element.shape == [] && element.scalar == 6)
    #expect(last == [8, 9, 10, 11])
    #expect(part == [1, 2])
    #expect(column == [2, 6, 10])
    #expect(corner == [[4, 5], [8, 9]])

    // snippet: tensor-indexing-gradient
    let g = gradient(at: x) { x in (x[.all, 2] * x[.all, 2]).sum() }
    // [[0, 0, 4, 0], [0, 0, 12, 0], [0, 0, 20, 0]]: 2·x at column 2
    // end snippet
    #expect(g == [[0, 0, 4, 0], [0, 0, 12, 0], [0, 0, 20, 0]])
  }

  @Test("Working with Tensors: gathering rows and columns; repeated rows add their gradients")
  func tensorGathering() {
    // snippet: tensor-gathering
    let table: Tensor<Double> = [[1, 2], [3, 4], [5, 6]]
    let rows = table.gathering(atIndices: [2, 0, 2])  // [[5, 6], [1, 2], [5, 6]]
    let columns = table.gathering(atIndices: [1], alongAxis: 1)  // [[2], [4], [6]]
    let counts = gradient(at: table) { t in t.gathering(atIndices: [2, 0, 2]).sum() }
    // [[1, 1], [0, 0], [2, 2]]: row 2 was read twice
    // end snippet
    #expect(rows == [[5, 6], [1, 2], [5, 6]])
    #expect(columns == [[2], [4], [6]])
    #expect(counts == [[1, 1], [0, 0], [2, 2]])
  }

  @Test("Working with Tensors: flipping, tiling, repeating and padding, and their gradients")
  func tensorTiling() {
    // snippet: tensor-tiling
    let tile: Tensor<Double> = [[1, 2], [3, 4]]
    let mirrored = tile.flipped(alongAxes: [1])  // [[2, 1], [4, 3]]
    let tiles = tile.tiled([1, 2])  // [[1, 2, 1, 2], [3, 4, 3, 4]]: whole copies
    let repeats = tile.repeated(2, alongAxis: 1)  // [[1, 1, 2, 2], [3, 3, 4, 4]]: each in place
    let uneven = tile.repeated([0, 2], alongAxis: 0)  // [[3, 4], [3, 4]]
    let framed = tile.padded([(1, 1), (0, 1)], with: -1)
    // [[-1, -1, -1], [1, 2, -1], [3, 4, -1], [-1, -1, -1]]
    let copies = gradient(at: tile) { t in t.tiled([1, 2]).repeated(2, alongAxis: 0).sum() }
    // [[4, 4], [4, 4]]: each element was copied 4 times
    // end snippet
    #expect(mirrored == [[2, 1], [4, 3]])
    #expect(tiles == [[1, 2, 1, 2], [3, 4, 3, 4]])
    #expect(repeats == [[1, 1, 2, 2], [3, 3, 4, 4]])
    #expect(uneven == [[3, 4], [3, 4]])
    #expect(framed == [[-1, -1, -1], [1, 2, -1], [3, 4, -1], [-1, -1, -1]])
    #expect(copies == [[4, 4], [4, 4]])
  }

  @Test("Working with Tensors: matmul of matrices, vectors and stacks")
  func tensorMatmul() {
    // snippet: tensor-matmul
    let w: Tensor<Double> = [[1, 2], [3, 4], [5, 6]]  // [3, 2]
    let v: Tensor<Double> = [1, -1]
    let wv = matmul(w, v)  // [-1, -1, -1]: a matrix times a vector is a vector
    let inner = matmul(v, v)  // 2, of shape []: two vectors give their inner product
    let stack = Tensor(stacking: [w, 2 * w])  // [2, 3, 2]
    let grams = matmul(stack, transposed: true, stack, transposed: false)  // wᵀw and 4·wᵀw
    // [[[35, 44], [44, 56]], [[140, 176], [176, 224]]]
    let rows = matmul(stack, v)  // [[-1, -1, -1], [-2, -2, -2]]: v against each matrix
    // end snippet
    #expect(wv == [-1, -1, -1])
    #expect(inner.shape == [] && inner.scalar == 2)
    #expect(grams == [[[35, 44], [44, 56]], [[140, 176], [176, 224]]])
    #expect(rows == [[-1, -1, -1], [-2, -2, -2]])
  }

  @Test("Working with Tensors: einsum as matmul, a row-wise dot product and a trace")
  func tensorEinsum() {
    // snippet: tensor-einsum
    let x: Tensor<Double> = [[1, 2, 3], [4, 5, 6]]  // [2, 3]
    let y: Tensor<Double> = [[1, 0], [0, 1], [1, 1]]  // [3, 2]
    let xy = einsum("ij,jk->ik", x, y)  // [[4, 5], [10, 11]]: matmul(x, y)
    let dots = einsum("ij,ij->i", x, x)  // [14, 77]: each row with itself
    let trace = einsum("ii", xy)  // 15, of shape []: a label twice in one term is a diagonal
    // end snippet
    #expect(xy == [[4, 5], [10, 11]])
    #expect(dots == [14, 77])
    #expect(trace.shape == [] && trace.scalar == 15)
  }

  @Test("Working with Tensors: sorted, topK and norm, the gradient back to the chosen elements")
  func tensorSorting() {
    // snippet: tensor-sorting
    let scores: Tensor<Double> = [[0.1, 0.7, 0.2], [0.5, 0.1, 0.4]]
    let (best, classes) = scores.topK(2)  // [[0.7, 0.2], [0.5, 0.4]], classes [1, 2, 0, 2]
    let ranked = scores.sorted(descending: true).values  // [[0.7, 0.2, 0.1], [0.5, 0.4, 0.1]]
    let lengths = Tensor<Double>([[3, 4], [6, 8]]).norm(squeezingAxes: [1])  // [5, 10]
    let g = gradient(at: scores) { $0.topK(1).values.sum() }  // [[0, 1, 0], [1, 0, 0]]
    // end snippet
    #expect(best == [[0.7, 0.2], [0.5, 0.4]] && classes == [1, 2, 0, 2])
    #expect(ranked == [[0.7, 0.2, 0.1], [0.5, 0.4, 0.1]])
    #expect(lengths == [5, 10])
    #expect(g == [[0, 1, 0], [1, 0, 0]])
  }

  @Test("Working with Tensors: assignment through subscripts, broadcast")
  func tensorAssignment() {
    // snippet: tensor-assignment
    var board = Tensor<Float>(zeros: [3, 3])
    board[1] = Tensor([1, 2, 3])  // a row
    board[0, 2] = Tensor(5)  // one element
    board[.all, 0] = Tensor(-1)  // one number spread over a column
    // [[-1.0, 0.0, 5.0], [-1.0, 2.0, 3.0], [-1.0, 0.0, 0.0]]
    // end snippet
    #expect(board == [[-1, 0, 5], [-1, 2, 3], [-1, 0, 0]])
  }

  @Test("Working with Tensors: small tensors print whole, large ones summarized")
  func tensorPrinting() {
    // snippet: tensor-printing
    let small: Tensor<Float> = [[1, 2], [3, 4]]
    let text = small.description  // "[[1.0, 2.0],\n [3.0, 4.0]]"
    let large = Tensor<Float>(rangeFrom: 0, to: 10_000).reshaped(to: [100, 100])
    let summary = large.description
    // Tensor<Float> [100, 100]
    // [[0.0, 1.0, 2.0, ..., 97.0, 98.0, 99.0],
    //  [100.0, 101.0, 102.0, ..., 197.0, 198.0, 199.0],
    //  [200.0, 201.0, 202.0, ..., 297.0, 298.0, 299.0],
    //  ...,
    //  [9700.0, 9701.0, 9702.0, ..., 9797.0, 9798.0, 9799.0],
    //  [9800.0, 9801.0, 9802.0, ..., 9897.0, 9898.0, 9899.0],
    //  [9900.0, 9901.0, 9902.0, ..., 9997.0, 9998.0, 9999.0]]
    let everything = large.description(summarizing: false)  // all 10,000 elements
    // end snippet
    #expect(text == "[[1.0, 2.0],\n [3.0, 4.0]]")
    #expect(
      summary == """
        Tensor<Float> [100, 100]
        [[0.0, 1.0, 2.0, ..., 97.0, 98.0, 99.0],
         [100.0, 101.0, 102.0, ..., 197.0, 198.0, 199.0],
         [200.0, 201.0, 202.0, ..., 297.0, 298.0, 299.0],
         ...,
         [9700.0, 9701.0, 9702.0, ..., 9797.0, 9798.0, 9799.0],
         [9800.0, 9801.0, 9802.0, ..., 9897.0, 9898.0, 9899.0],
         [9900.0, 9901.0, 9902.0, ..., 9997.0, 9998.0, 9999.0]]
        """)
    #expect(everything.split(separator: "\n").count == 100 && !everything.contains("..."))
    #expect(String(reflecting: small) == "Tensor<Float>(shape: [2, 2], [[1.0, 2.0],\n [3.0, 4.0]])")
  }
}
