// Limits shared by every file reader and writer in AutodiffNN (IDX, `.npy`, safetensors), kept
// here so that the formats cannot drift apart.

/// The most axes a tensor read from or written to a file may have: 64, NumPy's `NPY_MAXDIMS`.
///
/// Whatever one of our readers accepts, NumPy (and so Hugging Face's `safetensors`, which
/// builds NumPy arrays) accepts too, and whatever our writers write, our readers read back. A
/// file cannot hand the program a tensor of 100,000 axes, which code that walks a shape axis by
/// axis (printing, strides, broadcasting) would pay for per axis, or recurse through.
/// ``NumPyArray/maximumRank``, ``SafeTensors/maximumRank`` and ``IDXArray/maximumRank`` are
/// this value.
let maximumFileRank = 64
