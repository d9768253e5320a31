// Checks for programmer errors in AutodiffNN (wrong shapes, bad labels, mismatched parameter
// lists). Like Autodiff's own checks they stop through `fatalError`, which keeps its message in
// optimized builds, where `precondition` drops it.

@_spi(Messages) import Autodiff

/// Stops the program with `message` unless `condition` holds; the message is built only on
/// failure, and names the caller's call site as `(at File.swift:42)` when `location` is given.
func requireNN(
  _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
  at location: SourceLocation? = nil
) {
  if !condition() { failNN(message(), at: location) }
}

/// Stops the program with `message`, naming the caller's call site when known: Autodiff's own
/// `fail(_:at:)`, under the name AutodiffNN's checks use.
func failNN(_ message: String, at location: SourceLocation? = nil) -> Never {
  fail(message, at: location)
}

extension Array where Element == Int {
  /// The shape as written in messages: `[64, 784]`, `[]` for a scalar.
  var shapeText: String { "[" + map(String.init).joined(separator: ", ") + "]" }
}
