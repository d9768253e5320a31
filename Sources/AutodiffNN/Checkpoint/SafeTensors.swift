import Foundation

/// A file in the safetensors format: named tensors and string metadata, as Hugging Face's
/// `safetensors` library reads and writes them.
///
/// ## Layout
///
/// ```
/// N            8 bytes, unsigned little-endian: the length of the header
/// header       N bytes of UTF-8 JSON, padded with spaces to a multiple of 8:
///              {"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...,
///               "__metadata__": {"epoch": "3"}}
/// data         the tensors' elements, row-major and little-endian, back to back: each tensor
///              occupies data_offsets[0]..<data_offsets[1] of this section, without gaps
/// ```
///
/// ## Reading
///
/// ``init(contentsOf:)`` validates the whole file before any tensor is read: the header length
/// against the file size, the JSON, each dtype, that each shape's element count times its dtype
/// size equals its byte span, that the spans tile the data section exactly (no gaps, no
/// overlaps, nothing after the last tensor). A file that passes cannot make a later read go out
/// of bounds.
///
/// The header is parsed as strictly as Hugging Face's reader parses it (UTF-8 JSON, integers
/// written as integers, at most 128 levels of nesting), and stricter where a file could read two
/// ways: a tensor, field or metadata key that appears twice is an error, where the reference
/// keeps the last one silently. Headers are limited to ``maximumHeaderLength`` bytes and
/// tensors to ``maximumRank`` axes, so that reading allocates no more than the file holds.
///
/// ``tensor(named:as:)`` reads a tensor as the requested scalar type only when the file stores
/// exactly that type (`F32` for `Float`, `F64` for `Double`); otherwise it throws
/// ``CheckpointError/dtypeMismatch(name:expected:found:)``. It never converts silently: read an
/// `F32` tensor as `Float`, then convert with `Tensor<Double>(_:)` if that is what you mean.
///
/// ## Writing
///
/// ``write(_:metadata:to:)`` writes the whole file to a temporary file in the target's directory
/// and renames it over the target, so a reader sees either the old file or the new one, never a
/// partial file. The temporary file cannot outlive the process on Linux (`O_TMPFILE`); where it
/// can, the next save to the same target removes it. A save keeps the target's permissions and
/// writes through a symbolic link to the file it names.
public struct SafeTensors: Sendable {
  /// A tensor's record in the header.
  public struct Entry: Sendable, Equatable {
    /// The tensor's name: the header's key.
    public let name: String
    /// The safetensors dtype: `"F32"`, `"F64"`, `"F16"`, `"BF16"`, `"I64"`, ...
    public let dtype: String
    /// The extent of each axis; `[]` for a scalar.
    public let shape: [Int]
    /// The bytes of the data section the tensor occupies: `data_offsets[0]..<data_offsets[1]`.
    public let byteRange: Range<Int>
  }

  /// The header's `__metadata__`: free-form strings; empty when the file has none.
  public let metadata: [String: String]

  /// The tensors, in the order of their data in the file.
  public let entries: [Entry]

  /// The position in ``entries`` of each name: a checkpoint of N tensors loads in O(N), where a
  /// scan per name took 1 s for 20,000.
  private let positions: [String: Int]

  /// The whole file.
  private let bytes: Data

  /// Where the data section starts in ``bytes``: 8 + N.
  private let dataStart: Int

  /// The largest header accepted, as Hugging Face's reader limits it: 100 MB.
  public static let maximumHeaderLength = 100_000_000

  /// The most axes a tensor may have: 64, NumPy's limit, which every AutodiffNN reader and
  /// writer keeps to (Hugging Face's reader builds NumPy arrays, and refuses more too).
  public static var maximumRank: Int { maximumFileRank }

  /// Reads and validates a safetensors file.
  ///
  /// - Throws: ``CheckpointError/fileNotFound(path:)``, ``CheckpointError/readFailed(path:reason:)``,
  ///   and the errors of ``init(bytes:)``.
  public init(contentsOf url: URL) throws(CheckpointError) {
    let bytes: Data
    switch contentsOfFile(at: url) {
    case .success(let contents): bytes = contents
    case .failure(.notFound): throw .fileNotFound(path: url.path)
    case .failure(.unreadable(let reason)): throw .readFailed(path: url.path, reason: reason)
    }
    try self.init(bytes: bytes)
  }

  /// Parses and validates the bytes of a safetensors file.
  ///
  /// - Throws: ``CheckpointError/truncated(section:expected:actual:)`` when the file is shorter
  ///   than its header length or its tensors' offsets say;
  ///   ``CheckpointError/corruptHeader(reason:)`` for a header length over
  ///   ``maximumHeaderLength``, invalid JSON, a malformed entry, a shape whose size disagrees
  ///   with its offsets or overflows, a gap between tensors or bytes after the last one, a key
  ///   that appears twice; ``CheckpointError/unsupportedDtype(name:dtype:)`` for an unknown
  ///   dtype; ``CheckpointError/rankTooLarge(name:rank:limit:)`` for a shape of more than
  ///   ``maximumRank`` axes; ``CheckpointError/overlappingTensors(first:second:)``.
  public init(bytes: Data) throws(CheckpointError) {
    let bytes = bytes.startIndex == 0 ? bytes : Data(bytes)  // offsets below count from 0
    guard bytes.count >= 8 else {
      throw .truncated(section: "the header length", expected: 8, actual: bytes.count)
    }
    let declared = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    guard declared <= UInt64(Self.maximumHeaderLength) else {
      throw .corruptHeader(
        reason: "the header length \(declared) exceeds the limit of "
          + "\(Self.maximumHeaderLength) bytes")
    }
    let headerLength = Int(declared)
    guard bytes.count - 8 >= headerLength else {
      throw .truncated(section: "the header", expected: headerLength, actual: bytes.count - 8)
    }
    let header = try SafeTensorsHeader(json: bytes[8..<(8 + headerLength)])
    let dataLength = bytes.count - 8 - headerLength

    // Check each entry on its own, then that the entries tile the data section in order.
    var entries: [Entry] = []
    for raw in header.entries {
      entries.append(try Self.validated(raw, dataLength: dataLength))
    }
    entries.sort {
      ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name)
        < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name)
    }
    var end = 0
    var previous: String?
    for entry in entries {
      if entry.byteRange.lowerBound < end, let previous {
        throw .overlappingTensors(first: previous, second: entry.name)
      }
      if entry.byteRange.lowerBound > end {
        throw .corruptHeader(
          reason: "bytes \(end)..<\(entry.byteRange.lowerBound) of the data section, before "
            + "tensor '\(entry.name)', belong to no tensor")
      }
      end = entry.byteRange.upperBound
      previous = entry.name
    }
    if end != dataLength {
      throw .corruptHeader(
        reason: "the data section holds \(dataLength) bytes, but the tensors end at byte \(end)")
    }
    self.metadata = header.metadata
    self.entries = entries
    // The header's names are unique (a repeated one throws above).
    self.positions = Dictionary(
      entries.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    self.bytes = bytes
    self.dataStart = 8 + headerLength
  }

  /// An entry after checking its dtype, shape and offsets against each other and the data.
  private static func validated(_ raw: SafeTensorsHeader.RawEntry, dataLength: Int)
    throws(CheckpointError)
    -> Entry
  {
    let name = raw.name
    guard let elementBits = dtypeBits[raw.dtype] else {
      throw .unsupportedDtype(name: name, dtype: raw.dtype)
    }
    guard raw.shape.allSatisfy({ $0 >= 0 }) else {
      throw .corruptHeader(reason: "tensor '\(name)' has a negative extent in shape \(raw.shape)")
    }
    guard raw.offsets.count == 2, raw.offsets[0] >= 0, raw.offsets[0] <= raw.offsets[1] else {
      throw .corruptHeader(
        reason: "tensor '\(name)' has data_offsets \(raw.offsets), not [begin, end] with "
          + "0 ≤ begin ≤ end")
    }
    // Zero extents count as 1 here, so that every stride of the shape fits in an Int too: an
    // empty tensor of shape [0, 2⁶², 2⁶²] would otherwise pass, and overflow the first
    // operation that computes its strides.
    var bitCount = elementBits
    for extent in raw.shape {
      let (product, overflow) = bitCount.multipliedReportingOverflow(by: Swift.max(extent, 1))
      guard !overflow else {
        throw .corruptHeader(reason: "tensor '\(name)' has shape \(raw.shape), too large to exist")
      }
      bitCount = product
    }
    if raw.shape.contains(0) { bitCount = 0 }
    // Sub-byte dtypes (F4, F6) pack their elements; a tensor must still fill whole bytes, as
    // the reference requires.
    guard bitCount % 8 == 0 else {
      throw .corruptHeader(
        reason: "tensor '\(name)' of shape \(raw.shape) and dtype \(raw.dtype) holds "
          + "\(bitCount) bits, not a whole number of bytes")
    }
    let byteCount = bitCount / 8
    let range = raw.offsets[0]..<raw.offsets[1]
    guard byteCount == range.count else {
      throw .corruptHeader(
        reason: "tensor '\(name)' of shape \(raw.shape) and dtype \(raw.dtype) needs "
          + "\(byteCount) bytes, but its data_offsets \(raw.offsets) span \(range.count)")
    }
    guard range.upperBound <= dataLength else {
      throw .truncated(
        section: "the data of tensor '\(name)'", expected: range.upperBound, actual: dataLength)
    }
    return Entry(name: name, dtype: raw.dtype, shape: raw.shape, byteRange: range)
  }

  /// The entry of the tensor named `name`, if there is one.
  public func entry(named name: String) -> Entry? {
    positions[name].map { entries[$0] }
  }

  /// Reads the tensor named `name` as `Scalar`.
  ///
  /// - Returns: The tensor, bit for bit as stored (NaN payloads and `-0` included).
  /// - Throws: ``CheckpointError/missingTensor(name:)`` when there is no such tensor,
  ///   ``CheckpointError/dtypeMismatch(name:expected:found:)`` when it is stored as another type
  ///   than `Scalar` (no conversion is made, not even an exact widening).
  public func tensor<Scalar: TensorScalar>(
    named name: String, as type: Scalar.Type = Scalar.self
  ) throws(CheckpointError) -> Tensor<Scalar> {
    guard let entry = entry(named: name) else { throw .missingTensor(name: name) }
    return try tensor(for: entry, as: Scalar.self)
  }

  /// Reads every tensor as `Scalar`, by name.
  ///
  /// - Throws: ``CheckpointError/dtypeMismatch(name:expected:found:)`` naming the first tensor
  ///   stored as another type.
  public func tensors<Scalar: TensorScalar>(
    as type: Scalar.Type = Scalar.self
  ) throws(CheckpointError) -> [String: Tensor<Scalar>] {
    var result: [String: Tensor<Scalar>] = [:]
    for entry in entries { result[entry.name] = try tensor(for: entry, as: Scalar.self) }
    return result
  }

  private func tensor<Scalar: TensorScalar>(
    for entry: Entry, as type: Scalar.Type
  ) throws(CheckpointError) -> Tensor<Scalar> {
    let expected = Self.dtype(of: Scalar.self)
    guard entry.dtype == expected else {
      throw .dtypeMismatch(name: entry.name, expected: expected, found: entry.dtype)
    }
    var tensor = Tensor<Scalar>(zeros: entry.shape)
    let start = dataStart + entry.byteRange.lowerBound
    tensor.withUnsafeMutableBufferPointer { target in
      let target = UnsafeMutableRawBufferPointer(target)
      assert(target.count == entry.byteRange.count)
      bytes.withUnsafeBytes { source in
        target.copyMemory(
          from: UnsafeRawBufferPointer(rebasing: source[start..<(start + target.count)]))
      }
      #if _endian(big)
        reverseBytes(ofElementsOf: target, size: MemoryLayout<Scalar>.size)
      #endif
    }
    return tensor
  }

  // MARK: Writing

  /// The bytes of a safetensors file holding `tensors` and `metadata`.
  ///
  /// The tensors are laid out in the order of their names, which is also the header's key
  /// order, so the same tensors always give the same bytes.
  ///
  /// - Precondition: No tensor is named `"__metadata__"`; no tensor has more than
  ///   ``maximumRank`` axes (``write(_:metadata:to:)`` throws instead).
  public static func encode<Scalar: TensorScalar>(
    _ tensors: [String: Tensor<Scalar>], metadata: [String: String] = [:]
  ) -> Data {
    guard tensors["__metadata__"] == nil else {
      fatalError("SafeTensors.encode: no tensor may be named '__metadata__', the metadata key")
    }
    if let (name, rank) = tensorOverRankLimit(in: tensors) {
      failNN(
        "SafeTensors.encode: tensor '\(name)' has \(rank) axes, more than the \(maximumRank) "
          + "that NumPy and safetensors readers accept")
    }
    let names = tensors.keys.sorted()
    let dtype = dtype(of: Scalar.self)
    var header: [String: Any] = [:]
    var offset = 0
    for name in names {
      let tensor = tensors[name]!
      let byteCount = tensor.scalarCount * MemoryLayout<Scalar>.size
      header[name] =
        [
          "dtype": dtype, "shape": tensor.shape, "data_offsets": [offset, offset + byteCount],
        ] as [String: Any]
      offset += byteCount
    }
    if !metadata.isEmpty { header["__metadata__"] = metadata }
    var json: Data
    do {
      json = try JSONSerialization.data(
        withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes])
    } catch {
      fatalError(
        "SafeTensors.encode: JSONSerialization failed on a header of strings and "
          + "integers: \(error)")
    }
    // Pad with spaces so the data section starts at a multiple of 8 (8 + N ≡ 0 mod 8).
    json.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - json.count % 8) % 8))

    var file = Data(capacity: 8 + json.count + offset)
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
    file.append(json)
    for name in names {
      tensors[name]!.withUnsafeBufferPointer { elements in
        #if _endian(big)
          var swapped = [UInt8](UnsafeRawBufferPointer(elements))
          swapped.withUnsafeMutableBytes {
            reverseBytes(ofElementsOf: $0, size: MemoryLayout<Scalar>.size)
          }
          file.append(contentsOf: swapped)
        #else
          file.append(contentsOf: UnsafeRawBufferPointer(elements))
        #endif
      }
    }
    return file
  }

  /// Writes `tensors` and `metadata` to a safetensors file at `url`, atomically: a temporary
  /// file in the same directory is written, flushed to disk, then renamed over `url` (over the
  /// file it names, when `url` is a symbolic link). A FIFO or a device (`/dev/stdout`) is
  /// written through: there is no file to replace.
  ///
  /// ```swift
  /// try SafeTensors.write(["w": w, "b": b], metadata: ["epoch": "3"], to: url)
  /// ```
  ///
  /// - Throws: ``CheckpointError/writeFailed(path:reason:)`` when the directory does not exist or
  ///   is not writable, or the disk is full; any file already at `url` is then unchanged and no
  ///   temporary file is left behind. An existing file keeps its permissions; a new file gets
  ///   0666 less the umask. ``CheckpointError/rankTooLarge(name:rank:limit:)`` for a tensor of
  ///   more than ``maximumRank`` axes, which no reader would accept; nothing is written.
  /// - Precondition: No tensor is named `"__metadata__"`.
  public static func write<Scalar: TensorScalar>(
    _ tensors: [String: Tensor<Scalar>], metadata: [String: String] = [:], to url: URL
  ) throws(CheckpointError) {
    if let (name, rank) = tensorOverRankLimit(in: tensors) {
      throw .rankTooLarge(name: name, rank: rank, limit: maximumRank)
    }
    try writeAtomically(encode(tensors, metadata: metadata), to: url)
  }

  /// The first tensor, by name, of more than ``maximumRank`` axes, and its rank.
  private static func tensorOverRankLimit<Scalar>(
    in tensors: [String: Tensor<Scalar>]
  ) -> (name: String, rank: Int)? {
    tensors.filter { $0.value.rank > maximumRank }.min { $0.key < $1.key }
      .map { ($0.key, $0.value.rank) }
  }

  // MARK: Dtypes

  /// The size in bits of each safetensors dtype (Hugging Face's safetensors 0.8). A file may
  /// hold any of them; a tensor is read in its scalar type's dtype (F32 for `Float`, F64 for
  /// `Double`), and one stored as another throws
  /// ``CheckpointError/dtypeMismatch(name:expected:found:)`` for that tensor alone.
  static let dtypeBits: [String: Int] = [
    "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
    "I32": 32, "U32": 32, "F32": 32,
    "I64": 64, "U64": 64, "F64": 64, "C64": 64,
  ]

  /// The dtype of `Scalar`, from its IEEE 754 format: `"F32"` for `Float`, `"F64"` for `Double`.
  static func dtype<Scalar: TensorScalar>(of type: Scalar.Type) -> String {
    switch (Scalar.exponentBitCount, Scalar.significandBitCount) {
    case (8, 23): "F32"
    case (11, 52): "F64"
    case (5, 10): "F16"
    case (8, 7): "BF16"
    default: fatalError("SafeTensors: \(Scalar.self) has no safetensors dtype")
    }
  }
}

#if _endian(big)
  /// Reverses the bytes of each `size`-byte element: safetensors is little-endian.
  private func reverseBytes(ofElementsOf buffer: UnsafeMutableRawBufferPointer, size: Int) {
    var start = 0
    while start < buffer.count {
      var (low, high) = (start, start + size - 1)
      while low < high {
        buffer.swapAt(low, high)
        (low, high) = (low + 1, high - 1)
      }
      start += size
    }
  }
#endif
