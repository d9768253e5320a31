/// Why a NumPy `.npy` file could not be read or written.
///
/// Each description says what is wrong with the file and what to do about it.
public enum NumPyError: Error, Equatable, CustomStringConvertible {
  /// There is no file at `path`.
  case fileNotFound(path: String)
  /// The file at `path` exists but could not be read.
  case readFailed(path: String, reason: String)
  /// The file could not be written to `path`; any file already there is unchanged.
  case writeFailed(path: String, reason: String)
  /// The file does not start with the `.npy` magic string `\x93NUMPY`; `found` holds its first
  /// bytes.
  case notNumPy(found: [UInt8])
  /// The format version is not 1.0, 2.0 or 3.0.
  case unsupportedVersion(major: UInt8, minor: UInt8)
  /// The file ends before the end of `section` (the preamble, the header, the data):
  /// `expected` bytes are needed, `actual` are present.
  case truncated(section: String, expected: Int, actual: Int)
  /// The file holds `actual` bytes where its header accounts for `expected`.
  case trailingBytes(expected: Int, actual: Int)
  /// The header is not a `.npy` header: not a Python dictionary literal with exactly the keys
  /// `descr`, `fortran_order` and `shape`, or with impossible values.
  case corruptHeader(reason: String)
  /// The array has `rank` axes, more than `limit` (64, NumPy's limit, which every AutodiffNN
  /// reader and writer keeps to): thrown when reading such a file, and instead of writing one.
  case rankTooLarge(rank: Int, limit: Int)
  /// The array's dtype (its `descr`) is not one this library reads: 32- or 64-bit floats,
  /// `'<f4'`, `'<f8'`, `'>f4'` or `'>f8'`.
  case unsupportedDtype(descr: String)
  /// The array holds another precision than the one asked for: `found` (`"float64"`) read as
  /// `expected` (`"float32"`).
  case dtypeMismatch(expected: String, found: String)

  /// What is wrong and what to do about it, in one sentence.
  public var description: String {
    switch self {
    case .fileNotFound(let path):
      "no .npy file at \(path): check the path"
    case .readFailed(let path, let reason):
      "cannot read .npy file \(path): \(reason); check the path and the file's permissions"
    case .writeFailed(let path, let reason):
      "cannot write .npy file \(path): \(reason); any file already there is unchanged"
    case .notNumPy(let found):
      "not a .npy file: it starts with \(found.map { String($0, radix: 16) }) instead of the "
        + "magic string \\x93NUMPY (an .npz archive, or another format?)"
    case .unsupportedVersion(let major, let minor):
      ".npy format version \(major).\(minor) is not one of 1.0, 2.0, 3.0: the file is corrupt "
        + "or from a newer NumPy"
    case .truncated(let section, let expected, let actual):
      ".npy file is truncated: \(section) needs \(expected) bytes, only \(actual) are present; "
        + "the file was cut off (an interrupted copy?), save or copy it again"
    case .trailingBytes(let expected, let actual):
      ".npy file holds \(actual) bytes, but its header accounts for \(expected): the header is "
        + "corrupt or the file is not a single array"
    case .corruptHeader(let reason):
      ".npy header is corrupt: \(reason); the file is damaged or not a .npy file"
    case .rankTooLarge(let rank, let limit):
      ".npy array has \(rank) axes, more than the \(limit) that NumPy reads: reshape it to at "
        + "most \(limit) axes before saving (a file that holds it is corrupt or was not written by "
        + "NumPy)"
    case .unsupportedDtype(let descr):
      ".npy array has dtype '\(descr)'; only float32 and float64 ('<f4', '<f8', '>f4', '>f8') "
        + "are read: convert it with numpy's astype(np.float32) and save it again"
    case .dtypeMismatch(let expected, let found):
      ".npy array holds \(found), but is read as \(expected): read it at its own precision "
        + "(float32 = Float, float64 = Double), then convert"
    }
  }
}
