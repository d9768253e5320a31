// A thread's ring of one-element storages (`ScalarStorages`): a scalar's storage is used again
// only when nothing but the ring refers to it, so no tensor ever sees another's value.

import Foundation
import Testing

@testable import Autodiff

@Suite struct ScalarStoragesTests {
  /// More scalars than a ring holds, so that it wraps around several times.
  static let many = ScalarStorages.capacity * 5 + 3

  @Test("Scalars that are kept keep their values while the thread makes many more")
  func keptScalarsStayIntact() {
    var kept: [Tensor<Double>] = []
    for value in 0..<Self.many {
      let scalar = Tensor(Double(value))
      // Every third one is kept; the others are freed at once, and their storages reused.
      if value % 3 == 0 { kept.append(scalar) }
      _ = Tensor(-1.0) + Tensor(-2.0)
    }
    #expect(kept.map(\.scalar) == stride(from: 0, to: Self.many, by: 3).map(Double.init))
  }

  @Test("A storage freed by its tensor is used again, and a storage in use is not")
  func reuse() {
    let first = Tensor<Float>(1)
    let identity = ObjectIdentifier(first.storage)
    var allTwo = true
    for _ in 0..<Self.many {
      // Each new scalar is freed at once: the ring hands its storage out again.
      let scalar = Tensor<Float>(2)
      #expect(ObjectIdentifier(scalar.storage) != identity)
      allTwo = allTwo && scalar.scalar == 2
    }
    #expect(first.scalar == 1 && allTwo)
    let freedIdentity: ObjectIdentifier
    do {
      let freed = Tensor<Float>(3)
      freedIdentity = ObjectIdentifier(freed.storage)
    }
    let later = (0..<ScalarStorages.capacity).map { _ in Tensor<Float>(4) }
    #expect(later.contains { ObjectIdentifier($0.storage) == freedIdentity })
    #expect(later.allSatisfy { $0.scalar == 4 })
  }

  @Test("Writing a scalar in place copies it first: no other scalar changes")
  func writeInPlace() {
    var written = Tensor<Double>(5)
    let copy = written
    written.withUnsafeMutableBufferPointer { $0[0] = 6 }
    let others = (0..<Self.many).map { Tensor(Double($0)) }
    #expect(written.scalar == 6 && copy.scalar == 5)
    #expect(others.map(\.scalar) == (0..<Self.many).map(Double.init))
  }

  @Test("Scalars made on one thread and freed on another stay intact on both")
  func acrossThreads() async {
    let count = Self.many
    await withTaskGroup(of: Bool.self) { group in
      for task in 0..<8 {
        // Made here, read and freed in the tasks, while each task's thread makes its own.
        let handed = (0..<count).map { Tensor(Double(task * count + $0)) }
        group.addTask {
          var intact = true
          for (offset, scalar) in handed.enumerated() {
            let own = Tensor(Double(-offset)) * Tensor(2.0)
            intact = intact && scalar.scalar == Double(task * count + offset)
            intact = intact && own.scalar == Double(-2 * offset)
          }
          return intact
        }
      }
      for await intact in group { #expect(intact) }
    }
  }
}
