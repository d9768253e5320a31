/// Why a checkpoint (a safetensors file) could not be loaded or saved.
///
/// Loading never changes a model or an optimizer when it throws, and saving never leaves a
/// partial file at the target path. Each description names the tensor or file and the reason.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
  /// The checkpoint has no tensor of this name.
  case missingTensor(name: String)
  /// The tensor of this name has another shape than the model expects.
  case shapeMismatch(name: String, expected: [Int], found: [Int])
  /// The tensor of this name has the right shape but a value that cannot be right, such as a
  /// negative or fractional step count.
  case invalidValue(name: String, reason: String)
  /// The checkpoint has a tensor under the model's prefix that the model has no parameter for.
  case unexpectedTensor(name: String)
  /// The tensor of this name is stored as `found` (a safetensors dtype such as `"F64"`), but is
  /// read as `expected`.
  case dtypeMismatch(name: String, expected: String, found: String)
  /// The tensor of this name has a dtype that is not one of safetensors' dtypes.
  case unsupportedDtype(name: String, dtype: String)
  /// The file ends before the end of `section` (the header length, the header, or a named
  /// tensor's data): `expected` bytes are needed, `actual` are present.
  case truncated(section: String, expected: Int, actual: Int)
  /// The header is not a valid safetensors header.
  case corruptHeader(reason: String)
  /// The tensor of this name has `rank` axes, more than `limit` (64, NumPy's limit, which
  /// every AutodiffNN reader and writer keeps to): thrown when reading such a file, and instead
  /// of writing one.
  case rankTooLarge(name: String, rank: Int, limit: Int)
  /// The data of two tensors overlap.
  case overlappingTensors(first: String, second: String)
  /// The optimizer rejected the state read from the checkpoint, with an error of its own.
  case invalidOptimizerState(reason: String)
  /// There is no file at `path`.
  case fileNotFound(path: String)
  /// The file at `path` exists but could not be read.
  case readFailed(path: String, reason: String)
  /// The checkpoint could not be written to `path`; any file already there is unchanged.
  case writeFailed(path: String, reason: String)

  /// What is wrong and what to do about it, in one sentence naming the file or tensor.
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
    case .unexpectedTensor(let name):
      "checkpoint has a tensor '\(name)' that the model has no parameter for: it was saved from "
        + "a different model (another architecture or layer order)"
    case .dtypeMismatch(let name, let expected, let found):
      "checkpoint tensor '\(name)' is stored as \(found), but is read as \(expected): load it "
        + "into a model of the matching precision (F32 = Float, F64 = Double), then convert"
    case .unsupportedDtype(let name, let dtype):
      "checkpoint tensor '\(name)' has dtype '\(dtype)', which is not a safetensors dtype this "
        + "reader knows: the file is corrupt or from a newer format"
    case .truncated(let section, let expected, let actual):
      "checkpoint file is truncated: \(section) needs \(expected) bytes, only \(actual) are "
        + "present; the file was cut off (an interrupted copy?), save or copy it again"
    case .corruptHeader(let reason):
      "checkpoint header is corrupt: \(reason); the file is damaged or not a safetensors file"
    case .rankTooLarge(let name, let rank, let limit):
      "checkpoint tensor '\(name)' has \(rank) axes, more than the \(limit) that NumPy and "
        + "safetensors readers accept: reshape it to at most \(limit) axes before saving (a "
        + "file that holds it is corrupt or was written by another tool)"
    case .overlappingTensors(let first, let second):
      "checkpoint tensors '\(first)' and '\(second)' overlap in the file's data section: the "
        + "header is corrupt"
    case .invalidOptimizerState(let reason):
      "the optimizer rejected the state in the checkpoint: \(reason); it was saved from "
        + "another kind of optimizer"
    case .fileNotFound(let path):
      "no checkpoint at \(path): check the path"
    case .readFailed(let path, let reason):
      "cannot read checkpoint \(path): \(reason); check the path and the file's permissions"
    case .writeFailed(let path, let reason):
      "cannot write checkpoint \(path): \(reason); any file already there is unchanged"
    }
  }
}
