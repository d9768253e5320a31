// Checks for programmer errors. Unlike `precondition`, `fatalError` keeps its message in
// optimized builds, so these report the operation, the shapes and the rule in release too.

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A place in the caller's code, captured with `#fileID` and `#line` defaults.
public struct SourceLocation: Sendable, CustomStringConvertible {
  public let file: StaticString
  public let line: UInt

  public init(file: StaticString, line: UInt) {
    self.file = file
    self.line = line
  }

  public var description: String { "\(file):\(line)" }

  /// Whether the place is inside this library: an operation the library performs on its own
  /// behalf (a pullback's operations, a composite's parts), which has no user call site.
  var isInsideLibrary: Bool {
    // Compared as bytes: the generic `starts(with:)` cost about 100 instructions a recorded
    // operation.
    let prefix: StaticString = "Autodiff/"
    return file.withUTF8Buffer { name in
      name.count >= prefix.utf8CodeUnitCount
        && memcmp(name.baseAddress!, prefix.utf8Start, prefix.utf8CodeUnitCount) == 0
    }
  }
}

/// Stops the program with `message` unless `condition` holds.
///
/// The message is built only on failure. `location`, when given, is the caller's call site and is
/// appended as `(at File.swift:42)`.
func check(
  _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
  at location: SourceLocation? = nil
) {
  if !condition() { fail(message(), at: location) }
}

/// Stops the program with `message`, naming the caller's call site when known: `location`, or
/// for an operator or a protocol requirement, which cannot take `#fileID` arguments, the first
/// frame on the stack outside the library (found from the backtrace, on failure only).
///
/// (`@_spi(Messages) public`: AutodiffNN's and AutodiffDistributed's checks stop through it.)
@_spi(Messages)
public func fail(_ message: String, at location: SourceLocation? = nil) -> Never {
  if let location {
    fatalError("\(message) (at \(location))", file: location.file, line: location.line)
  }
  fatalError("\(message)\(callerOutsideLibrary().map { " (at \($0))" } ?? "")")
}

/// The source line, as `Folder/File.swift:42`, of the innermost frame on this thread's stack
/// outside Autodiff, AutodiffNN and AutodiffDistributed: the code that called the library.
/// `nil` when it cannot be known (no debug information). For the messages of programmer errors,
/// which stop the program, so its cost (a backtrace, symbolicated) does not matter.
@_spi(Messages)
public func callerOutsideLibrary() -> String? {
  CapturedBacktrace.capture().callSite
}
