import Foundation

/// The JSON header of a safetensors file, parsed as Hugging Face's reader (Rust's `serde_json`)
/// parses it, and stricter where a file could be read two ways.
///
/// The header is UTF-8 without a byte-order mark, holding one JSON object (RFC 8259) and then
/// only whitespace (the spaces that pad it). Each key but `__metadata__` names a tensor and maps
/// to an object with a string `dtype`, and arrays `shape` and `data_offsets` of non-negative
/// integers written as integers (`8`, not `8.0` or `8e0`, which the reference rejects too);
/// other fields are skipped, as the reference skips them. `__metadata__` is an object of
/// strings, or `null`. Nesting 128 levels of objects and arrays or more is refused, as
/// `serde_json` refuses it.
///
/// Stricter than the reference: a key that appears twice in the header, in an entry or in the
/// metadata is an error. The reference keeps the last of two tensors of one name (and of two
/// metadata values), Foundation's JSON readers keep the first, so such a file is two different
/// models depending on who reads it.
///
/// The scanner reads the header's bytes by index, so no input can make it read outside them,
/// and it stores no more than the header holds (a shape's extents past the rank limit are
/// counted, not kept).
struct SafeTensorsHeader {
  struct RawEntry {
    var name: String
    var dtype: String
    var shape: [Int]
    var offsets: [Int]
  }

  var metadata: [String: String] = [:]
  var entries: [RawEntry] = []

  init(json: Data) throws(CheckpointError) {
    let parsed = json.withUnsafeBytes { bytes in
      Result { () throws(CheckpointError) -> SafeTensorsHeader in
        var scanner = JSONScanner(bytes: bytes)
        return try scanner.header()
      }
    }
    self = try parsed.get()
  }

  init() {}
}

/// A strict JSON scanner over the bytes of a safetensors header.
private struct JSONScanner {
  let bytes: UnsafeRawBufferPointer
  var position = 0

  /// serde_json's limit: a header nests at most 127 levels of objects and arrays (the header
  /// itself the first), so that `[[[[...` cannot exhaust the stack.
  static let maximumDepth = 128

  init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

  // MARK: The header's structure

  mutating func header() throws(CheckpointError) -> SafeTensorsHeader {
    var header = SafeTensorsHeader()
    skipWhitespace()
    guard peek() == UInt8(ascii: "{") else {
      if peek() == 0xEF || peek() == 0xFE || peek() == 0xFF || peek() == 0 {
        throw problem("the header is not UTF-8 JSON (a byte-order mark, or UTF-16?)")
      }
      throw problem("the header is not a JSON object")
    }
    var names = Set<String>()
    try members { (scanner, key) throws(CheckpointError) in
      guard names.insert(key).inserted else {
        throw key == "__metadata__"
          ? scanner.problem("__metadata__ appears twice")
          : scanner.problem(
            "tensor '\(key)' appears twice: readers that keep the first and readers that keep "
              + "the last would load different tensors")
      }
      if key == "__metadata__" {
        header.metadata = try scanner.metadata()
      } else {
        header.entries.append(try scanner.entry(named: key))
      }
    }
    skipWhitespace()
    guard position == bytes.count else {
      throw problem("the header holds more than one JSON value (padding must be spaces)")
    }
    return header
  }

  private mutating func metadata() throws(CheckpointError) -> [String: String] {
    if peek() == UInt8(ascii: "n") {
      try literal("null")
      return [:]
    }
    guard peek() == UInt8(ascii: "{") else {
      throw problem("__metadata__ is not an object of strings")
    }
    var metadata: [String: String] = [:]
    try members { (scanner, key) throws(CheckpointError) in
      guard scanner.peek() == UInt8(ascii: "\"") else {
        throw scanner.problem("__metadata__ is not an object of strings: '\(key)' is no string")
      }
      guard metadata.updateValue(try scanner.string(), forKey: key) == nil else {
        throw scanner.problem("__metadata__ has the key '\(key)' twice")
      }
    }
    return metadata
  }

  private mutating func entry(named name: String) throws(CheckpointError)
    -> SafeTensorsHeader.RawEntry
  {
    let expected =
      "the entry of tensor '\(name)' is not {\"dtype\": string, \"shape\": [integers], "
      + "\"data_offsets\": [integer, integer]}"
    guard peek() == UInt8(ascii: "{") else { throw problem(expected) }
    var (dtype, shape, offsets): (String?, [Int]?, [Int]?) = (nil, nil, nil)
    var fields = Set<String>()
    try members { (scanner, key) throws(CheckpointError) in
      guard fields.insert(key).inserted else {
        throw scanner.problem("the entry of tensor '\(name)' has the field '\(key)' twice")
      }
      switch key {
      case "dtype":
        guard scanner.peek() == UInt8(ascii: "\"") else { throw scanner.problem(expected) }
        dtype = try scanner.string()
      case "shape":
        let (extents, rank) = try scanner.integers(keeping: maximumFileRank, of: name, key)
        guard rank <= maximumFileRank else {
          throw .rankTooLarge(name: name, rank: rank, limit: maximumFileRank)
        }
        shape = extents
      case "data_offsets":
        offsets = try scanner.integers(keeping: 3, of: name, key).values
      default:
        // The value's level: the header is 1, the entry 2.
        try scanner.skipValue(depth: 3)
      }
    }
    guard let dtype, let shape, let offsets else { throw problem(expected) }
    return .init(name: name, dtype: dtype, shape: shape, offsets: offsets)
  }

  /// An array of non-negative integers, of which the first `count` are kept; returns them and
  /// the array's length.
  private mutating func integers(
    keeping count: Int, of name: String, _ field: String
  ) throws(CheckpointError) -> (values: [Int], count: Int) {
    guard peek() == UInt8(ascii: "[") else {
      throw problem("the \(field) of tensor '\(name)' is not an array of integers")
    }
    position += 1
    var (values, length) = ([Int](), 0)
    skipWhitespace()
    if peek() == UInt8(ascii: "]") {
      position += 1
      return (values, 0)
    }
    while true {
      skipWhitespace()
      let value = try unsigned(in: "the \(field) of tensor '\(name)'")
      if length < count { values.append(value) }
      length += 1
      skipWhitespace()
      if peek() == UInt8(ascii: "]") {
        position += 1
        return (values, length)
      }
      try expect(UInt8(ascii: ","), "expected ',' or ']' in the \(field) of tensor '\(name)'")
    }
  }

  /// A non-negative integer written as one: no sign, fraction or exponent.
  private mutating func unsigned(in place: String) throws(CheckpointError) -> Int {
    let start = position
    let (isNegative, isInteger) = try number()
    let text = String(decoding: bytes[start..<position], as: UTF8.self)
    if isNegative {
      throw problem("\(place) holds a negative number (\(text))")
    }
    guard isInteger else {
      throw problem("\(place) holds \(text), a floating-point number where an integer belongs")
    }
    guard let value = Int(text) else { throw problem("\(place) holds \(text), too large") }
    return value
  }

  // MARK: JSON

  /// Calls `body` with each key of the object that starts at `position`, the scanner at its
  /// value, which `body` must read.
  private mutating func members(
    _ body: (inout JSONScanner, String) throws(CheckpointError) -> Void
  ) throws(CheckpointError) {
    try expect(UInt8(ascii: "{"), "expected '{'")
    skipWhitespace()
    if peek() == UInt8(ascii: "}") {
      position += 1
      return
    }
    while true {
      skipWhitespace()
      guard peek() == UInt8(ascii: "\"") else { throw problem("expected a key in quotes") }
      let key = try string()
      skipWhitespace()
      try expect(UInt8(ascii: ":"), "expected ':' after the key '\(key)'")
      skipWhitespace()
      try body(&self, key)
      skipWhitespace()
      if peek() == UInt8(ascii: "}") {
        position += 1
        return
      }
      try expect(UInt8(ascii: ","), "expected ',' or '}' after the value of '\(key)'")
    }
  }

  /// Reads any value, at nesting level `depth` when it is an object or array, checking its
  /// syntax, keeping nothing.
  private mutating func skipValue(depth: Int) throws(CheckpointError) {
    if peek() == UInt8(ascii: "{") || peek() == UInt8(ascii: "[") {
      guard depth < Self.maximumDepth else {
        throw problem("the header nests \(Self.maximumDepth) levels of objects and arrays or more")
      }
    }
    switch peek() {
    case UInt8(ascii: "\""): _ = try string()
    case UInt8(ascii: "{"):
      try members { (scanner, _) throws(CheckpointError) in try scanner.skipValue(depth: depth + 1)
      }
    case UInt8(ascii: "["):
      position += 1
      skipWhitespace()
      if peek() == UInt8(ascii: "]") {
        position += 1
        return
      }
      while true {
        skipWhitespace()
        try skipValue(depth: depth + 1)
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
          position += 1
          return
        }
        try expect(UInt8(ascii: ","), "expected ',' or ']' in an array")
      }
    case UInt8(ascii: "t"): try literal("true")
    case UInt8(ascii: "f"): try literal("false")
    case UInt8(ascii: "n"): try literal("null")
    default: _ = try number()
    }
  }

  /// A number as RFC 8259 writes it, `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`;
  /// returns whether it has a sign and whether it is an integer (no fraction, no exponent).
  private mutating func number() throws(CheckpointError) -> (isNegative: Bool, isInteger: Bool) {
    let isNegative = peek() == UInt8(ascii: "-")
    if isNegative { position += 1 }
    guard let first = peek(), isDigit(first) else { throw problem("expected a value") }
    position += 1
    if first == UInt8(ascii: "0"), let next = peek(), isDigit(next) {
      throw problem("a number has a leading zero")
    }
    skipDigits()
    var isInteger = true
    if peek() == UInt8(ascii: ".") {
      position += 1
      guard try digits() else { throw problem("a number has no digits after '.'") }
      isInteger = false
    }
    if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
      position += 1
      if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
      guard try digits() else { throw problem("a number has no digits in its exponent") }
      isInteger = false
    }
    return (isNegative, isInteger)
  }

  /// Skips digits; returns whether there was at least one.
  private mutating func digits() throws(CheckpointError) -> Bool {
    let start = position
    skipDigits()
    return position > start
  }

  private mutating func skipDigits() {
    while let byte = peek(), isDigit(byte) { position += 1 }
  }

  private func isDigit(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
  }

  private mutating func literal(_ word: StaticString) throws(CheckpointError) {
    let word = UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
    guard bytes.count - position >= word.count,
      bytes[position..<(position + word.count)].elementsEqual(word)
    else { throw problem("expected a value") }
    position += word.count
  }

  // MARK: Strings

  /// A string, its escapes decoded; invalid UTF-8, control characters and lone surrogates
  /// are errors, as in the reference.
  mutating func string() throws(CheckpointError) -> String {
    try expect(UInt8(ascii: "\""), "expected a string")
    var decoded: [UInt8] = []
    var start = position
    while true {
      guard let byte = peek() else { throw problem("a string is not closed") }
      if byte == UInt8(ascii: "\"") { break }
      guard byte >= 0x20 else { throw problem("a string holds a control character") }
      if byte != UInt8(ascii: "\\") {
        position += 1
        continue
      }
      decoded += bytes[start..<position]
      position += 1
      try escape(into: &decoded)
      start = position
    }
    decoded += bytes[start..<position]
    position += 1
    guard let text = String(validating: decoded, as: UTF8.self) else {
      throw problem("a string is not valid UTF-8")
    }
    return text
  }

  /// Decodes the escape after a backslash into UTF-8.
  private mutating func escape(into decoded: inout [UInt8]) throws(CheckpointError) {
    guard let letter = peek() else { throw problem("a string is not closed") }
    position += 1
    let simple: [UInt8: UInt8] = [
      UInt8(ascii: "\""): 0x22, UInt8(ascii: "\\"): 0x5C, UInt8(ascii: "/"): 0x2F,
      UInt8(ascii: "b"): 0x08, UInt8(ascii: "f"): 0x0C, UInt8(ascii: "n"): 0x0A,
      UInt8(ascii: "r"): 0x0D, UInt8(ascii: "t"): 0x09,
    ]
    if let byte = simple[letter] {
      decoded.append(byte)
      return
    }
    guard letter == UInt8(ascii: "u") else { throw problem("a string has an invalid escape") }
    var scalar = try hexQuad()
    if (0xD800..<0xDC00).contains(scalar) {
      guard peek() == UInt8(ascii: "\\") else { throw problem("a string has a lone surrogate") }
      position += 1
      try expect(UInt8(ascii: "u"), "a string has a lone surrogate")
      let low = try hexQuad()
      guard (0xDC00..<0xE000).contains(low) else {
        throw problem("a string has a lone surrogate")
      }
      scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
    } else if (0xDC00..<0xE000).contains(scalar) {
      throw problem("a string has a lone surrogate")
    }
    decoded += String(Unicode.Scalar(scalar)!).utf8  // not a surrogate: a valid scalar
  }

  /// Four hexadecimal digits, the code unit of a `\u` escape.
  private mutating func hexQuad() throws(CheckpointError) -> UInt32 {
    var value: UInt32 = 0
    for _ in 0..<4 {
      guard let byte = peek(), let digit = Character(Unicode.Scalar(byte)).hexDigitValue else {
        throw problem("a string has an invalid \\u escape")
      }
      value = value << 4 | UInt32(digit)
      position += 1
    }
    return value
  }

  // MARK: Bytes

  private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

  private mutating func skipWhitespace() {
    while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D {
      position += 1
    }
  }

  private mutating func expect(_ byte: UInt8, _ reason: String) throws(CheckpointError) {
    guard peek() == byte else { throw problem(reason) }
    position += 1
  }

  func problem(_ reason: String) -> CheckpointError {
    .corruptHeader(reason: "\(reason) (at byte \(position) of the header)")
  }
}
