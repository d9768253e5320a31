import Foundation

/// A value that copies of a layer share and change from their non-mutating forward pass:
/// ``Dropout``'s random stream, ``BatchNorm``'s running statistics.
///
/// A training step calls a copy of the model (`model.replacingParameters(with:)`), so state that
/// the forward pass advances lives in one place that the model and its copies reference, as a
/// PyTorch module's buffers do. Setting a layer's ``Layer/state`` gives it a box of its own.
final class SharedState<Value: Sendable>: @unchecked Sendable {
  // @unchecked: `value` is read and written only while `lock` is held, so tasks that call copies
  // of one model at once take turns.
  private let lock = NSLock()
  private var value: Value

  init(_ value: Value) { self.value = value }

  /// Runs `body` on the value, under the lock.
  func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
    lock.lock()
    defer { lock.unlock() }
    return body(&value)
  }

  /// A copy of the value, read under the lock.
  var current: Value { withLock { $0 } }
}
