import Foundation

/// A parser for the header's Python literal, which is all `numpy.lib.format` writes:
///
/// ```
/// dict    = '{' [item (',' item)* [',']] '}'       whitespace allowed between tokens
/// item    = string ':' value
/// value   = string | 'True' | 'False' | tuple | integer
/// tuple   = '(' [integer (',' integer)* [',']] ')'  (a one-element tuple needs its comma)
/// string  = '...' or "..." without escapes
/// integer = decimal digits, no leading zero (Python 3's rule), with Python 2's 'L' suffix in
///           versions 1.0 and 2.0 only (as NumPy reads them)
/// ```
///
/// followed by spaces and a newline. Everything it accepts, NumPy's `ast.literal_eval` reads
/// as the same dictionary; it is stricter where Python would merge or convert silently: a key
/// that appears twice (Python keeps the last) and `True` as an extent (a Python `int`) are
/// errors. It reads bytes by index within the header only, so no input can make it read
/// outside the file, and it keeps no more than the header's size.
struct NumPyHeaderParser {
  struct Header {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]
  }

  enum Value {
    case string(String)
    case bool(Bool)
    case integer(Int)
    case tuple([Int])
  }

  let bytes: [UInt8]
  var position = 0
  /// Whether integers may end in Python 2's `L`, as NumPy allows in versions 1.0 and 2.0.
  let allowsLongSuffix: Bool

  init(_ data: Data, allowsLongSuffix: Bool) {
    bytes = Array(data)
    self.allowsLongSuffix = allowsLongSuffix
  }

  mutating func parse() throws(NumPyError) -> Header {
    skipWhitespace()
    try expect(UInt8(ascii: "{"), "the header does not start with '{'")
    var items: [String: Value] = [:]
    skipWhitespace()
    while peek() != UInt8(ascii: "}") {
      let key = try string()
      skipWhitespace()
      try expect(UInt8(ascii: ":"), "no ':' after the key '\(key)'")
      skipWhitespace()
      let value = try value()
      guard items.updateValue(value, forKey: key) == nil else {
        throw .corruptHeader(reason: "the key '\(key)' appears twice")
      }
      skipWhitespace()
      if peek() == UInt8(ascii: ",") {
        position += 1
        skipWhitespace()
      } else if peek() != UInt8(ascii: "}") {
        throw problem("expected ',' or '}' after the value of '\(key)'")
      }
    }
    position += 1
    skipWhitespace()
    guard position == bytes.count else {
      throw problem("unexpected text after the dictionary")
    }

    let keys = Set(items.keys)
    guard keys == ["descr", "fortran_order", "shape"] else {
      throw .corruptHeader(
        reason: "the keys are \(keys.sorted()), not exactly descr, fortran_order and shape")
    }
    guard case .string(let descr) = items["descr"] else {
      throw .corruptHeader(reason: "descr is not a string (a structured dtype?)")
    }
    guard case .bool(let fortranOrder) = items["fortran_order"] else {
      throw .corruptHeader(reason: "fortran_order is not True or False")
    }
    guard case .tuple(let shape) = items["shape"] else {
      throw .corruptHeader(reason: "shape is not a tuple of integers")
    }
    return Header(descr: descr, fortranOrder: fortranOrder, shape: shape)
  }

  private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

  private func problem(_ reason: String) -> NumPyError {
    .corruptHeader(reason: "\(reason) (at byte \(position) of the header)")
  }

  private mutating func skipWhitespace() {
    while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D {
      position += 1
    }
  }

  private mutating func expect(_ byte: UInt8, _ reason: String) throws(NumPyError) {
    guard peek() == byte else { throw problem(reason) }
    position += 1
  }

  private mutating func string() throws(NumPyError) -> String {
    guard let quote = peek(), quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else {
      throw problem("expected a quoted key or string")
    }
    position += 1
    let start = position
    while let byte = peek(), byte != quote {
      guard byte != UInt8(ascii: "\\"), byte != 0x0A else {
        throw problem("a string holds an escape or a line break")
      }
      position += 1
    }
    guard peek() == quote else { throw problem("a string is not closed") }
    let text = String(decoding: bytes[start..<position], as: UTF8.self)
    position += 1
    return text
  }

  private mutating func value() throws(NumPyError) -> Value {
    switch peek() {
    case UInt8(ascii: "'"), UInt8(ascii: "\""):
      return .string(try string())
    case UInt8(ascii: "("):
      position += 1
      var elements: [Int] = []
      skipWhitespace()
      var sawComma = false
      while peek() != UInt8(ascii: ")") {
        elements.append(try integer())
        skipWhitespace()
        sawComma = false
        if peek() == UInt8(ascii: ",") {
          position += 1
          sawComma = true
          skipWhitespace()
        } else if peek() != UInt8(ascii: ")") {
          throw problem("expected ',' or ')' in a tuple")
        }
      }
      position += 1
      if elements.count == 1 && !sawComma {
        throw problem("'(n)' is a parenthesized integer, not a tuple: a shape needs '(n,)'")
      }
      return .tuple(elements)
    case UInt8(ascii: "T"):
      try keyword("True")
      return .bool(true)
    case UInt8(ascii: "F"):
      try keyword("False")
      return .bool(false)
    case let byte? where (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte):
      return .integer(try integer())
    case UInt8(ascii: "-"):
      throw problem("a negative number")
    default:
      throw problem("expected True, False, a string, a tuple or an integer")
    }
  }

  private mutating func keyword(_ word: String) throws(NumPyError) {
    let word = Array(word.utf8)
    guard bytes.count - position >= word.count,
      bytes[position..<(position + word.count)].elementsEqual(word)
    else { throw problem("expected True, False, a string, a tuple or an integer") }
    position += word.count
  }

  /// A non-negative decimal integer, as Python 3 writes one (`0`, `00` or digits that do not
  /// start with 0), with Python 2's `L` suffix where allowed.
  private mutating func integer() throws(NumPyError) -> Int {
    let start = position
    var value = 0
    while let byte = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
      let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
      let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
      guard !overflow1 && !overflow2 else { throw problem("an integer is too large") }
      value = sum
      position += 1
    }
    guard position > start else {
      throw problem(peek() == UInt8(ascii: "-") ? "a negative extent" : "expected an integer")
    }
    guard bytes[start] != UInt8(ascii: "0") || value == 0 else {
      throw problem("an integer has a leading zero, which Python 3 does not read")
    }
    if peek() == UInt8(ascii: "L") {
      guard allowsLongSuffix else {
        throw problem("Python 2's 'L' suffix, which NumPy reads in versions 1.0 and 2.0 only")
      }
      position += 1
    }
    return value
  }
}
