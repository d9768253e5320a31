// The only file that imports MPI. Each routine the library uses is wrapped once here, with
// Swift-sized arguments: the `Int` → `Int32` conversions (MPI counts are C ints) and the checks
// of return codes happen here, so the rest of the target never sees a C type.

import Autodiff
internal import CMPI

#if canImport(Glibc)
  import Glibc
#endif

/// The element types the collectives move.
enum MPIElement {
  case float, double, int64, byte

  fileprivate var datatype: MPI_Datatype {
    switch self {
    case .float: autodiff_mpi_float()
    case .double: autodiff_mpi_double()
    case .int64: autodiff_mpi_int64()
    case .byte: autodiff_mpi_byte()
    }
  }

  /// The size of one element in bytes.
  var byteCount: Int {
    switch self {
    case .float: 4
    case .double, .int64: 8
    case .byte: 1
    }
  }

  /// The MPI element type of a tensor scalar: `Float` or `Double`.
  static func scalar<Scalar: TensorScalar>(_ type: Scalar.Type) -> MPIElement {
    if Scalar.self == Float.self { return .float }
    if Scalar.self == Double.self { return .double }
    fatalError("AutodiffDistributed: no MPI datatype for \(Scalar.self); use Float or Double")
  }
}

/// Thin wrappers over the MPI routines, all on `MPI_COMM_WORLD`.
///
/// A routine that fails (which, with the error handler set to return, is how MPI reports a lost
/// peer or mismatched counts) prints the routine and MPI's own explanation, then aborts the
/// whole job: the other ranks would otherwise wait for this one forever.
enum MPI {
  // MARK: Starting and stopping

  /// Whether `MPI_Init` has been called in this process.
  static var isInitialized: Bool {
    var flag: Int32 = 0
    MPI_Initialized(&flag)
    return flag != 0
  }

  /// Whether `MPI_Finalize` has been called in this process.
  static var isFinalized: Bool {
    var flag: Int32 = 0
    MPI_Finalized(&flag)
    return flag != 0
  }

  /// `MPI_Init_thread` asking for `MPI_THREAD_FUNNELED` (only the main thread calls MPI; BLAS
  /// may run threads of its own), then errors returned instead of fatal, so that a failure is
  /// reported with the routine's name before the job is aborted.
  static func initialize() {
    var provided: Int32 = 0
    let code = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided)
    guard code == MPI_SUCCESS else {
      fatalError("AutodiffDistributed: MPI_Init_thread failed with code \(code)")
    }
    check(MPI_Comm_set_errhandler(world, autodiff_mpi_errors_return()), "MPI_Comm_set_errhandler")
  }

  /// `MPI_Finalize`.
  static func finalize() {
    check(MPI_Finalize(), "MPI_Finalize")
  }

  /// `MPI_Abort` on every rank of the job, with `code` as mpirun's exit status.
  static func abort(code: Int32) -> Never {
    MPI_Abort(world, code)
    // MPI_Abort does not return; if it ever did, end this rank at least.
    _exit(code)
  }

  // MARK: Who is where

  /// This process's rank in `MPI_COMM_WORLD`.
  static var rank: Int {
    var rank: Int32 = 0
    check(MPI_Comm_rank(world, &rank), "MPI_Comm_rank")
    return Int(rank)
  }

  /// The number of processes in `MPI_COMM_WORLD`.
  static var size: Int {
    var size: Int32 = 0
    check(MPI_Comm_size(world, &size), "MPI_Comm_size")
    return Int(size)
  }

  /// This process's rank among the ranks that share its machine (its memory), and their number.
  static func localRankAndSize() -> (rank: Int, size: Int) {
    var local: MPI_Comm? = nil
    check(
      MPI_Comm_split_type(
        world, Int32(MPI_COMM_TYPE_SHARED), Int32(rank), autodiff_mpi_info_null(), &local),
      "MPI_Comm_split_type")
    var (localRank, localSize): (Int32, Int32) = (0, 0)
    check(MPI_Comm_rank(local, &localRank), "MPI_Comm_rank")
    check(MPI_Comm_size(local, &localSize), "MPI_Comm_size")
    check(MPI_Comm_free(&local), "MPI_Comm_free")
    return (Int(localRank), Int(localSize))
  }

  // MARK: Collectives

  /// `MPI_Allreduce` with `MPI_SUM`, in place: every rank's `buffer` (of `element`s) becomes
  /// the elementwise sum of all ranks' buffers.
  static func allreduceSum(_ buffer: UnsafeMutableRawBufferPointer, of element: MPIElement) {
    allreduce(buffer, of: element, autodiff_mpi_sum())
  }

  /// `MPI_Allreduce` with `MPI_MAX`, in place: every rank's `buffer` (of `element`s) becomes
  /// the elementwise maximum of all ranks' buffers.
  static func allreduceMax(_ buffer: UnsafeMutableRawBufferPointer, of element: MPIElement) {
    allreduce(buffer, of: element, autodiff_mpi_max())
  }

  private static func allreduce(
    _ buffer: UnsafeMutableRawBufferPointer, of element: MPIElement, _ operation: MPI_Op
  ) {
    let count = buffer.count / element.byteCount
    guard count > 0 else { return }
    check(
      MPI_Allreduce(
        autodiff_mpi_in_place(), buffer.baseAddress, cCount(count, "MPI_Allreduce"),
        element.datatype, operation, world),
      "MPI_Allreduce")
  }

  /// `MPI_Bcast`: every rank's `buffer` (of `element`s) becomes `root`'s.
  static func broadcast(
    _ buffer: UnsafeMutableRawBufferPointer, of element: MPIElement, from root: Int
  ) {
    let count = buffer.count / element.byteCount
    guard count > 0 else { return }
    check(
      MPI_Bcast(
        buffer.baseAddress, cCount(count, "MPI_Bcast"), element.datatype, Int32(root), world),
      "MPI_Bcast")
  }

  /// `MPI_Allgather` of one 64-bit integer: element `r` of the result is rank `r`'s `value`.
  static func allgather(_ value: Int64) -> [Int64] {
    var send = value
    var gathered = [Int64](repeating: 0, count: size)
    gathered.withUnsafeMutableBytes { receive in
      check(
        MPI_Allgather(
          &send, 1, autodiff_mpi_int64(), receive.baseAddress, 1, autodiff_mpi_int64(), world),
        "MPI_Allgather")
    }
    return gathered
  }

  /// `MPI_Allgatherv` of bytes: every rank's `bytes`, rank 0's first, given each rank's count.
  static func allgather(_ bytes: [UInt8], counts: [Int]) -> [UInt8] {
    let total = counts.reduce(0, +)
    let cCounts = counts.map { cCount($0, "MPI_Allgatherv") }
    var displacements: [Int32] = []
    var offset = 0
    for count in counts {
      displacements.append(cCount(offset, "MPI_Allgatherv"))
      offset += count
    }
    var gathered = [UInt8](repeating: 0, count: max(total, 1))
    bytes.withUnsafeBytes { send in
      gathered.withUnsafeMutableBytes { receive in
        check(
          MPI_Allgatherv(
            send.baseAddress, cCount(bytes.count, "MPI_Allgatherv"), autodiff_mpi_byte(),
            receive.baseAddress, cCounts, displacements, autodiff_mpi_byte(), world),
          "MPI_Allgatherv")
      }
    }
    return Array(gathered.prefix(total))
  }

  // MARK: Nonblocking collectives

  /// `MPI_Iallreduce` with `MPI_SUM` of `count` elements, started as request `slot` of
  /// `requests`: every rank's `receive` becomes the sum of all ranks' `send`; in place (`send`
  /// read from `receive`) when `send` is nil.
  ///
  /// The buffers must stay untouched until the request completes.
  static func startAllreduceSum(
    from send: UnsafeRawPointer?, into receive: UnsafeMutableRawPointer, count: Int,
    of element: MPIElement, as slot: Int, of requests: MPIRequests
  ) {
    check(
      MPI_Iallreduce(
        send ?? UnsafeRawPointer(autodiff_mpi_in_place()), receive,
        cCount(count, "MPI_Iallreduce"), element.datatype, autodiff_mpi_sum(), world,
        requests.handles + slot),
      "MPI_Iallreduce")
  }

  /// `MPI_Ireduce_scatter` with `MPI_SUM`, started as request `slot` of `requests`: rank `r`
  /// gets, in `receive`, the sums of the `counts[r]` elements of `send` that follow the first
  /// `counts[0] + … + counts[r − 1]`.
  ///
  /// `send`, `receive` and `counts` must stay untouched until the request completes.
  static func startReduceScatterSum(
    from send: UnsafeRawPointer, into receive: UnsafeMutableRawPointer,
    counts: UnsafePointer<Int32>, of element: MPIElement, as slot: Int, of requests: MPIRequests
  ) {
    check(
      MPI_Ireduce_scatter(
        send, receive, counts, element.datatype, autodiff_mpi_sum(), world,
        requests.handles + slot),
      "MPI_Ireduce_scatter")
  }

  /// `MPI_Iallgatherv`, started as request `slot` of `requests`: rank `r`'s `counts[r]`
  /// elements reach every rank's `receive` at `displacements[r]`; this rank's come from `send`.
  ///
  /// The buffers, `counts` and `displacements` must stay untouched until the request completes.
  static func startAllgather(
    from send: UnsafeRawPointer, into receive: UnsafeMutableRawPointer,
    counts: UnsafePointer<Int32>, displacements: UnsafePointer<Int32>, of element: MPIElement,
    as slot: Int, of requests: MPIRequests
  ) {
    check(
      MPI_Iallgatherv(
        send, counts[rank], element.datatype, receive, counts, displacements, element.datatype,
        world, requests.handles + slot),
      "MPI_Iallgatherv")
  }

  /// `MPI_Testall` over the first `count` requests: lets MPI move them forward (when all have
  /// completed, they become null requests).
  static func test(_ requests: MPIRequests, count: Int) {
    guard count > 0 else { return }
    var done: Int32 = 0
    check(
      MPI_Testall(Int32(count), requests.handles, &done, autodiff_mpi_statuses_ignore()),
      "MPI_Testall")
  }

  /// `MPI_Waitall` over the first `count` requests.
  static func wait(_ requests: MPIRequests, count: Int) {
    guard count > 0 else { return }
    check(
      MPI_Waitall(Int32(count), requests.handles, autodiff_mpi_statuses_ignore()), "MPI_Waitall")
  }

  /// `MPI_Barrier`.
  static func barrier() {
    check(MPI_Barrier(world), "MPI_Barrier")
  }

  // MARK: Termination

  /// Makes SIGTERM, which mpirun sends to the other ranks once one has failed, print `text` on
  /// standard error before the process exits with status 143.
  static func announceTermination(_ text: String) {
    _ = autodiff_mpi_announce_termination(text)
  }

  // MARK: Support

  private static var world: MPI_Comm { autodiff_mpi_comm_world() }

  /// `count` as MPI's C int, or a stop naming `routine` when it does not fit.
  private static func cCount(_ count: Int, _ routine: String) -> Int32 {
    guard let value = Int32(exactly: count) else {
      fatalError(
        "AutodiffDistributed: \(routine): \(count) elements exceed MPI's count limit "
          + "(\(Int32.max)); split the buffer")
    }
    return value
  }

  /// Aborts the job with a message naming `routine` unless `code` is `MPI_SUCCESS`.
  private static func check(_ code: Int32, _ routine: String) {
    guard code != MPI_SUCCESS else { return }
    var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
    var length: Int32 = 0
    MPI_Error_string(code, &text, &length)
    let reason = String(
      decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var rank: Int32 = -1
    MPI_Comm_rank(world, &rank)
    let message =
      "AutodiffDistributed: rank \(rank): \(routine) failed: \(reason) "
      + "(another rank may have died or called it with different sizes); aborting the job\n"
    _ = message.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    abort(code: 1)
  }
}

/// Handles of nonblocking collectives, in memory that does not move while they are in flight.
final class MPIRequests {
  fileprivate let handles: UnsafeMutablePointer<MPI_Request?>

  init(capacity: Int) {
    handles = .allocate(capacity: max(capacity, 1))
    handles.initialize(repeating: autodiff_mpi_request_null(), count: max(capacity, 1))
  }

  deinit { handles.deallocate() }
}
