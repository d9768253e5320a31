import AutodiffNN
import Foundation
import Testing

/// A safetensors file whose header is `header`'s bytes as they are (any encoding), padded with
/// spaces to a multiple of 8, followed by `dataCount` zero bytes.
func safetensorsFile(headerBytes header: Data, dataCount: Int) -> Data {
  let padded = header + Data(repeating: 0x20, count: (8 - header.count % 8) % 8)
  var file = Data()
  withUnsafeBytes(of: UInt64(padded.count).littleEndian) { file.append(contentsOf: $0) }
  return file + padded + Data(count: dataCount)
}

/// The header parser's strictness: what Hugging Face's reader rejects, we reject; what could
/// read two ways (a key twice), we reject too. Each case below was checked against
/// `safetensors` 0.8 (SafeTensorsPythonTests compares the two when Python has it).
@Suite struct SafeTensorsHeaderTests {
  /// The entry of an 8-byte F32 tensor of shape [2].
  static let entry = #"{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#

  /// Headers both readers accept, each over 8 bytes of data.
  static let accepted: [String] = [
    #"{"a":\#(entry)}"#,
    #"  {"a":\#(entry)}"#,  // leading whitespace
    "{\t\"a\":\(entry)}\n",
    #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":{"x":[1,2.5e3,null]}}}"#,
    #"{"__metadata__":null,"a":\#(entry)}"#,
    #"{"\u0061":\#(entry)}"#,  // an escaped key is the key "a"
    #"{"a":\#(entry),"__metadata__":{"k":"v\"\\\/\u00e9\ud83d\ude00"}}"#,
  ]

  /// Headers both readers reject, each over 8 bytes of data, with words of our reason.
  static let rejected: [(header: String, reason: String)] = [
    (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0.0,8.0]}}"#, "floating-point"),
    (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8e0]}}"#, "floating-point"),
    (#"{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}"#, "floating-point"),
    (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[-0,8]}}"#, "negative"),
    (#"{"a":{"dtype":"F32","shape":[02],"data_offsets":[0,8]}}"#, "leading zero"),
    (#"{"a":{"dtype":"F32","shape":[+2],"data_offsets":[0,8]}}"#, "expected a value"),
    (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551616]}}"#, "too large"),
    (#"{"__metadata__":{"x":"1"},"__metadata__":{"x":"2"},"a":\#(entry)}"#, "twice"),
    (#"{"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, "twice"),
    (#"{"a":\#(entry)}"# + "\u{0}", "more than one JSON value"),
    (#"{"a":\#(entry)}x"#, "more than one JSON value"),
    (#"{"\ud800":\#(entry)}"#, "lone surrogate"),
    ("{\"a\u{1}\":\(entry)}", "control character"),
    (#"{/*x*/"a":\#(entry)}"#, "key in quotes"),
    (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],}}"#, "key in quotes"),
    (#"{"__metadata__":{"x":1},"a":\#(entry)}"#, "not an object of strings"),
    (#"{"__metadata__":{"x":{"y":"z"}},"a":\#(entry)}"#, "not an object of strings"),
    (#"{"a":{"dtype":"F32","shape":[2]}}"#, "is not {"),
    ("\u{FEFF}" + #"{"a":\#(entry)}"#, "byte-order mark"),
  ]

  /// Headers the reference accepts, keeping the last of two keys, and we reject: the same file
  /// would be two different models to two readers.
  static let ambiguous: [String] = [
    #"{"a":\#(entry),"a":\#(entry)}"#,
    #"{"a":\#(entry),"\u0061":\#(entry)}"#,
    #"{"__metadata__":{"x":"1","x":"2"},"a":\#(entry)}"#,
  ]

  static func error(reading header: Data, dataCount: Int = 8) -> CheckpointError? {
    do {
      _ = try SafeTensors(bytes: safetensorsFile(headerBytes: header, dataCount: dataCount))
      return nil
    } catch {
      return error
    }
  }

  @Test("Headers the reference accepts are accepted", arguments: accepted)
  func acceptedHeaders(header: String) throws {
    let file = try SafeTensors(
      bytes: safetensorsFile(headerBytes: Data(header.utf8), dataCount: 8))
    #expect(file.entries.map(\.name) == ["a"])
    #expect(file.entries.first?.shape == [2])
  }

  @Test("A null __metadata__ is no metadata; escapes in metadata are decoded")
  func metadataValues() throws {
    let file = try SafeTensors(
      bytes: safetensorsFile(headerBytes: Data(Self.accepted[6].utf8), dataCount: 8))
    #expect(file.metadata == ["k": "v\"\\/é😀"])
    let none = try SafeTensors(
      bytes: safetensorsFile(headerBytes: Data(Self.accepted[4].utf8), dataCount: 8))
    #expect(none.metadata.isEmpty)
  }

  @Test("Headers the reference rejects throw corruptHeader saying why", arguments: rejected)
  func rejectedHeaders(header: String, reason: String) {
    let error = Self.error(reading: Data(header.utf8))
    guard case .corruptHeader(let found)? = error else {
      Issue.record("expected .corruptHeader, got \(String(describing: error))")
      return
    }
    #expect(found.contains(reason), "\(found)")
    #expect(error!.description.contains("header is corrupt"))
  }

  @Test(
    "A key twice (a tensor, an escaped spelling of it, a metadata key) throws", arguments: ambiguous
  )
  func duplicateKeys(header: String) {
    let error = Self.error(reading: Data(header.utf8))
    guard case .corruptHeader(let reason)? = error else {
      Issue.record("expected .corruptHeader, got \(String(describing: error))")
      return
    }
    #expect(reason.contains("twice"), "\(reason)")
  }

  @Test("A UTF-16 header throws, with or without a byte-order mark")
  func utf16() {
    let header = #"{"a":\#(Self.entry)}"#
    for encoding: String.Encoding in [.utf16, .utf16LittleEndian, .utf16BigEndian] {
      guard case .corruptHeader? = Self.error(reading: header.data(using: encoding)!) else {
        Issue.record("accepted a header in \(encoding)")
        continue
      }
    }
    guard case .corruptHeader(let reason)? = Self.error(reading: Data([0x7B, 0x22, 0xFF, 0x22]))
    else {
      Issue.record("accepted invalid UTF-8")
      return
    }
    #expect(reason.contains("UTF-8"))
  }

  @Test("127 levels of nesting read and 128 throw, as in serde_json, even in an ignored field")
  func nesting() throws {
    func header(depth: Int) -> Data {
      Data(
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":"#
          + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}}")
          .utf8)
    }
    // The header and the entry are the first two levels.
    #expect(Self.error(reading: header(depth: 125)) == nil)
    guard case .corruptHeader? = Self.error(reading: header(depth: 126)) else {
      Issue.record("accepted 128 levels")
      return
    }
    guard case .corruptHeader(let reason)? = Self.error(reading: header(depth: 100_000)) else {
      Issue.record("accepted 100,000 levels")
      return
    }
    #expect(reason.contains("128"))
  }

  @Test("A rank over 64 throws rankTooLarge on reading, with the rank; 64 reads")
  func rankLimit() throws {
    func header(rank: Int) -> Data {
      let extents = Array(repeating: "1", count: rank - 1) + ["2"]
      return Data(
        (#"{"a":{"dtype":"F32","shape":["# + extents.joined(separator: ",")
          + #"],"data_offsets":[0,8]}}"#).utf8)
    }
    #expect(Self.error(reading: header(rank: 64)) == nil)
    #expect(SafeTensors.maximumRank == 64)
    for rank in [65, 100_000] {
      let error = Self.error(reading: header(rank: rank))
      #expect(error == .rankTooLarge(name: "a", rank: rank, limit: 64))
      #expect(error?.description.contains("reshape") == true)
    }
  }

  @Test("Writing a tensor of more than 64 axes throws rankTooLarge and writes nothing")
  func writingRankLimit() {
    let directory = ScratchDirectory()
    let url = directory.file("deep.safetensors")
    let deep = Tensor<Float>(zeros: Array(repeating: 1, count: 65))
    #expect(throws: CheckpointError.rankTooLarge(name: "deep", rank: 65, limit: 64)) {
      try SafeTensors.write(["deep": deep, "fine": Tensor<Float>([1])], to: url)
    }
    #expect(directory.contents.isEmpty)
  }

  @Test("Encoding a tensor of more than 64 axes stops, naming it")
  func encodingRankLimit() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = SafeTensors.encode(["deep": Tensor<Float>(zeros: Array(repeating: 1, count: 20_000))])
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("'deep'") && message.contains("20000 axes"))
  }
}
