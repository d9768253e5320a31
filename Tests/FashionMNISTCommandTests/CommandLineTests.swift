import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The command line, end to end: every option and output path is checked before the data is
/// read, with one line naming the option and swift-argument-parser's exit status 64
/// (`ExitCode.validationFailure`) for a value that cannot be used.
@Suite(.serialized) struct CommandLineTests {
  @Test(
    "Values out of range stop with status 64 and a message naming the option and the value",
    arguments: [
      (["--epochs", "-1"], "--epochs must be positive, got -1"),
      (["--epochs", "0"], "--epochs must be positive, got 0"),
      (["--batch-size", "-8"], "--batch-size must be positive, got -8"),
      (["--learning-rate", "-0.1"], "--learning-rate must be a positive number, got -0.1"),
      (["--learning-rate", "nan"], "--learning-rate must be a positive number, got nan"),
      (["--weight-decay", "-1"], "--weight-decay must be 0 or more, got -1.0"),
      (["--hidden", "256,0"], "--hidden must be positive layer sizes separated by commas"),
      (["--hidden", "256,,128"], "--hidden must be positive layer sizes separated by commas"),
      (["--momentum", "0.5"], "--momentum applies to --optimizer sgd only, not adam"),
      (["--optimizer", "sgd", "--momentum", "1"], "--momentum must lie in [0, 1), got 1.0"),
      (["--resume", "--overwrite"], "--resume continues the checkpoint and --overwrite replaces"),
      (["--allow-changes"], "--allow-changes applies to --resume only"),
      (["--chart", "same", "--history", "same"], "must name three different files"),
      (["--activation", "gelu"], "The value 'gelu' is invalid for '--activation <activation>'"),
      (["--seed", "-1"], "The value '-1' is invalid for '--seed <seed>'"),
      (["--dropout", "1"], "--dropout must lie in [0, 1), got 1.0"),
      (["--dropout", "-0.1"], "--dropout must lie in [0, 1), got -0.1"),
    ])
  func rejectedValue(arguments: [String], message: String) async throws {
    let folder = JobFolder(trainCount: 10, testCount: 10)
    let run = try await folder.run(["--data", folder.data] + arguments)
    #expect(run.status == 64, "\(run)")
    #expect(run.standardError.contains(message), "\(run.standardError)")
    #expect(!run.standardError.contains("Missing value"))
    #expect(!folder.exists("fashion-mnist.safetensors"))
  }

  @Test(
    "An output that cannot be written stops the run before training, naming the option",
    arguments: [
      (
        ["--chart", "missing-folder/chart.svg"],
        "cannot write --chart missing-folder/chart.svg: "
          + "the folder missing-folder does not exist"
      ),
      (
        ["--checkpoint", "."],
        "cannot write --checkpoint .: it is a folder; name a file in it, "
          + "such as ./fashion-mnist.safetensors"
      ),
      (["--checkpoint", "data/"], "cannot write --checkpoint data/: it is a folder"),
      (
        ["--history", "notes.txt/log.csv"],
        "cannot write --history notes.txt/log.csv: "
          + "notes.txt is not a folder"
      ),
      (["--chart", ""], "--chart needs a file path"),
    ])
  func unwritableOutput(arguments: [String], message: String) async throws {
    let folder = JobFolder(trainCount: 10, testCount: 10)
    folder.write(Data("notes".utf8), to: "notes.txt")
    let run = try await folder.run(folder.small + arguments)
    #expect(run.status == 64, "\(run)")
    #expect(
      run.standardError == "fashion-mnist: \(message)\n" || run.standardError.contains(message),
      "\(run.standardError)")
    #expect(run.standardError.split(separator: "\n").count == 1, "one line: \(run.standardError)")
    #expect(!run.standardOutput.contains("epoch"), "no training: \(run.standardOutput)")
  }

  @Test(
    "A folder without write permission is refused before training",
    .enabled(if: geteuid() != 0, "root writes into any folder"))
  func readOnlyFolder() async throws {
    let folder = JobFolder(trainCount: 10, testCount: 10)
    let locked = folder.file("locked")
    try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: false)
    try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: locked.path)
    defer {
      try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: locked.path)
    }
    let run = try await folder.run(folder.small + ["--chart", "locked/chart.svg"])
    #expect(run.status == 64)
    #expect(
      run.standardError.contains(
        "cannot write --chart locked/chart.svg: cannot create a file in "
          + "locked: Permission denied"), "\(run.standardError)")
  }

  @Test("A folder without the data set stops with status 1, saying how to install it")
  func missingData() async throws {
    let folder = JobFolder(trainCount: 1, testCount: 1)
    let run = try await folder.run(["--data", folder.url.path + "/nowhere"])
    #expect(run.status == 1)
    #expect(run.standardError.hasPrefix("fashion-mnist: "), "\(run.standardError)")
    #expect(run.standardError.contains("apt-get install dataset-fashion-mnist"))
    #expect(!folder.exists("fashion-mnist.safetensors"))
  }

  @Test("--help shows every option's default")
  func helpShowsDefaults() async throws {
    let folder = JobFolder(trainCount: 1, testCount: 1)
    let run = try await folder.run(["--help"])
    #expect(run.status == 0)
    let help = run.standardOutput.replacingOccurrences(of: "\n", with: " ")
      .split(separator: " ").joined(separator: " ")
    for expected in [
      "(default: 20)", "(default: 128)", "(default: 256,128)",
      "(values: relu, tanh, sigmoid; default: relu)", "(values: adam, adamw, sgd; default: adam)",
      "(default: 0.001 for adam and adamw, 0.05 for sgd)", "(default: 0.9; sgd only)",
      "(default: 0, 0.01 for adamw)", "(default: 42)", "(default: fashion-mnist.safetensors)",
      "(default: fashion-mnist.svg)", "fashion-mnist-history.csv", "--overwrite",
      "--allow-changes", "Exit status: 0",
    ] {
      #expect(help.contains(expected), "\(expected) missing from --help")
    }
  }

  @Test("Piped output has no control characters and the epochs' rows are aligned past epoch 9")
  func plainAlignedOutput() async throws {
    let folder = JobFolder(trainCount: 32, testCount: 10)
    let run = try await folder.run(folder.small + ["--epochs", "10"])
    #expect(run.status == 0, "\(run)")
    #expect(!run.standardOutput.contains("\u{1B}") && !run.standardOutput.contains("\r"))
    let rows = run.standardOutput.split(separator: "\n").filter {
      $0.first == " " || $0.hasPrefix("10/")
    }
    #expect(rows.count == 10, "\(run.standardOutput)")
    #expect(rows.first?.hasPrefix(" 1/10  ") == true && rows.last?.hasPrefix("10/10  ") == true)
    #expect(
      Set(rows.map(\.count)).count == 1, "rows of one width:\n\(rows.joined(separator: "\n"))")
    #expect(run.standardOutput.contains("after 10 epochs"))
  }

  @Test("One epoch is written in the singular")
  func singular() async throws {
    let folder = JobFolder(trainCount: 32, testCount: 10)
    let run = try await folder.run(folder.small + ["--epochs", "1"])
    #expect(run.status == 0, "\(run)")
    #expect(run.standardOutput.contains("after 1 epoch;"), "\(run.standardOutput)")
    #expect(!run.standardOutput.contains("1 epochs"))
  }

  static let script = ["/usr/bin/script", "/bin/script"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }

  @Test(
    "On a 50-column terminal every redraw fits in the width and clears the rest of the line",
    .enabled(if: script != nil, "script (util-linux) is not installed"))
  func narrowTerminal() async throws {
    let folder = JobFolder(trainCount: 64, testCount: 10)
    let command =
      ([CommandRun.executable?.path ?? "fashion-mnist"] + folder.small + ["--epochs", "2"])
      .map { "'\($0)'" }.joined(separator: " ")
    // `script` gives the command a terminal (of size 0 × 0, so COLUMNS decides).
    let run = try await CommandRun.run(
      ["-qec", command, "/dev/null"], in: folder.url, environment: ["COLUMNS": "50"],
      executable: URL(fileURLWithPath: Self.script!))
    #expect(run.status == 0, "\(run)")
    let output = run.standardOutput.replacingOccurrences(of: "\r\n", with: "\n")
    let redraws = output.split(separator: "\r").filter { $0.hasPrefix("epoch ") }
    #expect(!redraws.isEmpty, "\(output)")
    for redraw in redraws {
      let line = redraw.components(separatedBy: "\u{1B}[K")[0]
      #expect(line.count <= 49, "\(line.count) columns: \(line)")
      #expect(redraw.contains("\u{1B}[K"), "clears to the end of the line: \(redraw)")
      #expect(line.contains("loss") && line.contains("ETA"), "\(line)")
    }
  }
}
