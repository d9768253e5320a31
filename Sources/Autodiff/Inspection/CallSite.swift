// Call sites for operations that do not record one: operators, the elementary functions and most
// named functions. When a tape captures call sites (`Tape.capturesCallSites`, or anomaly
// detection), each such node keeps its caller's frame, found like this:
//
// 1. Walk the stack along frame pointers (`Backtrace.capture`, `.fast`, with the image map
//    captured once: capturing it each time costs about 0.5 ms).
// 2. Find the first frame that is not Autodiff's, a thunk or a system function, by symbol name
//    only: names come from the symbol table, which is cheap (about 15 µs) where source lines
//    need the debug information (about 100 ms cold, 15 ms warm, per frame). What each return
//    address turned out to be is cached, so a loop that records the same operations pays this
//    once.
// 3. Capture from that frame again (same function, same depth, so the same frame index), to
//    keep a backtrace of the caller and a few of its callers: the caller's frame may have no
//    source line (an implicit closure, such as `layer.callAsFunction` passed to `map`), and its
//    line is then that of the first caller that has one.
//
// All of it costs about 10 µs per recorded operation (a 200,000-node chain: 1.1 µs per node
// without capture, 12 µs with; release build, loaded 2-core machine). Only when a graph, a
// statistic or an anomaly message asks is the caller's frame symbolicated with its source line;
// that answer is cached by the frames' addresses too.

#if canImport(Runtime)
  internal import Runtime
  internal import Synchronization
#endif

/// The caller of a recorded operation, captured when it was recorded and resolved to a source
/// line on demand.
final class CapturedBacktrace {
  #if canImport(Runtime)
    /// The caller's frame and a few of its callers' (`CallSites.callerFrameCount`), or `nil`
    /// when it could not be found.
    private let caller: Backtrace?

    private init(caller: Backtrace?) {
      self.caller = caller
    }
  #else
    private init() {}
  #endif

  /// The caller of the operation being recorded: the first frame on the current stack outside
  /// Autodiff.
  static func capture() -> CapturedBacktrace {
    #if canImport(Runtime)
      guard
        let stack = try? Backtrace.capture(
          algorithm: .fast, limit: 32, top: 0, images: CallSites.images),
        let index = CallSites.firstFrameOutsideAutodiff(stack)
      else { return CapturedBacktrace(caller: nil) }
      // Captured from this same function, so frame `index` is the same frame as above.
      let caller = try? Backtrace.capture(
        algorithm: .fast, limit: CallSites.callerFrameCount, offset: index, top: 0,
        images: CallSites.images)
      return CapturedBacktrace(caller: caller)
    #else
      CapturedBacktrace()
    #endif
  }

  /// The caller's source line, as `Folder/File.swift:42`, or `nil` when it cannot be known (no
  /// debug information, or no backtrace support).
  var callSite: String? {
    #if canImport(Runtime)
      guard let caller else { return nil }
      return CallSites.sourceLine(of: caller)
    #else
      nil
    #endif
  }
}

#if canImport(Runtime)
  enum CallSites {
    /// The images loaded in the process, captured once: capturing them with every backtrace
    /// would cost about 0.5 ms each.
    static let images = ImageMap.capture()

    /// Whether a return address lies in Autodiff, a thunk or a system function, as learned so far.
    private static let isInternal = Mutex<[Backtrace.Address: Bool]>([:])
    /// The source line of each caller resolved so far, by its frames' addresses (`nil`: no line
    /// could be found).
    private static let lines = Mutex<[[Backtrace.Address]: String?]>([:])

    /// How many frames a captured caller keeps: its own and its callers', in case its own has
    /// no source line.
    static let callerFrameCount = 6

    /// The directory of Autodiff's sources, as this file's path tells it: `…/Sources/Autodiff/`.
    static let autodiffSources: String = {
      var components = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
      components.removeLast(2)  // Inspection/CallSite.swift
      return components.joined(separator: "/") + "/"
    }()

    /// The index of the first frame of `stack` that is not Autodiff's, a thunk or a system
    /// function.
    static func firstFrameOutsideAutodiff(_ stack: Backtrace) -> Int? {
      let addresses = stack.frames.map(\.adjustedProgramCounter)
      // Frame 0 is `CapturedBacktrace.capture()` itself. The fast path: every frame up to the
      // caller has been seen before.
      let cached: Int?? = isInternal.withOrderedLock { cache in
        for index in addresses.indices.dropFirst() {
          guard let isOurs = cache[addresses[index]] else { return .none }  // not seen yet
          if !isOurs { return index }
        }
        return .some(nil)  // all known, all internal
      }
      if let cached { return cached }
      // Symbol names only: no debug information is read.
      guard let symbolicated = stack.symbolicated(with: images, options: []) else { return nil }
      var learned: [Backtrace.Address: Bool] = [:]
      for frame in symbolicated.frames {
        learned[frame.captured.adjustedProgramCounter] = frame.symbol.map(isInternal) ?? true
      }
      isInternal.withOrderedLock { cache in cache.merge(learned) { _, new in new } }
      guard
        let index = addresses.indices.dropFirst().first(where: { learned[addresses[$0]] == false })
      else { return nil }
      return index
    }

    private static func isInternal(_ symbol: SymbolicatedBacktrace.Symbol) -> Bool {
      // The library's three modules: a message from AutodiffNN names its caller too.
      symbol.rawName.hasPrefix("$s8Autodiff") || symbol.rawName.hasPrefix("$s10AutodiffNN")
        || symbol.rawName.hasPrefix("$s19AutodiffDistributed") || symbol.isSwiftThunk
        || symbol.isSystemFunction
        || symbol.isSwiftRuntimeFailure
    }

    /// The source line of `caller`, from the debug information, as `Folder/File.swift:42`: the
    /// innermost frame, inlined ones included, that has a line and is not the library's or a
    /// thunk (the caller's own frame, or the first of its callers when it has no line).
    static func sourceLine(of caller: Backtrace) -> String? {
      let addresses = caller.frames.map(\.adjustedProgramCounter)
      if let line = lines.withOrderedLock({ $0[addresses] }) { return line }
      var line: String?
      if let symbolicated = caller.symbolicated(with: images) {
        for frame in symbolicated.frames {
          guard let symbol = frame.symbol, !isInternal(symbol),
            let location = symbol.sourceLocation, location.line > 0,
            !location.path.hasPrefix(autodiffSources)
          else { continue }
          let file = location.path.split(separator: "/").suffix(2).joined(separator: "/")
          line = "\(file):\(location.line)"
          break
        }
      }
      lines.withOrderedLock { $0[addresses] = .some(line) }
      return line
    }
  }
#endif
