import Testing

/// Records an issue unless the exit test's standard error contains each of `fragments`.
func expectMessage(
  _ result: ExitTest.Result?, contains fragments: [String],
  sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
  guard let result else { return }  // the exit test itself already failed
  let message = String(decoding: result.standardErrorContent, as: UTF8.self)
  for fragment in fragments {
    #expect(
      message.contains(fragment), "standard error lacks \"\(fragment)\": \(message)",
      sourceLocation: sourceLocation)
  }
}
