// Malformed-file fuzzing: thousands of files made from valid safetensors, .npy and IDX files by
// seeded mutations (every truncation, bit flips, byte overwrites, insertions and deletions,
// forged length fields, forged numbers and names in the headers). Each must either be rejected
// with the reader's typed error, or be accepted and then read completely with every invariant
// holding: shapes agree with element counts, the tensors' bytes fit in the file, and an
// operation on every tensor runs. A crash, a hang or an out-of-bounds read (which the
// address-sanitizer pass of .ci/run would report) fails the suite.

import AutodiffNN
import Foundation
import Testing

@Suite struct MalformedFileTests {
  /// How many mutated files a reader saw, and how it took them.
  struct Tally: CustomStringConvertible {
    var files = 0
    var rejected = 0
    var accepted: Int { files - rejected }
    var description: String { "\(files) files: \(rejected) rejected, \(accepted) accepted" }
  }

  // MARK: Mutations

  /// Mutations of `seed`, drawn from `generator`; the same seed gives the same files.
  ///
  /// - Parameters:
  ///   - headerEnd: Where the header ends: positions before it are mutated exhaustively.
  ///   - lengthField: The byte range of a little-endian length field to forge, if any.
  static func mutations(
    of seed: Data, headerEnd: Int, lengthField: Range<Int>? = nil,
    using generator: inout SeededGenerator
  ) -> [Data] {
    let bytes = [UInt8](seed)
    var files: [Data] = []
    // Every truncation.
    for length in 0..<bytes.count { files.append(Data(bytes[..<length])) }
    // A flipped bit at every header position, and at 300 random positions.
    let positions =
      Array(0..<Swift.min(headerEnd, bytes.count))
      + (0..<300).map { _ in Int.random(in: 0..<bytes.count, using: &generator) }
    for position in positions {
      var mutated = bytes
      mutated[position] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
      files.append(Data(mutated))
    }
    // Header bytes overwritten with characters that matter to parsers.
    let special: [UInt8] = Array("\0\u{7F}\"'{}[](),:-09eE.L \n\\".utf8) + [0x80, 0xC3, 0xFF]
    for _ in 0..<600 {
      var mutated = bytes
      let position = Int.random(in: 0..<Swift.min(headerEnd, bytes.count), using: &generator)
      mutated[position] = special.randomElement(using: &generator)!
      files.append(Data(mutated))
    }
    // Several random bytes anywhere.
    for _ in 0..<400 {
      var mutated = bytes
      for _ in 0..<Int.random(in: 2...8, using: &generator) {
        mutated[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(
          in: 0...255, using: &generator)
      }
      files.append(Data(mutated))
    }
    // Insertions and deletions.
    for _ in 0..<200 {
      var mutated = bytes
      let position = Int.random(in: 0...bytes.count, using: &generator)
      let insertion = (0..<Int.random(in: 1...16, using: &generator)).map { _ in
        UInt8.random(in: 0...255, using: &generator)
      }
      mutated.insert(contentsOf: insertion, at: position)
      files.append(Data(mutated))
      var shortened = bytes
      let start = Int.random(in: 0..<bytes.count, using: &generator)
      let end = Swift.min(bytes.count, start + Int.random(in: 1...16, using: &generator))
      shortened.removeSubrange(start..<end)
      files.append(Data(shortened))
    }
    // Forged length fields: 0, small, around the true length and the file's, the largest.
    if let field = lengthField {
      let width = field.count
      let maximum = width == 8 ? UInt64.max : (UInt64(1) << (8 * UInt64(width))) - 1
      let current = bytes[field].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
      var values: [UInt64] = [
        0, 1, 7, 8, current &- 1, current &+ 1, UInt64(bytes.count),
        UInt64(bytes.count) + 1, maximum, maximum / 2, maximum / 2 + 1, 100_000_001,
      ]
      values += (0..<8).map { _ in UInt64.random(in: 0...maximum, using: &generator) }
      for value in values {
        var mutated = bytes
        for (index, position) in field.enumerated() {
          mutated[position] = UInt8(truncatingIfNeeded: (value & maximum) >> (8 * UInt64(index)))
        }
        files.append(Data(mutated))
      }
    }
    return files
  }

  /// Copies of `header` with each number in it replaced, in turn, by numbers that break
  /// sizes (negative, zero, huge, past 64 bits, fractional, exponent), and each quoted word by
  /// other words.
  static func headerTextMutations(of header: String) -> [String] {
    let numbers = [
      "-1", "0", "1", "7", "4294967296", "4611686018427387904", "9223372036854775807",
      "9223372036854775808", "99999999999999999999999", "1.5", "1e400", "-0", "00", "0x10",
    ]
    let words = ["", "F16", "I64", "f4", "<f2", "|O", "<c16", "__metadata__", "True", "model.x"]
    var results: [String] = []
    let scalars = Array(header.unicodeScalars)
    var index = 0
    while index < scalars.count {
      let isDigit = { (s: Unicode.Scalar) in ("0"..."9").contains(s) }
      if isDigit(scalars[index]) {
        var end = index
        while end < scalars.count && isDigit(scalars[end]) { end += 1 }
        for number in numbers {
          results.append(
            String(String.UnicodeScalarView(scalars[..<index])) + number
              + String(String.UnicodeScalarView(scalars[end...])))
        }
        index = end
      } else if scalars[index] == "'" || scalars[index] == "\"" {
        let quote = scalars[index]
        var end = index + 1
        while end < scalars.count && scalars[end] != quote { end += 1 }
        guard end < scalars.count else { break }
        for word in words {
          results.append(
            String(String.UnicodeScalarView(scalars[...index])) + word
              + String(String.UnicodeScalarView(scalars[end...])))
        }
        index = end + 1
      } else {
        index += 1
      }
    }
    return results
  }

  // MARK: Safetensors

  static func safetensorsSeeds() -> [Data] {
    var rng = SeededGenerator(seed: 7)
    return [
      SafeTensors.encode(
        ["w": Tensor<Float>(randomNormal: [3, 2], using: &rng), "b": Tensor<Float>([1, 2])],
        metadata: ["epoch": "3"]),
      SafeTensors.encode(
        [
          "scalar": Tensor<Double>(-0.0), "empty": Tensor<Double>(zeros: [0, 3]),
          "v": Tensor<Double>([.nan, .infinity, 0x1p-1030]),
        ]),
      SafeTensors.encode(
        (0..<4).reduce(into: [String: Tensor<Float>]()) { tensors, index in
          tensors["layers.\(index).weight"] = Tensor(repeating: Float(index), shape: [2, 2])
        }),
    ]
  }

  /// Reads a file completely, or returns false when it is rejected.
  static func readSafetensors(_ bytes: Data) -> Bool {
    let file: SafeTensors
    do {
      file = try SafeTensors(bytes: bytes)
    } catch {
      #expect(!error.description.isEmpty)
      return false
    }
    var bytesInTensors = 0
    for entry in file.entries {
      let elementCount = entry.shape.reduce(1, *)
      bytesInTensors += entry.byteRange.count
      #expect(entry.byteRange.upperBound <= bytes.count)
      if let float = try? file.tensor(named: entry.name, as: Float.self) {
        #expect(float.shape == entry.shape && entry.byteRange.count == 4 * elementCount)
        _ = (float * 2).transposed().sum()
      } else if let double = try? file.tensor(named: entry.name, as: Double.self) {
        #expect(double.shape == entry.shape && entry.byteRange.count == 8 * elementCount)
        _ = (double * 2).transposed().sum()
      }
    }
    #expect(bytesInTensors <= bytes.count)
    return true
  }

  @Test("Mutated safetensors files are rejected with CheckpointError or read completely")
  func safetensors() {
    var tally = Tally()
    var rng = SeededGenerator(seed: 0x5AFE)
    for seed in Self.safetensorsSeeds() {
      let headerLength = Int(seed[0]) | Int(seed[1]) << 8
      var files = Self.mutations(
        of: seed, headerEnd: 8 + headerLength, lengthField: 0..<8, using: &rng)
      let header = String(decoding: seed[8..<(8 + headerLength)], as: UTF8.self)
      let data = [UInt8](seed[(8 + headerLength)...])
      files += Self.headerTextMutations(of: header).map { safetensorsFile(header: $0, data: data) }
      for file in files {
        tally.files += 1
        if !Self.readSafetensors(file) { tally.rejected += 1 }
      }
    }
    print("MalformedFileTests safetensors: \(tally)")
    #expect(tally.files > 7000 && tally.rejected > tally.files / 2)
  }

  // MARK: .npy

  static func npySeeds() -> [Data] {
    var rng = SeededGenerator(seed: 8)
    let matrix = littleEndianBytes((0..<6).map { Double($0) / 3 })
    return [
      NumPyArray.encode(Tensor<Float>(randomNormal: [3, 4], using: &rng)),
      NumPyArray.encode(Tensor<Double>(-0.0)),
      NumPyArray.encode(Tensor<Double>(zeros: [2, 0])),
      npyFile(header: "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }\n", data: matrix),
      npyFile(
        version: 2, header: "{'descr': '>f8', 'fortran_order': False, 'shape': (6,), }\n",
        data: matrix),
    ]
  }

  static func readNumPy(_ bytes: Data) -> Bool {
    let array: NumPyArray
    do {
      array = try NumPyArray(bytes: bytes)
    } catch {
      #expect(!error.description.isEmpty)
      return false
    }
    #expect(array.scalarCount * array.elementType.byteCount <= bytes.count)
    switch array.elementType {
    case .float32:
      let tensor = try? array.tensor(as: Float.self)
      #expect(tensor?.shape == array.shape)
      _ = tensor.map { ($0 * 2).transposed().sum() }
    case .float64:
      let tensor = try? array.tensor(as: Double.self)
      #expect(tensor?.shape == array.shape)
      _ = tensor.map { ($0 * 2).transposed().sum() }
    }
    return true
  }

  @Test("Mutated .npy files are rejected with NumPyError or read completely")
  func numPy() {
    var tally = Tally()
    var rng = SeededGenerator(seed: 0x4E50)
    for seed in Self.npySeeds() {
      let version = seed[6]
      let lengthSize = version == 1 ? 2 : 4
      let headerLength = seed[8..<(8 + lengthSize)].reversed().reduce(0) { $0 << 8 | Int($1) }
      let dataStart = 8 + lengthSize + headerLength
      var files = Self.mutations(
        of: seed, headerEnd: dataStart, lengthField: 8..<(8 + lengthSize), using: &rng)
      let header = String(decoding: seed[(8 + lengthSize)..<dataStart], as: UTF8.self)
      let data = [UInt8](seed[dataStart...])
      files += Self.headerTextMutations(of: header).map {
        npyFile(version: version, header: $0, data: data)
      }
      for file in files {
        tally.files += 1
        if !Self.readNumPy(file) { tally.rejected += 1 }
      }
    }
    print("MalformedFileTests npy: \(tally)")
    #expect(tally.files > 8000 && tally.rejected > tally.files / 2)
  }

  // MARK: IDX

  static func idxSeeds() -> [Data] {
    let labels = idxFile(type: 0x08, shape: [12], payload: (0..<12).map { UInt8($0 % 10) })
    let images = idxFile(type: 0x08, shape: [2, 3, 4], payload: (0..<24).map { UInt8($0 * 10) })
    let floats = idxFile(
      type: 0x0D, shape: [2, 2],
      payload: [1.5, -0.0, .infinity, 3].flatMap { (value: Float) in
        withUnsafeBytes(of: value.bitPattern.bigEndian) { Array($0) }
      })
    return [labels, images, floats, Gzip.compress(images), Gzip.compress(labels, level: 9)]
  }

  static func readIDX(_ bytes: Data) -> Bool {
    let array: IDXArray
    do {
      array = try IDXArray(parsing: bytes)
    } catch {
      #expect(!error.description.isEmpty)
      return false
    }
    let tensor = array.tensor(of: Float.self)
    #expect(tensor.shape == array.shape)
    _ = (tensor * 2).transposed().sum()
    if array.elementType.isInteger { #expect((try? array.integers())?.count == array.scalarCount) }
    return true
  }

  /// IDX files with forged extents and ranks, beside the generic mutations: extents are 32-bit
  /// big-endian numbers, so the forgeries are written in binary.
  static func idxHeaderForgeries() -> [Data] {
    let extents: [UInt32] = [0, 1, 2, 12, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF]
    var files: [Data] = []
    for first in extents {
      for second in extents {
        files.append(
          idxFile(type: 0x08, shape: [first, second], payload: Array(repeating: 1, count: 24)))
        files.append(idxFile(type: 0x0E, shape: [0, first, second, 0xFFFF_FFFF], payload: []))
      }
    }
    for rank in [0, 1, 3, 255] as [UInt8] {
      files.append(Data([0, 0, 0x08, rank] + Array(repeating: 0xFF, count: 16)))
    }
    return files
  }

  @Test("Mutated IDX files, plain and gzipped, are rejected with DatasetError or read completely")
  func idx() {
    var tally = Tally()
    var rng = SeededGenerator(seed: 0x1D8)
    var files = Self.idxHeaderForgeries()
    for seed in Self.idxSeeds() {
      let headerEnd = Gzip.isCompressed(seed) ? 24 : 4 + 4 * Int(seed[3])
      files += Self.mutations(of: seed, headerEnd: headerEnd, using: &rng)
    }
    for file in files {
      tally.files += 1
      if !Self.readIDX(file) { tally.rejected += 1 }
    }
    print("MalformedFileTests IDX: \(tally)")
    #expect(tally.files > 8000 && tally.rejected > tally.files / 2)
  }

  // MARK: Absurd shapes behind a zero

  @Test("An empty shape whose other extents multiply past Int.max is rejected by every reader")
  func zeroExtentHidingOverflow() {
    // Before the check counted zeros as 1, these loaded as empty tensors whose first strided
    // operation (a transpose) trapped on arithmetic overflow: the fuzzing above found it.
    let huge = "4611686018427387904"  // 2⁶²
    let safetensors = safetensorsFile(
      header: "{\"x\":{\"dtype\":\"F32\",\"shape\":[0,\(huge),\(huge)],\"data_offsets\":[0,0]}}")
    #expect(throws: CheckpointError.self) { try SafeTensors(bytes: safetensors) }
    let npy = npyFile(
      header: "{'descr': '<f4', 'fortran_order': False, 'shape': (0, \(huge), \(huge)), }\n")
    #expect(throws: NumPyError.self) { try NumPyArray(bytes: npy) }
    let idx = idxFile(type: 0x0E, shape: [0, 0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], payload: [])
    #expect(throws: DatasetError.self) { try IDXArray(parsing: idx) }
  }

  // MARK: Files on disk

  @Test("Truncated files on disk are rejected the same way when read through the file system")
  func truncatedOnDisk() throws {
    let directory = ScratchDirectory()
    let safetensors = Self.safetensorsSeeds()[0]
    let npy = Self.npySeeds()[0]
    var rejected = 0
    for length in stride(from: 0, to: safetensors.count, by: 7) {
      let url = directory.write(safetensors.prefix(length), to: "t.safetensors")
      #expect(throws: CheckpointError.self) { try SafeTensors(contentsOf: url) }
      rejected += 1
    }
    for length in stride(from: 0, to: npy.count, by: 7) {
      let url = directory.write(npy.prefix(length), to: "t.npy")
      #expect(throws: NumPyError.self) { try NumPyArray(contentsOf: url) }
      rejected += 1
    }
    print("MalformedFileTests on disk: \(rejected) truncated files rejected")
  }
}
