// The reference side of the differential test: a Python interpreter of the program text
// (RandomPrograms.swift) over jax.numpy in float64, run once for a whole batch of programs.
//
// For each program f and its data (inputs x, directions v, upstream u) it computes, with
// φ(x) = Σ f(x)·u and g = jax.grad(φ, all inputs, has_aux=True) returning f(x) beside ∇φ:
//
//   (gradient, value), (hvp, tangent) = jax.jvp(g, x, v)        ∇φ, f(x), H·v and J·v
//   hvp0 = jax.jvp(x₀ ↦ g(x₀, x₁, …)[0][0], x₀, v₀)            H₀₀·v₀
//
// compiled, 20 programs to a function. Compiling dominates the run time, so XLA is asked to
// compile quickly (its CPU fusion emitters off, LLVM at -O0 without its expensive passes: 3 to 4
// times faster here, the same float64 arithmetic), and compiling 20 programs at once costs a
// third less than one at a time. Eager evaluation is slower still (10 times here): it compiles
// each operation for each new shape, and under jvp and grad for each transformation.

import Autodiff
import Foundation

/// JAX's numbers for one program, or the error it raised.
struct JAXResult: Decodable {
  var error: String?
  var shape: [Int]?
  var value: [Double]?
  var tangent: [Double]?
  var gradient: [[Double]]?
  var hvp: [[Double]]?
  var hvp0: [Double]?
}

enum JAXReference {
  /// Whether `python3` can import jax.
  static let isAvailable = runPython(["-c", "import jax"]).status == 0

  /// The operation names the Python interpreter knows, and its results for `cases`, in order.
  static func evaluate(_ cases: [DifferentialCase]) throws -> (
    operations: [String], results: [JAXResult]
  ) {
    struct Input: Encodable {
      var text: String
      var inputs: [[Double]]
      var directions: [[Double]]
      var upstream: [Double]
    }
    struct Output: Decodable {
      var operations: [String]
      var results: [JAXResult]
    }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "autodiff-differential-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let (script, input, output) = (
      directory.appendingPathComponent("evaluate.py"),
      directory.appendingPathComponent("programs.json"),
      directory.appendingPathComponent("results.json")
    )
    try Data(pythonEvaluator.utf8).write(to: script)
    try JSONEncoder().encode(
      cases.map {
        Input(
          text: $0.program.text, inputs: $0.inputs.map(\.scalars),
          directions: $0.directions.map(\.scalars), upstream: $0.upstream.scalars)
      }
    ).write(to: input)

    var (status, standardError) = runPython(
      [script.path, input.path, output.path, fastCompilation])
    if status != 0 && standardError.contains("Unknown flag") {
      // A JAX whose XLA lacks one of the flags: compile with the defaults.
      (status, standardError) = runPython([script.path, input.path, output.path])
    }
    guard status == 0 else {
      throw JAXReferenceError(
        description: "the JAX evaluator exited with status \(status):\n"
          + standardError.suffix(2000))
    }
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    let decoded = try decoder.decode(Output.self, from: Data(contentsOf: output))
    return (decoded.operations, decoded.results)
  }
}

/// XLA flags that make its CPU compiler several times faster on these small programs.
private let fastCompilation =
  "--xla_cpu_use_fusion_emitters=false --xla_backend_optimization_level=0 "
  + "--xla_llvm_disable_expensive_passes=true"

/// The JAX evaluator did not run to the end.
struct JAXReferenceError: Error, CustomStringConvertible {
  var description: String
}

/// The Python interpreter of program text:
/// `python3 evaluate.py programs.json results.json [XLA flags]`.
private let pythonEvaluator = #"""
  import concurrent.futures, json, multiprocessing, os, sys, traceback
  os.environ.setdefault("JAX_PLATFORMS", "cpu")
  # Spawned workers inherit the flags in the environment, and the parent's sys.argv.
  if len(sys.argv) > 3 and sys.argv[3] not in os.environ.get("XLA_FLAGS", ""):
      os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + sys.argv[3]).strip()
  import numpy as np
  import jax
  jax.config.update("jax_enable_x64", True)
  import jax.numpy as jnp
  from jax.scipy.linalg import cho_solve, solve_triangular
  from jax.scipy.special import logsumexp
  import jax.scipy.special

  def shifted(m, c, g):
      d = np.zeros(m.shape)
      for i in range(min(m.shape)):
          d[i, i] = c + g * i
      return m + d

  FUNCTIONS = {"id": lambda v: v, "sqrt": jnp.sqrt, "log": jnp.log, "square": jnp.square}

  def spectral(left, values, right, f):
      return jnp.matmul(left * FUNCTIONS[f](values), right.T)

  def reduce(function, x, a):
      return function(x, axis=tuple(a["axes"]), keepdims=bool(a["keep"]))

  def index(x, text):
      """x[...] for indices written in NumPy's syntax: `1,1:3,:,-1`."""
      def part(p):
          if p == ":":
              return slice(None)
          if ":" in p:
              lower, upper = p.split(":")
              return slice(int(lower), int(upper))
          return int(p)
      return x[tuple(part(p) for p in str(text).split(","))]

  def qr(x):
      return jnp.linalg.qr(x, mode="reduced")

  OPS = {
      "neg": lambda x, a: -x[0],
      "exp": lambda x, a: jnp.exp(x[0]),
      "log": lambda x, a: jnp.log(x[0]),
      "sqrt": lambda x, a: jnp.sqrt(x[0]),
      "sin": lambda x, a: jnp.sin(x[0]),
      "cos": lambda x, a: jnp.cos(x[0]),
      "tanh": lambda x, a: jnp.tanh(x[0]),
      "sigmoid": lambda x, a: jax.nn.sigmoid(x[0]),
      "relu": lambda x, a: jax.nn.relu(x[0]),
      "abs": lambda x, a: jnp.abs(x[0]),
      "square": lambda x, a: jnp.square(x[0]),
      "log1p": lambda x, a: jnp.log1p(x[0]),
      "expm1": lambda x, a: jnp.expm1(x[0]),
      "erf": lambda x, a: jax.scipy.special.erf(x[0]),
      "tan": lambda x, a: jnp.tan(x[0]),
      "asin": lambda x, a: jnp.arcsin(x[0]),
      "acos": lambda x, a: jnp.arccos(x[0]),
      "atan": lambda x, a: jnp.arctan(x[0]),
      "sinh": lambda x, a: jnp.sinh(x[0]),
      "cosh": lambda x, a: jnp.cosh(x[0]),
      "softplus": lambda x, a: jax.nn.softplus(x[0]),
      "silu": lambda x, a: jax.nn.silu(x[0]),
      "gelu": lambda x, a: jax.nn.gelu(x[0], approximate=False),
      "gelu_tanh": lambda x, a: jax.nn.gelu(x[0], approximate=True),
      "sign": lambda x, a: jnp.sign(x[0]),
      "floor": lambda x, a: jnp.floor(x[0]),
      "ceil": lambda x, a: jnp.ceil(x[0]),
      "round": lambda x, a: jnp.round(x[0]),
      "leaky_relu": lambda x, a: jax.nn.leaky_relu(x[0], negative_slope=a["c"]),
      "elu": lambda x, a: jax.nn.elu(x[0], alpha=a["c"]),
      "clamp": lambda x, a: jnp.clip(x[0], x[1], x[2]),
      "clamps": lambda x, a: jnp.clip(x[0], a["lo"], a["hi"]),
      "gt": lambda x, a: jnp.where(x[0] > x[1], 1.0, 0.0),
      "ge": lambda x, a: jnp.where(x[0] >= x[1], 1.0, 0.0),
      "lt": lambda x, a: jnp.where(x[0] < x[1], 1.0, 0.0),
      "le": lambda x, a: jnp.where(x[0] <= x[1], 1.0, 0.0),
      "eq": lambda x, a: jnp.where(x[0] == x[1], 1.0, 0.0),
      "ne": lambda x, a: jnp.where(x[0] != x[1], 1.0, 0.0),
      "where": lambda x, a: jnp.where(x[0] != 0, x[1], x[2]),
      "add": lambda x, a: x[0] + x[1],
      "sub": lambda x, a: x[0] - x[1],
      "mul": lambda x, a: x[0] * x[1],
      "div": lambda x, a: x[0] / x[1],
      "pow": lambda x, a: jnp.power(x[0], x[1]),
      "max": lambda x, a: jnp.maximum(x[0], x[1]),
      "min": lambda x, a: jnp.minimum(x[0], x[1]),
      "atan2": lambda x, a: jnp.arctan2(x[0], x[1]),
      "adds": lambda x, a: x[0] + a["c"],
      "muls": lambda x, a: x[0] * a["c"],
      "rsubs": lambda x, a: a["c"] - x[0],
      "rdivs": lambda x, a: a["c"] / x[0],
      "pows": lambda x, a: jnp.power(x[0], a["c"]),
      "rpows": lambda x, a: jnp.power(a["c"], x[0]),
      "maxs": lambda x, a: jnp.maximum(x[0], a["c"]),
      "mins": lambda x, a: jnp.minimum(a["c"], x[0]),
      "sum": lambda x, a: reduce(jnp.sum, x[0], a),
      "mean": lambda x, a: reduce(jnp.mean, x[0], a),
      "maxalong": lambda x, a: jnp.max(x[0], axis=tuple(a["axes"]), keepdims=True),
      "sumall": lambda x, a: jnp.sum(x[0]),
      "meanall": lambda x, a: jnp.mean(x[0]),
      "maxall": lambda x, a: jnp.max(x[0]),
      "minalong": lambda x, a: jnp.min(x[0], axis=tuple(a["axes"]), keepdims=True),
      "prod": lambda x, a: reduce(jnp.prod, x[0], a),
      "var": lambda x, a: jnp.var(
          x[0], axis=tuple(a["axes"]), keepdims=bool(a["keep"]), ddof=a["ddof"]),
      "std": lambda x, a: jnp.std(
          x[0], axis=tuple(a["axes"]), keepdims=bool(a["keep"]), ddof=a["ddof"]),
      "logsumexp": lambda x, a: reduce(logsumexp, x[0], a),
      "cumsum": lambda x, a: jnp.cumsum(x[0], axis=a["axis"]),
      "reshape": lambda x, a: jnp.reshape(x[0], a["shape"]),
      "T": lambda x, a: jnp.transpose(x[0]),
      "permute": lambda x, a: jnp.transpose(x[0], a["perm"]),
      "expand": lambda x, a: jnp.broadcast_to(x[0], a["shape"]),
      "slice": lambda x, a: jax.lax.slice_in_dim(x[0], a["lo"], a["hi"], axis=a["axis"]),
      "concat": lambda x, a: jnp.concatenate(x, axis=a["axis"]),
      "index": lambda x, a: index(x[0], a["i"]),
      "gather": lambda x, a: jnp.take(
          x[0], np.array(a["idx"]) % x[0].shape[a["axis"]], axis=a["axis"]),
      "stack": lambda x, a: jnp.stack(x, axis=a["axis"]),
      "split": lambda x, a: jnp.split(x[0], a["n"], axis=a["axis"])[a["k"]],
      "flip": lambda x, a: jnp.flip(x[0], axis=tuple(a["axes"])),
      "tile": lambda x, a: jnp.tile(x[0], a["reps"]),
      "repeat": lambda x, a: jnp.repeat(x[0], a["n"], axis=a["axis"]),
      "repeats": lambda x, a: jnp.repeat(x[0], np.array(a["counts"]), axis=a["axis"]),
      "pad": lambda x, a: jnp.pad(
          x[0], np.array(a["w"], dtype=int).reshape(-1, 2), constant_values=a["c"]),
      "softmax": lambda x, a: jax.nn.softmax(x[0], axis=a["axis"]),
      "logsoftmax": lambda x, a: jax.nn.log_softmax(x[0], axis=a["axis"]),
      "matmul": lambda x, a: jnp.matmul(x[0].T if a["tA"] else x[0], x[1].T if a["tB"] else x[1]),
      "affine": lambda x, a: jnp.matmul(x[0], x[1]) + x[2],
      "bmm": lambda x, a: jnp.matmul(x[0], jnp.swapaxes(x[1], -1, -2) if a["tB"] else x[1]),
      "einsum": lambda x, a: jnp.einsum(a["eq"], *x),
      "norm": lambda x, a: jnp.linalg.norm(
          x[0], axis=tuple(a["axes"]), keepdims=bool(a["keep"]))
          if len(a["axes"]) <= 1
          else jnp.sqrt(jnp.sum(x[0] ** 2, axis=tuple(a["axes"]), keepdims=bool(a["keep"]))),
      "sort": lambda x, a: -jnp.sort(-x[0], axis=a["axis"]) if a["desc"]
          else jnp.sort(x[0], axis=a["axis"]),
      "topk": lambda x, a: jax.lax.top_k(x[0], a["k"])[0],
      "tri": lambda x, a: jnp.tril(x[0], a["k"]) if a["lower"] else jnp.triu(x[0], a["k"]),
      "shift": lambda x, a: shifted(x[0], a["c"], a["g"]),
      "solve": lambda x, a: jnp.linalg.solve(x[0], x[1]),
      "inverse": lambda x, a: jnp.linalg.inv(x[0]),
      "det": lambda x, a: jnp.linalg.det(x[0]),
      "logdet": lambda x, a: jnp.linalg.slogdet(x[0])[1],
      "signlogdet": lambda x, a: jnp.linalg.slogdet(x[0])[0] * jnp.linalg.slogdet(x[0])[1],
      "cholesky": lambda x, a: jnp.linalg.cholesky(x[0]),
      "cholsolve": lambda x, a: cho_solve((x[0], True), x[1]),
      "trisolve": lambda x, a: solve_triangular(
          x[0], x[1], trans=a["trans"], lower=bool(a["lower"]), unit_diagonal=bool(a["unit"])),
      "qr_qr": lambda x, a: jnp.matmul(*qr(x[0])),
      "qr_qqt": lambda x, a: (lambda q: q @ q.T)(qr(x[0])[0]),
      "qr_rtr": lambda x, a: (lambda r: r.T @ r)(qr(x[0])[1]),
      "eigvals": lambda x, a: jnp.linalg.eigh(x[0])[0],
      "eigfn": lambda x, a: (lambda w, v: spectral(v, w, v, a["f"]))(*jnp.linalg.eigh(x[0])),
      "svdvals": lambda x, a: jnp.linalg.svd(x[0], compute_uv=False),
      "svdfn": lambda x, a: (lambda u, s, vt: spectral(u, s, vt.T, a["f"]))(
          *jnp.linalg.svd(x[0], full_matrices=False)),
  }

  def attribute(text):
      try:
          return json.loads(text)
      except ValueError:
          return text

  def parse(text):
      """The input shapes and the instructions (function, operand registers, attributes)."""
      shapes, instructions = [], []
      for words in (line.split() for line in text.splitlines()):
          if words[0] == "in":
              shapes.append(json.loads(words[2]))
              continue
          operands = [int(w[1:]) for w in words[3:] if "=" not in w]
          attributes = dict(w.split("=", 1) for w in words[3:] if "=" in w)
          attributes = {name: attribute(value) for name, value in attributes.items()}
          instructions.append((OPS[words[2]], operands, attributes))
      return shapes, instructions

  def run(instructions, xs):
      registers = list(xs)
      for op, operands, attributes in instructions:
          registers.append(op([registers[i] for i in operands], attributes))
      return registers[-1]

  def flat(x):
      values = np.asarray(x, dtype=np.float64).ravel().tolist()
      return [v if np.isfinite(v) else str(v) for v in values]

  def arrays(lists, shapes):
      return [np.array(v, dtype=np.float64).reshape(s) for v, s in zip(lists, shapes)]

  def prepare(case):
      """The program's quantities as a function of its data, and the data."""
      shapes, instructions = parse(case["text"])
      f = lambda *xs: run(instructions, xs)
      def quantities(xs, vs, u):
          def phi(*xs):
              y = f(*xs)
              return jnp.sum(y * u.reshape(y.shape)), y
          g = jax.grad(phi, argnums=tuple(range(len(xs))), has_aux=True)
          (gradient, value), (hvp, tangent) = jax.jvp(g, tuple(xs), tuple(vs))
          hvp0 = jax.jvp(lambda x0: g(x0, *xs[1:])[0][0], (xs[0],), (vs[0],))[1]
          return value, tangent, gradient, hvp, hvp0
      data = (arrays(case["inputs"], shapes), arrays(case["directions"], shapes),
              np.array(case["upstream"], dtype=np.float64))
      return quantities, data

  def evaluate(cases):
      """The results of several programs, compiled together (fewer, larger compilations)."""
      functions, data = zip(*(prepare(case) for case in cases))
      outputs = jax.jit(lambda data: [f(*d) for f, d in zip(functions, data)])(list(data))
      return [{"shape": list(value.shape), "value": flat(value), "tangent": flat(tangent),
               "gradient": [flat(g) for g in gradient], "hvp": [flat(h) for h in hvp],
               "hvp0": flat(hvp0)} for value, tangent, gradient, hvp, hvp0 in outputs]

  def evaluate_batch(cases):
      """The results of `cases`; where compiling them together fails, of each alone."""
      try:
          return evaluate(cases)
      except Exception:
          results = []
          for case in cases:
              try:
                  results += evaluate([case])
              except Exception:
                  results.append({"error": traceback.format_exc(limit=4)})
          return results

  def main():
      with open(sys.argv[1]) as file:
          cases = json.load(file)
      batches = [cases[start:start + 20] for start in range(0, len(cases), 20)]
      # Compiling is single-threaded: this process and a spawned one per further core (each
      # imports jax, about 1.5 s) take every n-th batch.
      cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
      n = max(1, min(cores or 1, 4, len(batches)))
      shares = [batches[k::n] for k in range(n)]
      if n == 1:
          done = [evaluate_batches(shares[0])]
      else:
          context = multiprocessing.get_context("spawn")
          with concurrent.futures.ProcessPoolExecutor(n - 1, mp_context=context) as pool:
              futures = [pool.submit(evaluate_batches, share) for share in shares[1:]]
              done = [evaluate_batches(shares[0])] + [future.result() for future in futures]
      results = [result for i in range(len(batches)) for result in done[i % n][i // n]]
      with open(sys.argv[2], "w") as file:
          json.dump({"operations": sorted(OPS), "results": results}, file)

  def evaluate_batches(batches):
      """The results of each batch of `batches`."""
      return [evaluate_batch(batch) for batch in batches]

  if __name__ == "__main__":
      main()
  """#
