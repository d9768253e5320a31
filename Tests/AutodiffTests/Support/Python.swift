import Foundation

/// Runs `python3` from the PATH with `arguments`, its standard output discarded; returns its
/// exit status (−1 when it could not start) and what it wrote to standard error.
func runPython(_ arguments: [String]) -> (status: Int32, standardError: String) {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = ["python3"] + arguments
  let standardError = Pipe()
  process.standardOutput = FileHandle.nullDevice
  process.standardError = standardError
  do {
    try process.run()
  } catch {
    return (-1, "\(error)")
  }
  let data = standardError.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
