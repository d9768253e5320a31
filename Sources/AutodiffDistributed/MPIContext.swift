import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The processes of a data-parallel job started by `mpirun`, as seen from one of them.
///
/// Each process (a *rank*) runs the same program. `mpirun -np 4 ./train` starts four; a host
/// file spreads them over machines. Every rank creates one context at start and makes the same
/// collective calls in the same order:
///
/// ```swift
/// let context = MPIContext.initialize()
/// try context.requireAgreement(on: ["seed": "\(seed)", "batch size": "\(batchSize)"])
/// try context.synchronize(&model, optimizer: &optimizer)       // rank 0's values everywhere
/// for batch in batches {
///   let (loss, gradients) = context.valueWithGradient(at: model.parameters, on: batch) {
///     parameters, inputs, labels in ...                          // this rank's rows only
///   }
///   optimizer.update(&model.parameters, along: gradients)       // the same on every rank
/// }
/// if context.isRoot { try Checkpoint.save(...) }
/// context.finalize()
/// ```
///
/// A collective (``allreduceSum(_:)``, ``broadcast(_:from:)->[Tensor<Scalar>]``,
/// ``requireAgreement(on:)``, ...) returns on a rank only once every rank has called it, so a
/// rank that skips one, or calls it with other sizes, stalls the others. The context checks what
/// it can: ``requireAgreement(on:)`` compares the ranks' configurations before training starts;
/// every collective first checks that every rank makes the same call with tensors of the same
/// scalar type and shapes (one `MPI_Allreduce` of two integers), and stops every rank with a
/// message naming the collective and each rank's values when not; and a collective that fails
/// (a rank died) prints the routine and MPI's reason and aborts the whole job rather than
/// leaving it waiting.
///
/// The context is not thread-safe: call it from the thread that created it. MPI itself runs
/// with `MPI_THREAD_FUNNELED`; BLAS may still use threads of its own.
public final class MPIContext {
  /// This process's position among the job's processes, `0..<size`.
  public let rank: Int

  /// The number of processes in the job: `-np`'s value under mpirun, 1 without it.
  public let size: Int

  /// This process's position among the job's processes on its machine.
  public let localRank: Int

  /// The number of the job's processes on this machine, which share its cores.
  public let localSize: Int

  /// The number of reductions of tensors' elements this context has started: one per
  /// ``allreduceSum(_:)`` or ``allreduceMean(_:weight:)``, and in a training step one per bucket
  /// of gradients and one for the loss. The check before each collective that the ranks agree
  /// (an `MPI_Allreduce` of two integers) is not counted, nor is anything in a job of one.
  public private(set) var reductionCount = 0

  /// How many of the reductions counted in ``reductionCount`` started before the backward sweep
  /// returned: buckets of gradients sent on their way as soon as the sweep had finished them
  /// (see ``valueWithGradient(at:on:bucketCapacity:of:)``). The first layer's bucket counts,
  /// though it starts at the sweep's last node, with nothing left to overlap.
  public private(set) var overlappedReductionCount = 0

  /// The former name of ``reductionCount``.
  @available(*, deprecated, renamed: "reductionCount")
  public var allreduceCount: Int { reductionCount }

  /// The gradient buckets of the last data-parallel step, reused while the parameters' shapes
  /// and the settings stay the same.
  var gradientBuckets: AnyObject?

  /// The memory the collectives pack their tensors into.
  let scratch = ScratchBuffer()

  /// Whether this is rank 0, the rank that logs and writes checkpoints.
  public var isRoot: Bool { rank == 0 }

  private init() {
    rank = MPI.rank
    size = MPI.size
    (localRank, localSize) = MPI.localRankAndSize()
  }

  /// Starts MPI in this process and returns the context of its job.
  ///
  /// Under `mpirun` the context knows every rank; run directly, the process is a job of one
  /// (rank 0 of 1) and every collective returns its own input.
  ///
  /// - Precondition: MPI has not been started in this process before.
  public static func initialize() -> MPIContext {
    guard !MPI.isInitialized else {
      fatalError(
        "MPIContext.initialize: MPI is already started in this process; create one context "
          + "and pass it where it is needed")
    }
    MPI.initialize()
    return MPIContext()
  }

  /// Ends MPI in this process; call it on every rank once training is done, before exiting.
  ///
  /// Nothing may be called on the context afterwards. A second call does nothing.
  public func finalize() {
    guard !MPI.isFinalized else { return }
    MPI.finalize()
  }

  /// `"rank 1 of 4"`: how messages name this process.
  public var name: String { "rank \(rank) of \(size)" }

  // MARK: Ending the job

  /// Ends the whole job from this rank alone: prints `message` on standard error, then
  /// `MPI_Abort` makes mpirun stop every other rank and exit with status `code`.
  ///
  /// Use it for a failure only this rank sees (a file it cannot write); a failure every rank
  /// sees at the same point ends better with ``exit(failure:)``.
  public func abort(_ message: String, code: Int32 = 1) -> Never {
    printError(message)
    MPI.abort(code: code)
  }

  /// Ends this rank with status 1 after printing `message` on standard error, finalizing MPI
  /// first so that mpirun reports a failed job, not a crashed one.
  ///
  /// Every rank must call it at the same point (as after a failed ``requireAgreement(on:)``,
  /// which throws on every rank): finalizing waits for the others.
  public func exit(failure message: String) -> Never {
    printError(message)
    finalize()
    Glibc.exit(1)
  }

  /// Makes this rank print `message` on standard error when mpirun ends it because another rank
  /// failed (mpirun sends SIGTERM), so that every rank's log says why it stopped.
  ///
  /// The process then exits with status 143 (128 + SIGTERM). It replaces any SIGTERM handler.
  public func announceTermination(_ message: String) {
    MPI.announceTermination(message.hasSuffix("\n") ? message : message + "\n")
  }

  /// Waits until every rank has called it.
  public func barrier() {
    requireSameCall(.barrier)
    MPI.barrier()
  }

  /// Counts `count` reductions of elements, `overlapped` of them started during a backward
  /// sweep, for ``reductionCount`` and ``overlappedReductionCount``.
  func countReductions(_ count: Int = 1, overlapped: Int = 0) {
    reductionCount += count
    overlappedReductionCount += overlapped
  }

  private func printError(_ message: String) {
    FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
  }
}

/// Memory reused by every collective of a context, so that a training step's allreduce neither
/// allocates nor touches fresh pages: grown when a collective needs more, freed with the
/// context.
final class ScratchBuffer {
  private var memory = UnsafeMutableRawBufferPointer(start: nil, count: 0)

  /// The first `count` elements of the memory, bound to `Scalar`; their values are unspecified.
  func buffer<Scalar>(of type: Scalar.Type, count: Int) -> UnsafeMutableBufferPointer<Scalar> {
    let byteCount = count * MemoryLayout<Scalar>.stride
    if memory.count < byteCount {
      memory.deallocate()
      memory = .allocate(byteCount: byteCount, alignment: 64)
    }
    let bound = memory.bindMemory(to: Scalar.self)
    return UnsafeMutableBufferPointer(rebasing: bound[..<count])
  }

  deinit { memory.deallocate() }
}
