import AutodiffNN
import Foundation
import Testing

/// The `.npy` header parser's strictness, case by case against `numpy.load` (NumPy 2.4): what
/// NumPy rejects, we reject; a header NumPy reads one way of two (a key twice, where Python
/// keeps the last), we reject; spellings of Python literals that no writer uses, we reject.
@Suite struct NumPyHeaderTests {
  struct Case: Sendable, CustomTestStringConvertible {
    var version: UInt8 = 1
    var header: String
    var dataCount = 8
    /// Words of our reason for rejecting it; nil when we read it.
    var reason: String?
    var testDescription: String { header.prefix(90).description }

    var file: Data {
      npyFile(version: version, header: header, data: Array(repeating: 0, count: dataCount))
    }
  }

  /// `{'descr': '<f4', 'fortran_order': False, 'shape': <shape>, }` and a newline.
  static func header(shape: String, descr: String = "<f4") -> String {
    "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }\n"
  }

  /// Read by both.
  static let accepted: [Case] = [
    Case(header: header(shape: "(2,)")),
    Case(header: #"{"descr": "<f4", "fortran_order": False, "shape": (2,)}"#),  // no newline
    Case(header: header(shape: "(00, 2)"), dataCount: 0),  // Python 3 reads 00 as 0
    Case(header: header(shape: "(2L,)")),  // Python 2's long, in version 1.0
    Case(version: 2, header: header(shape: "(2,)") + String(repeating: " ", count: 9_900)),
    Case(header: header(shape: "(" + String(repeating: "1, ", count: 63) + "2,)")),
    Case(header: header(shape: "(2,)", descr: "=f4")),
  ]

  /// Refused by both.
  static let rejected: [Case] = [
    Case(header: header(shape: "(02,)"), reason: "leading zero"),
    Case(version: 3, header: header(shape: "(2L,)"), reason: "'L' suffix"),
    Case(header: header(shape: "(True, 2)"), reason: "expected an integer"),
    Case(
      header: "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }\n", reason: "True or False"),
    Case(header: header(shape: "[2]"), reason: "expected True, False"),
    Case(header: header(shape: "(-2,)"), reason: "negative"),
    Case(
      version: 2, header: header(shape: "(2,)") + String(repeating: " ", count: 10_000),
      reason: "more than NumPy's limit of 10000"),
    Case(header: header(shape: "(" + String(repeating: "1, ", count: 64) + "2,)")),  // rank 65
  ]

  /// Read by NumPy, which keeps the last of two keys; refused here.
  static let ambiguous: [Case] = [
    Case(
      header: "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n",
      reason: "appears twice"),
    Case(
      header: "{'descr': '<f8', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n",
      reason: "appears twice"),
  ]

  /// Python spellings NumPy reads (through `ast.literal_eval`) and no writer writes; refused
  /// here, since reading them would mean parsing Python.
  static let pythonOnly: [Case] = [
    Case(header: header(shape: "(2_0,)"), dataCount: 80, reason: "expected ',' or ')'"),
    Case(header: header(shape: "(0x2,)"), reason: "expected ',' or ')'"),
    Case(header: header(shape: "((2,))"), reason: "expected an integer"),
    Case(header: header(shape: "(2,)", descr: #"\x3cf4"#), reason: "escape"),
  ]

  @Test("Headers NumPy reads are read", arguments: accepted)
  func acceptedHeaders(_ example: Case) throws {
    let array = try NumPyArray(bytes: example.file)
    #expect(array.elementType == .float32)
  }

  @Test(
    "Headers NumPy refuses, or would read one way of two, throw with a reason",
    arguments: rejected + ambiguous + pythonOnly)
  func rejectedHeaders(_ example: Case) {
    do {
      let array = try NumPyArray(bytes: example.file)
      Issue.record("accepted, shape \(array.shape)")
    } catch .rankTooLarge(let rank, let limit) {
      #expect(rank == 65 && limit == 64 && example.reason == nil)
    } catch {
      guard case .corruptHeader(let reason) = error, let expected = example.reason else {
        Issue.record("expected .corruptHeader, got \(error)")
        return
      }
      #expect(reason.contains(expected), "\(reason)")
    }
  }
}

/// The verdicts above, checked against NumPy itself.
@Suite(.enabled(if: runPython(["-c", "import numpy"]).status == 0, "needs python3 with numpy"))
struct NumPyHeaderPythonTests {
  @Test("numpy.load accepts and refuses what the cases say it does")
  func numPyVerdicts() throws {
    let directory = ScratchDirectory()
    let cases =
      NumPyHeaderTests.accepted.map { ($0, true) } + NumPyHeaderTests.rejected.map { ($0, false) }
      + NumPyHeaderTests.ambiguous.map { ($0, true) }
      + NumPyHeaderTests.pythonOnly.map { ($0, true) }
    var paths: [String] = []
    for (index, (example, _)) in cases.enumerated() {
      paths.append(directory.write(example.file, to: "\(index).npy").path)
    }
    let script = """
      import json, sys, warnings, numpy as np
      warnings.simplefilter("ignore")
      verdicts = []
      for path in sys.argv[1:]:
          try:
              np.load(path)
              verdicts.append(True)
          except Exception:
              verdicts.append(False)
      print(json.dumps(verdicts))
      """
    let result = runPython(["-c", script] + paths)
    try #require(result.status == 0, "python3 could not run numpy")
    let verdicts = try JSONDecoder().decode([Bool].self, from: result.output)
    try #require(verdicts.count == cases.count)
    for ((example, expected), verdict) in zip(cases, verdicts) {
      #expect(verdict == expected, "numpy \(verdict ? "reads" : "refuses") \(example.header)")
    }
  }
}
