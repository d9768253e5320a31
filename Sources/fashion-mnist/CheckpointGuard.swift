import AutodiffNN
import Foundation

/// What the file at `--checkpoint` means for a run, decided before any data is read: a new run
/// never overwrites another run's checkpoint unasked, and a resumed run continues only the
/// training it was asked for, from finite numbers.
struct CheckpointGuard {
  var checkpoint: OutputFile
  var configuration: RunConfiguration
  var resume: Bool
  var overwrite: Bool
  var allowChanges: Bool

  /// How the run starts.
  enum Start {
    /// From new weights.
    case fresh
    /// From the checkpoint, after the epochs of `history`; `changes` lists the options that
    /// differ from the checkpoint's (accepted with `--allow-changes`).
    case resuming(history: TrainingHistory, changes: [String])
  }

  /// Decides how the run starts.
  ///
  /// - Throws: ``JobFailure`` with status 0 when a resumed run has no epoch left to train; 64
  ///   when a new run would overwrite a checkpoint without `--overwrite`, or a resumed one would
  ///   change options without `--allow-changes`; 1 when the checkpoint is missing, unreadable,
  ///   or holds a value that is not finite.
  func check() throws(JobFailure) -> Start {
    let path = checkpoint.path
    guard resume else {
      guard overwrite || !FileManager.default.fileExists(atPath: path) else {
        let held = (try? SafeTensors(contentsOf: checkpoint.url))?.metadata["epochs"]
          .flatMap(Int.init).map { " of \(counted($0, "epoch"))" }
        throw .usage(
          "\(path) already holds a checkpoint\(held ?? "") from an earlier run: pass --resume "
            + "to continue it, --overwrite to replace it, or --checkpoint to write elsewhere")
      }
      return .fresh
    }

    let file: SafeTensors
    do {
      file = try SafeTensors(contentsOf: checkpoint.url)
    } catch .fileNotFound {
      throw JobFailure(
        "no checkpoint at \(path) to resume from: leave out --resume to start anew, or name "
          + "the checkpoint with --checkpoint")
    } catch {
      throw JobFailure("cannot resume from \(path): \(error)")
    }
    let history: TrainingHistory
    do {
      history = try TrainingHistory(metadata: file.metadata)
    } catch {
      throw JobFailure("cannot resume from \(path): \(error.message)")
    }
    let done = history.epochs.count
    guard done < configuration.epochs else {
      throw JobFailure(
        "\(path) already holds \(counted(done, "epoch")) and --epochs is "
          + "\(configuration.epochs): nothing to do (to train longer, pass a larger --epochs "
          + "with --allow-changes)", status: 0)
    }
    // Damage first: no choice of options resumes from it.
    try checkFinite(file)
    let changes = try changedOptions(stored: file.metadata[RunConfiguration.metadataKey])
    return .resuming(history: history, changes: changes)
  }

  /// The options that differ from the checkpoint's, as `--name old → new`.
  ///
  /// - Throws: ``JobFailure/usage(_:)`` when a fixed option (the layer sizes) differs, or any
  ///   option does without `--allow-changes`, naming each with its old and new value.
  private func changedOptions(stored: String?) throws(JobFailure) -> [String] {
    let path = checkpoint.path
    guard var old = stored.flatMap(RunConfiguration.decodeOptions) else {
      guard allowChanges else {
        throw .usage(
          "\(path) does not record the options it was trained with (an older fashion-mnist "
            + "wrote it): pass --allow-changes to resume it with this run's options")
      }
      return ["the checkpoint's options are unknown"]
    }
    // Options added since the checkpoint was written had the value that means "off".
    old.merge(RunConfiguration.valuesBeforeOptionsExisted) { stored, _ in stored }
    let new = configuration.options
    let names = new.map(\.name) + old.keys.sorted().filter { !new.map(\.name).contains($0) }
    let newValues = Dictionary(uniqueKeysWithValues: new.map { ($0.name, $0.value) })
    let differing = names.filter { old[$0] != newValues[$0] }
    func change(_ name: String) -> String {
      "--\(name) \(old[name] ?? "unset") → \(newValues[name] ?? "unset")"
    }
    if let fixed = differing.first(where: RunConfiguration.fixedOptions.contains) {
      throw .usage(
        "\(path) was trained with --\(fixed) \(old[fixed] ?? "unset"), this run asks for "
          + "\(newValues[fixed] ?? "unset"): its weights fit only the model it was trained as, so "
          + "--\(fixed) cannot change on resume; name a new --checkpoint to train another model")
    }
    guard differing.isEmpty || allowChanges else {
      let reason =
        differing.contains("epochs")
        ? " (--epochs sets the length of the learning rate's cosine decay)" : ""
      throw .usage(
        "\(path) was trained with other options: \(differing.map(change).joined(separator: ", "))"
          + "\(reason); resume with the checkpoint's options, or pass --allow-changes to "
          + "continue with the new ones")
    }
    return differing.map(change)
  }

  /// Stops a resume from a checkpoint that holds NaN or infinity anywhere: the model would
  /// train on (a NaN moment makes every later step of its weight NaN) while the loss looked
  /// normal until the weights it touches were used.
  ///
  /// - Throws: ``JobFailure`` naming the tensor, the element and the value.
  private func checkFinite(_ file: SafeTensors) throws(JobFailure) {
    let path = checkpoint.path
    for entry in file.entries {
      let tensor: Tensor<Float>
      do {
        tensor = try file.tensor(named: entry.name, as: Float.self)
      } catch {
        throw JobFailure("cannot resume from \(path): \(error)")
      }
      guard allFinite(tensor) else {
        throw JobFailure(
          "cannot resume from \(path): its tensor '\(entry.name)' holds "
            + "\(nonFiniteValue(tensor)): the run that wrote it diverged, or the file is "
            + "damaged; start anew with --overwrite, or resume from a copy saved before")
      }
    }
  }
}
