// Conversion between precisions, differentiable across the boundary.
//
// A sweep runs on one scalar type (its slots hold `Tensor<Scalar>`), so a tape that holds Float
// and Double operations is swept region by region. `Tensor<Double>(x)` for a recorded Float `x`
// records a *conversion node*: a Double node with no Double operand and `x`'s node as its one
// input node. Gradients and tangents cross the boundary only there:
//
// - Backward: a Float sweep that reaches a conversion node (Float, from a Double value) converts
//   the upstream gradient to Double and sweeps the Double region below it, from its input down to
//   the conversions *into* that region (Double nodes converted from Float values that need a
//   gradient). Those are the region sweep's sources, and pass nothing on; their gradients,
//   converted back, go to their Float inputs in the Float sweep, which goes on. Nodes of the
//   other type are skipped by every sweep: nothing sends them a gradient but a region sweep.
// - Forward: a Float sweep that reaches a conversion node sweeps the Double region forward, from
//   the conversions into it (their tangents: their Float inputs' tangents, converted) up to the
//   conversion's input, and converts the tangent it finds there.
//
// By linearity each path from the target to a source is counted once, however the regions
// nest (Float → Double → Float → Double …); a region below two conversions is swept by each.

extension ConversionTangent {
  /// The tangent of a conversion node of `Scalar` from a value of `Other` at node `input`.
  static func converting<Other: TensorScalar>(from type: Other.Type, input: Int) -> Self {
    ConversionTangent { tape, base, tangentOf, createGraph, location in
      guard base <= input else { return nil }
      var sources: [(node: Int, tangent: Tensor<Other>)] = []
      for index in base..<input + 1 {
        guard let boundary = conversion(at: index, on: tape, to: Other.self, from: Scalar.self),
          let tangent = tangentOf(boundary)
        else { continue }
        sources.append((index, Tensor<Other>(tangent)))
      }
      guard !sources.isEmpty else { return nil }
      var region = ForwardSweep<Other>(tape: tape, createGraph: createGraph)
      region.crossesConversions = false
      return region.tangents(at: [input], sources: sources, at: location)[0].map {
        Tensor<Scalar>($0)
      }
    }
  }
}

/// How a conversion node's tangent comes from the tangents a forward sweep has computed: from
/// the tape, the sweep's lowest node, the tangent of a node below (`nil` for none), whether the
/// sweep records itself, and the caller's location.
struct ConversionTangent<Scalar: TensorScalar> {
  let push:
    (
      _ tape: Tape, _ base: Int, _ tangentOf: (Int) -> Tensor<Scalar>?, _ createGraph: Bool,
      _ location: SourceLocation
    ) -> Tensor<Scalar>?
}

/// The input node of the conversion at `index` when it is one into `Scalar` from `Other`, else
/// `nil`.
private func conversion<Scalar: TensorScalar, Other: TensorScalar>(
  at index: Int, on tape: Tape, to: Scalar.Type, from: Other.Type
) -> Int? {
  guard case .node(let node) = tape.entries[index],
    node.convertedFrom == ObjectIdentifier(Other.self), node is Node<Scalar>
  else { return nil }
  return node.inputNodes.first!
}

/// `other`'s elements converted to `Scalar`; recorded as a conversion node when `other` is
/// recorded, so that gradients and tangents cross back.
func converted<Scalar: TensorScalar, Other: TensorScalar>(_ other: Tensor<Other>) -> Tensor<Scalar>
{
  if let same = other as? Tensor<Scalar> { return same }
  let storage = Storage<Scalar>.uninitialized(count: other.scalarCount)
  other.withUnsafeBufferPointer { source in
    storage.withUnsafeMutableBufferPointer { convertKernel(source, into: $0) }
  }
  let output = Tensor<Scalar>(shape: other.shape, storage: storage)
  guard let trace = other.liveTrace else { return output }
  let input = trace.node
  return trace.tape.append(
    Node<Scalar>(
      converting: input, from: ObjectIdentifier(Other.self), output: output,
      rule: .custom { context in
        sweepRegion(below: input, of: Other.self, from: context)
      },
      tangent: .converting(from: Other.self, input: input)))
}

/// Sweeps the region of `Other` values below a conversion node of `Scalar` whose input is node
/// `input`, from `context`'s upstream gradient converted, and hands the gradients of the
/// conversions into that region to their inputs in `context`'s sweep.
private func sweepRegion<Scalar: TensorScalar, Other: TensorScalar>(
  below input: Int, of type: Other.Type, from context: PullbackContext<Scalar>
) {
  let sweep = context.sweep
  guard sweep.base <= input else { return }
  var boundaries: [(index: Int, input: Int)] = []
  for index in sweep.base..<input + 1 {
    guard
      let boundaryInput = conversion(at: index, on: sweep.tape, to: Other.self, from: Scalar.self),
      sweep.needsGradient(boundaryInput)
    else { continue }
    boundaries.append((index, boundaryInput))
  }
  guard !boundaries.isEmpty else { return }
  let seed = Tensor<Other>(context.upstream)
  Sweep<Other>.withSweep(
    tape: sweep.tape, target: input, sources: boundaries.map(\.index),
    createGraph: sweep.createGraph, stopsAtSources: true
  ) { region in
    region.run(seed: seed)
    for boundary in boundaries {
      guard let gradient = region.gradient(at: boundary.index) else { continue }
      sweep.accumulate(Tensor<Scalar>(gradient), intoNode: boundary.input)
    }
  }
}
