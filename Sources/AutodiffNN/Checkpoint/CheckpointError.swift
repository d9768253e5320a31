/// Why a checkpoint could not be loaded. Loading never changes a model or an optimizer when it
/// throws.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
  /// The checkpoint has no tensor of this name.
  case missingTensor(name: String)
  /// The tensor of this name has another shape than the model expects.
  case shapeMismatch(name: String, expected: [Int], found: [Int])
  /// The tensor of this name has the right shape but a value that cannot be right, such as a
  /// negative or fractional step count.
  case invalidValue(name: String, reason: String)

  public var description: String {
    switch self {
    case .missingTensor(let name):
      "checkpoint has no tensor named '\(name)': it was saved from a different model or optimizer"
    case .shapeMismatch(let name, let expected, let found):
      "checkpoint tensor '\(name)' has shape \(found), the model expects \(expected): it was "
        + "saved from a model of different layer sizes"
    case .invalidValue(let name, let reason):
      "checkpoint tensor '\(name)' is invalid: \(reason); the file is corrupt or was not "
        + "written by this library"
    }
  }
}
