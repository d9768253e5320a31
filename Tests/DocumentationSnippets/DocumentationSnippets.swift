import Foundation

/// The code blocks of documentation (DocC articles, the README) beside the tests that run them.
///
/// A code block that follows a `<!-- snippet: name -->` comment in an article is mirrored in a
/// test between `// snippet: name` and `// end snippet` (`# snippet: name` and `# end snippet`
/// inside a Python script). Each test target reads both sides with this type and checks with
/// `problems(expectingAtLeast:)` that every snippet appears once on each side, with identical text.
public struct DocumentationSnippets {
  /// The code of each article snippet, by name.
  public private(set) var articles: [String: String] = [:]
  /// The code of each test snippet, by name.
  public private(set) var tests: [String: String] = [:]
  /// The names that appear more than once among the articles or among the tests.
  public private(set) var duplicates: [String] = []

  /// Reads the snippets of the `articles` and of the `tests` (Swift source files).
  public init(articles articleFiles: [URL], tests testFiles: [URL]) throws {
    for file in articleFiles {
      for (name, code) in Self.articleSnippets(in: try String(contentsOf: file, encoding: .utf8)) {
        if articles.updateValue(code, forKey: name) != nil { duplicates.append(name) }
      }
    }
    for file in testFiles {
      for (name, code) in Self.testSnippets(in: try String(contentsOf: file, encoding: .utf8)) {
        if tests.updateValue(code, forKey: name) != nil { duplicates.append(name) }
      }
    }
  }

  /// What is wrong, one line each, or nothing: a name that appears twice on one side, a snippet
  /// on one side only, a test's code that differs from its article's, or fewer than
  /// `minimumCount` article snippets (a reader that found none would otherwise pass).
  public func problems(expectingAtLeast minimumCount: Int) -> [String] {
    var problems = duplicates.sorted().map { "snippet \($0) appears twice" }
    for name in Set(articles.keys).subtracting(tests.keys).sorted() {
      problems.append("snippet \(name) is in an article but in no test")
    }
    for name in tests.keys.sorted() {
      guard let article = articles[name] else {
        problems.append("snippet \(name) is in a test but in no article")
        continue
      }
      if article != tests[name] { problems.append("snippet \(name) differs from the article") }
    }
    if articles.count < minimumCount {
      problems.append("\(articles.count) article snippets, expected at least \(minimumCount)")
    }
    return problems
  }

  /// The files in `directory` whose names satisfy `isIncluded`.
  public static func files(in directory: URL, where isIncluded: (String) -> Bool) throws -> [URL] {
    try FileManager.default.contentsOfDirectory(atPath: directory.path).filter(isIncluded)
      .sorted().map { directory.appendingPathComponent($0) }
  }

  /// The Swift or Python code blocks that follow `<!-- snippet: name -->` in an article.
  static func articleSnippets(in text: String) -> [(name: String, code: String)] {
    var result: [(name: String, code: String)] = []
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)[...]
    while let line = lines.popFirst() {
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      guard trimmed.hasPrefix("<!-- snippet: "), trimmed.hasSuffix(" -->") else { continue }
      let name = String(trimmed.dropFirst("<!-- snippet: ".count).dropLast(" -->".count))
      guard let fence = lines.popFirst(),
        fence.hasPrefix("```swift") || fence.hasPrefix("```python")
      else { continue }
      var code: [Substring] = []
      while let next = lines.popFirst(), !next.hasPrefix("```") { code.append(next) }
      result.append((name, dedented(code)))
    }
    return result
  }

  /// The regions between `// snippet: name` and `// end snippet` (or `# snippet: name` and
  /// `# end snippet`) in a test file.
  static func testSnippets(in text: String) -> [(name: String, code: String)] {
    var result: [(name: String, code: String)] = []
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)[...]
    while let line = lines.popFirst() {
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      let marker =
        trimmed.hasPrefix("// snippet: ") ? "// " : trimmed.hasPrefix("# snippet: ") ? "# " : nil
      guard let marker else { continue }
      let name = String(trimmed.dropFirst((marker + "snippet: ").count))
      var code: [Substring] = []
      while let next = lines.popFirst(),
        next.trimmingCharacters(in: .whitespaces) != marker + "end snippet"
      {
        code.append(next)
      }
      result.append((name, dedented(code)))
    }
    return result
  }

  /// The lines joined, with the indentation they all share removed.
  static func dedented(_ lines: [Substring]) -> String {
    let indent =
      lines.filter { !$0.allSatisfy(\.isWhitespace) }
      .map { $0.prefix(while: { $0 == " " }).count }.min() ?? 0
    return lines.map { $0.allSatisfy(\.isWhitespace) ? "" : String($0.dropFirst(indent)) }
      .joined(separator: "\n")
  }
}
