@_spi(Messages) import Autodiff

/// Stops the program with `message` and the caller's call site, `(at File.swift:42)`, when it
/// can be found: Autodiff's own `fail(_:at:)`, for programmer errors in AutodiffDistributed.
func failDistributed(_ message: String) -> Never {
  fail(message)
}
