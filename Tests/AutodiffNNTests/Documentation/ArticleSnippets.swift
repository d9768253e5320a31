import Foundation
import Testing

/// The articles of AutodiffNN's documentation, and the package's README, show what the tests run.
///
/// Each article (or README.md) code block that follows a `<!-- snippet: name -->` comment is
/// mirrored in a test of this folder between `// snippet: name` and `// end snippet`
/// (`# snippet: name` and `# end snippet` inside a Python script), as Autodiff's
/// DocumentationTests do; the test below checks that the two texts are identical.
@Suite struct ArticleSnippetTests {
  @Test(
    "Every snippet of the articles and the README is identical to the code of its test, and vice versa"
  )
  func snippetsMatchArticles() throws {
    let catalog = Self.sourceRoot.appendingPathComponent("Sources/AutodiffNN/Documentation.docc")
    let articles =
      try FileManager.default.contentsOfDirectory(atPath: catalog.path)
      .filter { $0.hasSuffix(".md") }.map { catalog.appendingPathComponent($0) }
      + [Self.sourceRoot.appendingPathComponent("README.md")]
    var articleSnippets: [String: String] = [:]
    for article in articles {
      let text = try String(contentsOf: article, encoding: .utf8)
      for (snippet, code) in Self.articleSnippets(in: text) {
        #expect(articleSnippets[snippet] == nil, "snippet \(snippet) appears twice")
        articleSnippets[snippet] = code
      }
    }
    var testSnippets: [String: String] = [:]
    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    for name in try FileManager.default.contentsOfDirectory(atPath: folder.path)
    where name.hasSuffix(".swift") {
      let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
      testSnippets.merge(Self.testSnippets(in: text)) { first, _ in first }
    }
    #expect(Set(articleSnippets.keys) == Set(testSnippets.keys))
    #expect(articleSnippets.count >= 8)
    for (name, code) in testSnippets {
      #expect(articleSnippets[name] == code, "snippet \(name) differs from the article")
    }
  }

  /// The code blocks (Swift or Python) that follow `<!-- snippet: name -->` in an article.
  static func articleSnippets(in text: String) -> [(String, String)] {
    var result: [(String, String)] = []
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
  static func testSnippets(in text: String) -> [String: String] {
    var result: [String: String] = [:]
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
      result[name] = dedented(code)
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

  /// The package's root directory, from this file's path.
  static let sourceRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
}
