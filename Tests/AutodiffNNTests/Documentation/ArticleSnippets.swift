import DocumentationSnippets
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
    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    let snippets = try DocumentationSnippets(
      articles: DocumentationSnippets.files(in: catalog) { $0.hasSuffix(".md") }
        + [Self.sourceRoot.appendingPathComponent("README.md")],
      tests: DocumentationSnippets.files(in: folder) { $0.hasSuffix(".swift") })
    #expect(snippets.problems(expectingAtLeast: 8) == [])
  }

  /// The package's root directory, from this file's path.
  static let sourceRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
}
