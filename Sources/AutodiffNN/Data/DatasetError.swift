/// Why a data set file could not be loaded.
///
/// Each description names the file, says what is wrong with it, and what to do about it:
///
/// ```
/// /data/train-labels-idx1-ubyte.gz is truncated: it holds 1200 bytes (after decompression),
/// but its IDX header calls for 60008; copy or download the file again
/// ```
public enum DatasetError: Error, Equatable, CustomStringConvertible {
  /// No file exists at `path`. `suggestion`, when known, says how to get it.
  case fileNotFound(path: String, suggestion: String?)
  /// The file exists but could not be read.
  case unreadable(path: String, reason: String)
  /// The file starts with the gzip magic number but does not decompress.
  case compression(path: String, GzipError)
  /// The file is shorter than its header says: `expectedBytes` in all, `actualBytes` present
  /// (counted after decompression).
  case truncated(path: String, expectedBytes: Int, actualBytes: Int)
  /// The file is longer than its header says: `expectedBytes` in all, `actualBytes` present.
  case trailingBytes(path: String, expectedBytes: Int, actualBytes: Int)
  /// The file does not start with an IDX magic number (two zero bytes, a type code, a rank).
  case badMagic(path: String, found: [UInt8])
  /// The IDX type code is not one of 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E.
  case unsupportedType(path: String, code: UInt8)
  /// The header's sizes are impossible: no dimensions, or a product that overflows.
  case invalidHeader(path: String, reason: String)
  /// The file holds another kind of array than the reader needs (for example floats where
  /// labels must be integers, or images of another size).
  case unexpectedContents(path: String, expected: String, found: String)
  /// The file's header announces `byteCount` bytes (header and elements, after
  /// decompression), more than `limit`, the value of ``IDXArray/maximumByteCount``; nothing
  /// was allocated or inflated.
  case exceedsLimit(path: String, byteCount: Int, limit: Int)
  /// The gzipped file decompresses to more than the `expectedBytes` its header announces;
  /// decompression stopped there, so a decompression bomb costs nothing more.
  case trailingCompressedData(path: String, expectedBytes: Int)
  /// The system could not allocate `byteCount` bytes for the file's elements.
  case outOfMemory(path: String, byteCount: Int)
  /// An examples file and its labels file hold different numbers of items.
  case countMismatch(imagesPath: String, imageCount: Int, labelsPath: String, labelCount: Int)
  /// A label lies outside `0..<classCount`.
  case invalidLabel(path: String, index: Int, value: Int, classCount: Int)

  /// What is wrong and what to do about it, in one sentence naming the file or tensor.
  public var description: String {
    switch self {
    case .fileNotFound(let path, let suggestion):
      "no file at \(path)" + (suggestion.map { ": \($0)" } ?? "")
    case .unreadable(let path, let reason):
      "cannot read \(path): \(reason); check the path and the file's permissions"
    case .compression(let path, let error):
      "\(path): \(error)"
    case .truncated(let path, let expected, let actual):
      "\(path) is truncated: it holds \(actual) bytes (after decompression), but its IDX "
        + "header calls for \(expected); copy or download the file again"
    case .trailingBytes(let path, let expected, let actual):
      "\(path) holds \(actual) bytes (after decompression), but its header announces only "
        + "\(expected): it is not an IDX file, or its header is corrupt"
    case .badMagic(let path, let found):
      "\(path) is not an IDX file: it starts with "
        + found.map { "0x" + String($0, radix: 16, uppercase: true).leftPadded(to: 2) }
        .joined(separator: " ")
        + ", not 0x00 0x00 <type> <rank>; check that the path names an IDX "
        + "(MNIST-format) file, gzipped or not"
    case .unsupportedType(let path, let code):
      "\(path) has IDX type code 0x\(String(code, radix: 16, uppercase: true).leftPadded(to: 2)), "
        + "which is not one of 0x08 (unsigned byte), 0x09 (signed byte), 0x0B (16-bit), "
        + "0x0C (32-bit), 0x0D (float), 0x0E (double): the file is corrupt or not an IDX file"
    case .invalidHeader(let path, let reason):
      "\(path) has an invalid IDX header (\(reason)): the file is corrupt or not an IDX file"
    case .unexpectedContents(let path, let expected, let found):
      "\(path) holds \(found), but \(expected) was expected: check that the path names the "
        + "right file"
    case .exceedsLimit(let path, let byteCount, let limit):
      "\(path) announces \(byteCount) bytes (after decompression), more than "
        + "IDXArray.maximumByteCount (\(limit)): if the file is trusted, raise "
        + "IDXArray.maximumByteCount before reading it; otherwise its header is corrupt"
    case .trailingCompressedData(let path, let expected):
      "\(path) decompresses to more than the \(expected) bytes its IDX header announces, and "
        + "was not decompressed further: its header is corrupt, or it is a decompression bomb; "
        + "download the file again from a source you trust"
    case .outOfMemory(let path, let byteCount):
      "cannot allocate the \(byteCount) bytes that \(path) holds: free memory or raise the "
        + "process's memory limit, or read a smaller file"
    case .countMismatch(let imagesPath, let imageCount, let labelsPath, let labelCount):
      "\(imagesPath) holds \(imageCount) examples but \(labelsPath) holds \(labelCount) labels: "
        + "the two files do not belong together (a training file paired with a test file?)"
    case .invalidLabel(let path, let index, let value, let classCount):
      "\(path): label \(index) is \(value), outside 0..<\(classCount): the file is corrupt or "
        + "belongs to another data set"
    }
  }
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String {
    String(repeating: "0", count: max(0, width - count)) + self
  }
}
