@_spi(Messages) import Autodiff

/// Stops the program with `message` and the caller's call site, `(at File.swift:42)`, when it
/// can be found: for programmer errors in AutodiffDistributed, as AutodiffNN's `failNN` does.
/// (`fatalError` keeps its message in optimized builds, where `precondition` drops it.)
func failDistributed(_ message: String) -> Never {
  fatalError("\(message)\(callerOutsideLibrary().map { " (at \($0))" } ?? "")")
}
