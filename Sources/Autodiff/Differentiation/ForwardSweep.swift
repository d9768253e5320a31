/// One forward sweep over a tape: from the lowest source up to the target, each node computes the
/// tangent of its output from its operands' tangents with its tangent rule (forward mode: a
/// Jacobian-vector product).
///
/// The sweep visits only the nodes on a path from a source to the target. A node without a
/// tangent rule on such a path stops the program with its name. With `createGraph`, the tangent rules run on
/// recorded operands, so the returned tangent can be differentiated again.
struct ForwardSweep<Scalar: TensorScalar> {
  let tape: Tape
  let createGraph: Bool
  /// Whether conversions from the other precision compute their tangents (by a sweep of their
  /// own over that precision's region, Conversion.swift); a sweep that is itself such a region's
  /// leaves them to the sweep that started it.
  var crossesConversions = true

  /// The tangent of each node of `targets`, given the tangents of the `sources` nodes, or `nil`
  /// for a target that does not depend on them. One sweep serves all targets.
  func tangents(
    at targets: [Int?], sources: [(node: Int, tangent: Tensor<Scalar>)], at location: SourceLocation
  ) -> [Tensor<Scalar>?] {
    guard let base = sources.map(\.node).min(), let target = targets.compactMap({ $0 }).max(),
      base <= target
    else {
      return targets.map { _ in nil }
    }
    var tangents = [Tensor<Scalar>?](repeating: nil, count: target - base + 1)
    for (node, tangent) in sources where node <= target {
      tangents[node - base] = sumOfPresent(tangents[node - base], tangent)
    }
    let isSource = Set(sources.map(\.node))
    // The nodes the target depends on, marked from the target down: a node that depends on a
    // source but not leading to the target needs no tangent (nor a tangent rule).
    var leadsToTarget = [Bool](repeating: false, count: target - base + 1)
    for case let node? in targets where node >= base { leadsToTarget[node - base] = true }
    for index in stride(from: target, through: base, by: -1) where leadsToTarget[index - base] {
      for case let node? in tape.inputNodes(of: index) where node >= base {
        leadsToTarget[node - base] = true
      }
    }
    for index in base...target where leadsToTarget[index - base] && !isSource.contains(index) {
      // A node of the other precision gets no tangent here: tangents cross into and out of its
      // region through the conversion nodes (Conversion.swift).
      guard let node = tape.node(at: index, as: Scalar.self) else { continue }
      if let conversion = node.conversionTangent {
        guard crossesConversions else { continue }
        // Computed before it is stored: the closure reads `tangents`, and a copy of the array
        // for it would copy every tangent pointer.
        let tangent = conversion.push(
          tape, base, { $0 >= base && $0 <= target ? tangents[$0 - base] : nil }, createGraph,
          location)
        tangents[index - base] = tangent
        continue
      }
      let operandTangents = node.operands.map { operand -> Tensor<Scalar>? in
        guard let producer = operand.node, producer >= base else { return nil }
        return tangents[producer - base]
      }
      guard operandTangents.contains(where: { $0 != nil }) else { continue }
      tangents[index - base] = push(operandTangents, through: node, at: index, location)
    }
    return targets.map { node in node.flatMap { $0 >= base ? tangents[$0 - base] : nil } }
  }

  private func push(
    _ operandTangents: [Tensor<Scalar>?], through node: Node<Scalar>, at index: Int,
    _ location: SourceLocation
  ) -> Tensor<Scalar> {
    guard let tangentRule = node.tangent else {
      fail(
        "forward mode: '\(node.name)' has no tangent rule; differentiate through it in reverse "
          + "mode (gradient), or give customOperation a tangent:", at: location)
    }
    let operands = node.operands.map { value(of: $0) }
    let output =
      createGraph
      ? Tensor(
        shape: node.output.shape, storage: node.output.storage,
        trace: Trace(tape: tape, node: index))
      : node.output
    let result: Tensor<Scalar>
    switch (tangentRule, node.rule) {
    case (.elementwise, .unary(let rule)):
      result = rule(operandTangents[0]!, operands[0], output)
    case (.elementwise, .binary(let rule)):
      result = sumOfPresent(
        operandTangents[0].map { rule($0, operands[0], operands[1], output, .lhs).0! },
        operandTangents[1].map { rule($0, operands[0], operands[1], output, .rhs).1! })!
    case (.elementwise, .elementwise(let operation)):
      // ẏ = ∂y/∂a·ȧ + ∂y/∂b·ḃ: the pullback applied to each operand's tangent.
      let (a, b) = (operands[0], operands.count > 1 ? operands[1] : operands[0])
      result = sumOfPresent(
        operandTangents[0].map { operation.pullback($0, a, b, output, .lhs).0! },
        operandTangents.count > 1
          ? operandTangents[1].map { operation.pullback($0, a, b, output, .rhs).1! } : nil)!
    case (.elementwise, .leaf), (.elementwise, .custom):
      fatalError("'\(node.name)': an elementwise tangent needs an elementwise pullback")
    case (.unary(let rule), _):
      result = rule(operandTangents[0]!, operands[0], output)
    case (.custom(let rule), _):
      result = rule(operandTangents, operands, output)
    }
    // An elementwise rule fed only a broadcast operand's tangent gives that operand's shape.
    return result.shape == output.shape ? result : result.expanded(to: output.shape)
  }

  /// An operand's value; recorded as its node when the sweep records itself.
  private func value(of operand: Operand<Scalar>) -> Tensor<Scalar> {
    guard createGraph, let node = operand.node else { return operand.value }
    return Tensor(
      shape: operand.shape, storage: operand.storage,
      trace: Trace(tape: tape, node: node))
  }
}

extension Tape {
  /// Returns the tangent of `target` when each source moves along its tangent: the
  /// Jacobian-vector product `J·v` (forward mode).
  ///
  /// ```swift
  /// let tape = Tape()
  /// let x = tape.watch(Tensor<Double>(1))
  /// let y = sin(x) * exp(x)
  /// let dy = tape.tangent(of: y, wrt: [x], along: [Tensor(1)])   // cos 1·e + sin 1·e
  /// ```
  ///
  /// - Parameters:
  ///   - target: A tensor recorded on this tape, or a constant (recorded on no tape), whose
  ///     tangent is zero.
  ///   - sources: Tensors recorded on this tape (watched tensors or intermediate results).
  ///   - tangents: One direction per source, of its shape.
  ///   - createGraph: Records the sweep on this tape, so the result can be differentiated again.
  ///   - file: The caller's file, named in the message of a failed precondition.
  ///   - line: The caller's line, likewise.
  /// - Returns: A tensor of `target`'s shape; zeros when `target` does not depend on the
  ///   sources.
  /// - Precondition: The sources are recorded on this tape, the target on it or on none; each
  ///   tangent has its source's shape; every operation between the sources and the target has a
  ///   tangent rule.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func tangent<Scalar>(
    of target: Tensor<Scalar>, wrt sources: [Tensor<Scalar>], along tangents: [Tensor<Scalar>],
    createGraph: Bool = false, file: StaticString = #fileID, line: UInt = #line
  ) -> Tensor<Scalar> {
    self.tangents(
      of: [target], wrt: sources, along: tangents, createGraph: createGraph, file: file,
      line: line)[0]
  }

  /// Returns the tangents of several targets in one forward sweep; see
  /// ``tangent(of:wrt:along:createGraph:file:line:)``.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func tangents<Scalar>(
    of targets: [Tensor<Scalar>], wrt sources: [Tensor<Scalar>], along tangents: [Tensor<Scalar>],
    createGraph: Bool = false, file: StaticString = #fileID, line: UInt = #line
  ) -> [Tensor<Scalar>] {
    let taken = beginUse("computing a tangent")
    defer { endUse(taken) }
    let location = SourceLocation(file: file, line: line)
    check(
      sources.count == tangents.count,
      "tangent: \(sources.count) sources but \(tangents.count) tangents", at: location)
    // A target recorded on no tape is a constant, whose tangent is zero.
    let targetNodes = targets.enumerated().map { position, target -> Int? in
      target.trace == nil
        ? nil : node(of: target, "tangent", "target \(position)", at: location)
    }
    let pairs = zip(sources, tangents).enumerated().map { position, pair in
      let (source, tangent) = pair
      check(
        tangent.shape == source.shape,
        "tangent: tangent \(position) has shape \(tangent.shape.shapeDescription), its source "
          + "\(source.shape.shapeDescription)", at: location)
      return (
        node: node(of: source, "tangent", "source \(position)", at: location),
        tangent: createGraph ? tangent : tangent.detached
      )
    }
    let sweep = ForwardSweep<Scalar>(tape: self, createGraph: createGraph)
    return zip(targets, sweep.tangents(at: targetNodes, sources: pairs, at: location)).map {
      $1 ?? Tensor(zeros: $0.shape)
    }
  }
}
