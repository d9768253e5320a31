// Parameters by name: the names a checkpoint stores them under (``Layer/parameterNames``), as
// PyTorch's `named_parameters()` and `state_dict()`.

extension Layer {
  /// The parameters by name, in the order of ``parameters``: `[("0.weight", W₀), ("0.bias", b₀),
  /// ...]`, the names a checkpoint stores them under (without its `"model."` prefix).
  ///
  /// ```swift
  /// for (name, parameter) in model.namedParameters {
  ///   print(name, parameter.shape)   // 0.weight [2, 16], 0.bias [16], ...
  /// }
  /// ```
  ///
  /// - Precondition: The layer has as many parameter names as parameters.
  public var namedParameters: [(name: String, tensor: Tensor<Scalar>)] {
    let (names, parameters) = (parameterNames, self.parameters)
    requireNN(
      names.count == parameters.count,
      "\(Self.self).namedParameters: \(parameters.count) parameters but \(names.count) names")
    return Array(zip(names, parameters)).map { (name: $0, tensor: $1) }
  }

  /// The parameter named `name` (one of ``parameterNames``); setting it replaces that parameter
  /// alone.
  ///
  /// ```swift
  /// model[parameter: "2.bias"] = Tensor(zeros: [10])
  /// let firstWeight = model[parameter: "0.weight"]
  /// ```
  ///
  /// - Precondition: `name` is one of ``parameterNames``; a new value has the parameter's shape.
  public subscript(parameter name: String) -> Tensor<Scalar> {
    get { parameters[parameterIndex(of: name)] }
    set {
      let index = parameterIndex(of: name)
      var parameters = self.parameters
      requireNN(
        newValue.shape == parameters[index].shape,
        "\(Self.self)[parameter: \"\(name)\"]: the parameter has shape "
          + "\(parameters[index].shape.shapeText), got \(newValue.shape.shapeText)")
      parameters[index] = newValue
      self.parameters = parameters
    }
  }

  /// The position of the parameter named `name` in ``parameters``.
  private func parameterIndex(of name: String) -> Int {
    guard let index = parameterNames.firstIndex(of: name) else {
      failNN("\(Self.self): no parameter named \"\(name)\"; the names are \(parameterNames)")
    }
    return index
  }
}
