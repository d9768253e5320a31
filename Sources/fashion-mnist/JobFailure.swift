/// Why the job stops before its end: a one-line message for standard error (standard output
/// when `status` is 0) and the exit status.
///
/// The statuses are swift-argument-parser's: 64 (`ExitCode.validationFailure`, sysexits'
/// EX_USAGE) when the command line asks for something that cannot be done (an output path that
/// cannot be written, a checkpoint that would be overwritten, options that differ from the
/// checkpoint's), 1 when training fails (unreadable data or checkpoint, a loss that is no longer
/// finite), 0 when there is nothing to do.
///
/// In a data-parallel job, `everyRank` says that every rank stops at the same point with the
/// same failure (a check rank 0 shared, a loss they all computed), so they can end together;
/// otherwise the failing rank makes mpirun end the others.
struct JobFailure: Error, CustomStringConvertible {
  var message: String
  var status: Int32
  var everyRank: Bool

  init(_ message: String, status: Int32 = 1, everyRank: Bool = false) {
    self.message = message
    self.status = status
    self.everyRank = everyRank
  }

  /// A failure the user fixes by changing the command line: status 64.
  static func usage(_ message: String) -> JobFailure { JobFailure(message, status: 64) }

  var description: String { message }
}
