import DocumentationSnippets
import Foundation
import Testing

/// AutodiffDistributed's article shows the code that `mpi-tests article` runs (MPIJobTests runs
/// it on 2 ranks): each code block that follows `<!-- snippet: name -->` in the article is the
/// region between `// snippet: name` and `// end snippet` in Sources/mpi-tests/Article.swift.
@Suite struct ArticleSnippetTests {
  @Test("Every snippet of the article is identical to the code mpi-tests runs, and vice versa")
  func snippetsMatchArticle() throws {
    let root = URL(fileURLWithPath: #filePath)
      .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let snippets = try DocumentationSnippets(
      articles: DocumentationSnippets.files(
        in: root.appendingPathComponent("Sources/AutodiffDistributed/Documentation.docc")
      ) { $0.hasSuffix(".md") },
      tests: [root.appendingPathComponent("Sources/mpi-tests/Article.swift")])
    #expect(snippets.problems(expectingAtLeast: 2) == [])
  }
}
