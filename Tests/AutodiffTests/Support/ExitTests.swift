import Testing

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Whether to skip the exit tests: when `AUTODIFF_SKIP_EXIT_TESTS` is set (to anything but
/// `0`), as .ci/run sets it for its sanitizer passes.
///
/// An exit test runs its body in a child process that must stop with `fatalError`. Under a
/// sanitizer, that child is itself instrumented: its deliberate trap is reported as a crash
/// with a sanitizer report instead of the library's message, and the runtime's start-up in
/// every child makes the suite many times slower. The plain `swift test` pass runs them.
let skipsExitTests: Bool = {
  guard let value = getenv("AUTODIFF_SKIP_EXIT_TESTS") else { return false }
  return String(cString: value) != "0"
}()

/// The reason shown for a skipped exit test.
let exitTestSkipReason: Comment =
  "AUTODIFF_SKIP_EXIT_TESTS is set (a sanitizer pass): exit tests run in the plain pass"
