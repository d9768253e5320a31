/// SVG text built element by element, indented, with attributes in the order written and their
/// values and text escaped.
struct SVGText {
  private(set) var text = ""
  private var depth = 0

  /// Opens an element that holds others; ``close(_:)`` ends it.
  mutating func open(_ name: String, _ attributes: KeyValuePairs<String, String> = [:]) {
    text += indent + "<" + name + Self.attributeText(attributes) + ">\n"
    depth += 1
  }

  mutating func close(_ name: String) {
    depth -= 1
    text += indent + "</" + name + ">\n"
  }

  /// An element with `text` as its content, or a `<title>` child (a tooltip), or neither.
  mutating func element(
    _ name: String, _ attributes: KeyValuePairs<String, String> = [:], text content: String? = nil,
    title: String? = nil
  ) {
    let start = indent + "<" + name + Self.attributeText(attributes)
    if let content {
      text += start + ">" + Self.escaped(content) + "</" + name + ">\n"
    } else if let title {
      text += start + "><title>" + Self.escaped(title) + "</title></" + name + ">\n"
    } else {
      text += start + "/>\n"
    }
  }

  private var indent: String { String(repeating: "  ", count: depth) }

  private static func attributeText(_ attributes: KeyValuePairs<String, String>) -> String {
    attributes.map { " \($0.key)=\"\(escaped($0.value))\"" }.joined()
  }

  /// `text` with XML's special characters as entities.
  static func escaped(_ text: String) -> String {
    var result = ""
    for character in text {
      switch character {
      case "&": result += "&amp;"
      case "<": result += "&lt;"
      case ">": result += "&gt;"
      case "\"": result += "&quot;"
      default: result.append(character)
      }
    }
    return result
  }
}
