import AutodiffNN
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Gzipped IDX files that inflate to far more than their headers announce, or announce more
/// than the reader accepts: the reader must refuse them after inflating what the header
/// declares, with a typed error, whatever the file inflates to.
@Suite struct DecompressionBombTests {
  /// The 18-byte IDX file that each bomb starts with: 10 unsigned bytes, shape [10].
  static let header = idxFile(type: 0x08, shape: [10], payload: Array(0..<10))

  /// The header, then `members` gzip members of 16 MiB of zeros each (16 KiB compressed):
  /// 256 members make a 4 MiB file that inflates to 4 GiB, as `cat a.gz b.gz ...` would.
  static func bomb(members: Int) -> Data {
    let zeros = Gzip.compress(Data(count: 1 << 24), level: 9)
    var file = Gzip.compress(header)
    for _ in 0..<members { file.append(zeros) }
    return file
  }

  @Test("A bomb announcing 18 bytes throws after inflating those, in one gzip member or many")
  func bombStopsAtTheDeclaredSize() {
    let singleMember = Gzip.compress(Self.header + Data(count: 1 << 26), level: 9)
    for (file, name) in [(singleMember, "one.gz"), (Self.bomb(members: 256), "many.gz")] {
      let error = #expect(throws: DatasetError.self) {
        try IDXArray(parsing: file, source: name)
      }
      #expect(error == .trailingCompressedData(path: name, expectedBytes: 18))
      #expect(error?.description.contains("decompression bomb") == true)
      #expect(error?.description.contains("18 bytes") == true)
    }
  }

  @Test("A gzipped file with one byte past its declared elements throws, naming the size")
  func oneTrailingByte() {
    let file = Gzip.compress(IDXTests.images + [7])
    #expect(throws: DatasetError.trailingCompressedData(path: "x.gz", expectedBytes: 28)) {
      try IDXArray(parsing: file, source: "x.gz")
    }
  }

  @Test("A header announcing more than maximumByteCount throws before inflating anything")
  func headerOverTheLimit() {
    // 2³⁰ · 8 doubles = 8 GiB of elements, plus a 12-byte header, over the 4 GiB default.
    let file = Gzip.compress(idxFile(type: 0x0E, shape: [1 << 30, 1], payload: []))
    let error = #expect(throws: DatasetError.self) { try IDXArray(parsing: file, source: "h.gz") }
    #expect(error == .exceedsLimit(path: "h.gz", byteCount: (8 << 30) + 12, limit: 4 << 30))
    #expect(error?.description.contains("raise IDXArray.maximumByteCount") == true)
    #expect(IDXArray.maximumByteCount == 4 << 30)
  }

  @Test("A header announcing more than the data can hold throws truncated with the true count")
  func headerBeyondTheData() {
    // 1 GiB announced; a 30-byte gzip file can inflate to at most 1032 · 30 bytes.
    let file = Gzip.compress(idxFile(type: 0x08, shape: [1 << 30], payload: [1, 2, 3]))
    #expect(
      throws: DatasetError.truncated(path: "t.gz", expectedBytes: (1 << 30) + 8, actualBytes: 11)
    ) {
      try IDXArray(parsing: file, source: "t.gz")
    }
  }

  @Test("A rank over 64 throws invalidHeader, plain or gzipped")
  func rankOverTheLimit() {
    let file = idxFile(type: 0x08, shape: Array(repeating: 1, count: 65), payload: [0])
    for data in [file, Gzip.compress(file)] {
      let error = #expect(throws: DatasetError.self) { try IDXArray(parsing: data) }
      guard case .invalidHeader(_, let reason)? = error else {
        Issue.record("expected .invalidHeader, got \(String(describing: error))")
        continue
      }
      #expect(reason.contains("rank 65") && reason.contains("64"))
    }
    #expect(IDXArray.maximumRank == 64)
  }

  @Test("IDXArray.maximumByteCount can be lowered and raised; files over it throw")
  func settableLimit() async {
    await #expect(processExitsWith: .success) {
      let file = Gzip.compress(IDXTests.images)  // 28 bytes inflated
      IDXArray.maximumByteCount = 27
      guard case .exceedsLimit("<memory>", 28, 27)? = Self.error(parsing: file),
        case .exceedsLimit("<memory>", 28, 27)? = Self.error(parsing: IDXTests.images)
      else { exit(1) }
      IDXArray.maximumByteCount = 28
      guard Self.error(parsing: file) == nil, Self.error(parsing: IDXTests.images) == nil
      else { exit(2) }
    }
  }

  @Test("A negative IDXArray.maximumByteCount stops with the value")
  func negativeLimit() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      IDXArray.maximumByteCount = -1
    }
    let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(message.contains("IDXArray.maximumByteCount") && message.contains("-1"))
  }

  static func error(parsing data: Data) -> DatasetError? {
    do {
      _ = try IDXArray(parsing: data)
      return nil
    } catch {
      return error
    }
  }

  #if os(Linux)
    /// A 4 GiB bomb read in a child process whose address space is limited to what it already
    /// uses plus 512 MiB (`setrlimit(RLIMIT_AS)`, as `ulimit -v` sets it): the read must end in
    /// the typed error, a clean exit, and grow the resident set by less than 64 MiB. The child
    /// reports the growth of its peak RSS (VmHWM, reset before the read), its ru_maxrss and the
    /// time taken on standard error; the test attaches that line.
    @Test("A 4 GiB bomb read under a memory limit throws a typed error and stays small")
    func bombUnderMemoryLimit() async {
      let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
        let bomb = Self.bomb(members: 256)
        // Reset the peak resident set size (VmHWM) to the current one (Linux 4.0 and later).
        _ = try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        let before = Self.memoryStatus()
        let limit = rlim_t((before["VmSize"]! + (512 << 10)) << 10)
        var bounds = rlimit(rlim_cur: limit, rlim_max: limit)
        guard setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &bounds) == 0 else { exit(3) }

        let start = ContinuousClock.now
        let error = Self.error(parsing: bomb)
        let elapsed = ContinuousClock.now - start
        let after = Self.memoryStatus()
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let outcome = error.map { "\($0)" } ?? "none"
        FileHandle.standardError.write(
          Data(
            ("bomb: \(bomb.count) bytes inflating to 4 GiB; error: \(outcome); "
              + "peak RSS growth: \(after["VmHWM"]! - before["VmRSS"]!) KiB; "
              + "ru_maxrss: \(usage.ru_maxrss) KiB; RLIMIT_AS: \(limit >> 20) MiB; "
              + "read in \(elapsed)\n").utf8))
        guard error == .trailingCompressedData(path: "<memory>", expectedBytes: 18) else {
          exit(4)
        }
        guard after["VmHWM"]! - before["VmRSS"]! < 64 << 10 else { exit(5) }
      }
      let report = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
      #expect(report.contains("peak RSS growth"), "\(report)")
      Attachment.record(report, named: "bomb-under-memory-limit.txt")
    }

    /// The kibibyte fields of /proc/self/status: VmSize, VmRSS, VmHWM, ...
    static func memoryStatus() -> [String: Int] {
      let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
      var fields: [String: Int] = [:]
      for line in text.split(separator: "\n") where line.hasSuffix(" kB") {
        let parts = line.split(separator: ":")
        guard parts.count == 2 else { continue }
        fields[String(parts[0])] = Int(parts[1].dropLast(3).trimmingCharacters(in: .whitespaces))
      }
      return fields
    }
  #endif
}
