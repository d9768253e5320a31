#!/usr/bin/env python3
"""The Autodiff benchmark workloads in NumPy (hand-written backprop), PyTorch (eager), JAX (jit) and
MLX (compiled, on its CPU device).

Each workload has the shapes, dtype and arithmetic of its Swift suite in Benchmarks/:

  matgrad N          D = W·X, then dW = dD·Xᵀ and dX = Wᵀ·dD, N×N Float32, N = 64, 256, 1024
  mlp-small step     64-128-128-10 ReLU, batch 64, softmax cross-entropy, SGD (lr 1e-3)
  mlp-wide step      784-512-512-10 ReLU, batch 128, same
  mlp-large step     784-2048-2048-10 ReLU, batch 512, same
  scalar-graph       value and gradient of (x + σ(y)) / (σ(x) + (x+y)²) at (2, −4), Float64
  elementwise 1M     value and gradient of Σ relu(x)² + σ(x), 2²⁰ Float32 values
  fashion-mnist      one epoch (--fashion): 784-256-128-10 ReLU, batch 128, Adam (lr 1e-3)

Timing: warm-up calls, then one perf_counter_ns sample per call until 3 s (--seconds) or the
repeat cap, and the median of the samples (the statistic compare.py quotes for package-benchmark
too). The epoch is timed once, over the training steps only: the data is loaded, standardized,
shuffled and cut into batches before the clock starts, as the fashion-mnist command does (JAX's
two batch shapes are compiled before it too).

Run one framework per process, so that its thread settings are in place before it loads
(compare.py also pins each process to --threads cores with taskset, and runs MLX a second time
with OpenBLAS in LD_PRELOAD):

  python3 peers.py --framework torch --threads 2 [--fashion] [--json out.json]
                   [--workloads 'matgrad 256|scalar-graph']

Checks before timing: each peer's scalar-graph gradient against the published one (MLX's to
1e-6: its Float64 exp is Float32-accurate), and JAX's and MLX's loss and gradients of each MLP
step against the hand-written NumPy ones.

Prints one JSON object: {"framework", "version", "threads", "results": {workload: {...}}}, with
times in nanoseconds (seconds for the epoch). A framework that is not installed prints
{"framework": ..., "missing": "..."} and exits 0.
"""

import argparse
import gzip
import json
import math
import os
import re
import statistics
import sys
import time

SCALAR_GRAPH_EXPECTED = (0.5348320870757594, 0.342460382923052)  # README, and Autodiff's tests
FASHION_DIRECTORY = "/usr/share/datasets/fashion-mnist"
MLP_SHAPES = {
    "mlp-small step": ([64, 128, 128, 10], 64),
    "mlp-wide step": ([784, 512, 512, 10], 128),
    "mlp-large step": ([784, 2048, 2048, 10], 512),
}
ELEMENTWISE_COUNT = 1 << 20
LEARNING_RATE = 1e-3
SECONDS = 3.0  # per workload, like the Swift suites' maxDuration; --seconds changes it


def set_thread_environment(threads):
    """Thread settings every BLAS and OpenMP runtime here reads at load time."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)


WORKLOADS = None  # a regex of workload names to run (--workloads), or None for all


def wanted(name):
    return WORKLOADS is None or re.fullmatch(WORKLOADS, name) is not None


def timed(results, name, call, warmup=5, max_repeats=100_000):
    """Measures `call` into `results[name]` when the workload is wanted."""
    if wanted(name):
        results[name] = measure(call, warmup, max_repeats)


def measure(call, warmup=5, max_repeats=100_000):
    """Median wall-clock nanoseconds of `call()` after `warmup` calls, and the sample count.

    The warm-up stops early once it has taken SECONDS (a step of seconds, such as MLX's
    mlp-large on its reference BLAS, needs one call to compile and warm up, not ten).
    """
    deadline = time.perf_counter() + SECONDS
    for _ in range(warmup):
        call()
        if time.perf_counter() > deadline:
            break
    samples = []
    deadline = time.perf_counter() + SECONDS
    while len(samples) < max_repeats and (len(samples) < 5 or time.perf_counter() < deadline):
        start = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - start)
    return {"median_ns": statistics.median(samples), "samples": len(samples)}


def load_fashion(directory=FASHION_DIRECTORY):
    """Training images [60000, 784] float32 in [0, 1] and labels, from the gzipped IDX files."""
    import numpy as np

    def read(name):
        with gzip.open(os.path.join(directory, name + ".gz"), "rb") as file:
            data = file.read()
        dimensions = data[3]
        shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dimensions)]
        return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dimensions).reshape(shape)

    images = read("train-images-idx3-ubyte").reshape(-1, 784).astype(np.float32) / 255
    labels = read("train-labels-idx1-ubyte").astype(np.int64)
    # Standardized with one mean and deviation over all pixels, as the fashion-mnist command does.
    images = (images - images.mean()) / images.std()
    return images.astype(np.float32), labels


def epoch_batches(count, batch, seed):
    """The index arrays of one shuffled epoch, the last batch partial (469 batches of 60,000)."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(count)
    return [order[i : i + batch] for i in range(0, count, batch)]


# MARK: NumPy, hand-written backpropagation


def adam_update(params, grads, moments, t, sqrt, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """One functional Adam step, as torch.optim.Adam arranges it, for the frameworks whose arrays
    are immutable (JAX, MLX): the new parameters and moments. `sqrt` is the framework's."""
    new_params, new_moments = [], []
    for p, g, (m, v) in zip(params, grads, moments):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        step_size = LEARNING_RATE / (1 - beta1**t)
        new_params.append(p - step_size * m / (sqrt(v) / sqrt(1 - beta2**t) + epsilon))
        new_moments.append((m, v))
    return new_params, new_moments


def numpy_mlp_gradients(params, x, labels):
    """Loss and gradients of softmax cross-entropy of a ReLU MLP, by hand (NumPy arrays).

    JAX's and MLX's differentiated steps are checked against it (`check_mlp_step`).
    """
    import numpy as np

    w1, b1, w2, b2, w3, b3 = params
    z1 = x @ w1 + b1
    h1 = np.maximum(z1, 0)
    z2 = h1 @ w2 + b2
    h2 = np.maximum(z2, 0)
    z3 = h2 @ w3 + b3
    shifted = z3 - z3.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    rows = np.arange(len(labels))
    loss = np.mean(np.log(total[:, 0]) - shifted[rows, labels])
    dz3 = e / total
    dz3[rows, labels] -= 1
    dz3 /= len(labels)
    dh2 = dz3 @ w3.T
    dz2 = dh2 * (z2 > 0)
    dh1 = dz2 @ w2.T
    dz1 = dh1 * (z1 > 0)
    grads = [x.T @ dz1, dz1.sum(0), h1.T @ dz2, dz2.sum(0), h2.T @ dz3, dz3.sum(0)]
    return loss, grads


def check_mlp_step(framework, name, params, x, labels, loss, grads, tolerance=1e-4):
    """Stops unless a peer's loss and gradients at `params` match the hand-written NumPy ones.

    All arguments are converted with `numpy.asarray`; Float32 sums in a different order differ
    by a few ulps of the largest entry, so the check is relative to each gradient's largest entry.
    """
    import numpy as np

    params, grads = [np.asarray(p) for p in params], [np.asarray(g) for g in grads]
    expected_loss, expected = numpy_mlp_gradients(params, np.asarray(x), np.asarray(labels))
    errors = [abs(float(loss) - float(expected_loss)) / max(1.0, abs(float(expected_loss)))]
    errors += [
        float(np.max(np.abs(g - e))) / max(float(np.max(np.abs(e))), 1e-30)
        for g, e in zip(grads, expected)]
    if max(errors) > tolerance:
        sys.exit(f"{framework} {name}: loss or gradients differ from NumPy's by {max(errors):.2e}")


def numpy_workloads(fashion):
    import numpy as np

    rng = np.random.default_rng(1)
    results = {}

    for n in (64, 256, 1024):
        w, x, dd = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(3))

        def matgrad():
            d = w @ x
            return d, dd @ x.T, w.T @ dd

        timed(results, f"matgrad {n}", matgrad, max_repeats=2_000)

    def init_mlp(sizes):
        params = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            deviation = math.sqrt(2 / fan_in)  # a Python float keeps the array float32
            params.append(rng.standard_normal((fan_in, fan_out), dtype=np.float32) * deviation)
            params.append(np.zeros(fan_out, dtype=np.float32))
        return params

    for name, (sizes, batch) in MLP_SHAPES.items():
        params = init_mlp(sizes)
        x = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
        labels = rng.integers(0, sizes[-1], batch)

        def step(params=params, x=x, labels=labels):
            loss, grads = numpy_mlp_gradients(params, x, labels)
            for p, g in zip(params, grads):
                p -= LEARNING_RATE * g
            return loss

        timed(results, name, step, warmup=10, max_repeats=20_000)

    def scalar_graph(x=np.float64(2), y=np.float64(-4)):
        sx, sy = 1 / (1 + np.exp(-x)), 1 / (1 + np.exp(-y))
        s = x + y
        numerator, denominator = x + sy, sx + s * s
        f = numerator / denominator
        d_numerator, d_denominator = 1 / denominator, -numerator / (denominator * denominator)
        dx = d_numerator + d_denominator * (sx * (1 - sx) + 2 * s)
        dy = d_numerator * sy * (1 - sy) + d_denominator * 2 * s
        return f, dx, dy

    check_scalar_graph(scalar_graph()[1:])
    timed(results, "scalar-graph", scalar_graph, warmup=100, max_repeats=1_000_000)

    x = rng.standard_normal(ELEMENTWISE_COUNT, dtype=np.float32)

    def elementwise():
        r = np.maximum(x, 0)
        s = 1 / (1 + np.exp(-x))
        return (r * r + s).sum(), 2 * r + s * (1 - s)

    timed(results, "elementwise 1M", elementwise, max_repeats=10_000)

    if fashion and wanted("fashion-mnist epoch"):
        images, labels = load_fashion()
        params = init_mlp([784, 256, 128, 10])
        moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
        beta1, beta2, epsilon = 0.9, 0.999, 1e-8
        # The batches are gathered before the clock starts, as the fashion-mnist command does.
        batches = [(images[i], labels[i]) for i in epoch_batches(len(labels), 128, 42)]
        start = time.perf_counter()
        for t, (x, y) in enumerate(batches, start=1):
            _, grads = numpy_mlp_gradients(params, x, y)
            for p, g, (m, v) in zip(params, grads, moments):
                m *= beta1
                m += (1 - beta1) * g
                v *= beta2
                v += (1 - beta2) * g * g
                step_size = LEARNING_RATE / (1 - beta1**t)
                p -= step_size * m / (np.sqrt(v) / math.sqrt(1 - beta2**t) + epsilon)
        results["fashion-mnist epoch"] = {"seconds": time.perf_counter() - start}

    return np.__version__, results


# MARK: PyTorch, eager


def torch_workloads(fashion, threads):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(1)
    results = {}

    for n in (64, 256, 1024):
        w = torch.randn(n, n, requires_grad=True)
        x = torch.randn(n, n, requires_grad=True)
        dd = torch.randn(n, n)

        def matgrad():
            d = w @ x
            return d, torch.autograd.grad(d, (w, x), dd)

        timed(results, f"matgrad {n}", matgrad, max_repeats=2_000)

    def mlp(sizes):
        return torch.nn.Sequential(
            torch.nn.Linear(sizes[0], sizes[1]), torch.nn.ReLU(),
            torch.nn.Linear(sizes[1], sizes[2]), torch.nn.ReLU(),
            torch.nn.Linear(sizes[2], sizes[3]))

    for name, (sizes, batch) in MLP_SHAPES.items():
        model = mlp(sizes)
        optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
        x = torch.randn(batch, sizes[0])
        labels = torch.randint(0, sizes[-1], (batch,))

        def step(model=model, optimizer=optimizer, x=x, labels=labels):
            optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(x), labels)
            loss.backward()
            optimizer.step()
            return loss

        timed(results, name, step, warmup=10, max_repeats=20_000)

    x0 = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    y0 = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)

    def scalar_graph(x=x0, y=y0):
        f = (x + torch.sigmoid(y)) / (torch.sigmoid(x) + (x + y) ** 2)
        return f, torch.autograd.grad(f, (x, y))

    check_scalar_graph([float(g) for g in scalar_graph()[1]])
    timed(results, "scalar-graph", scalar_graph, warmup=100, max_repeats=1_000_000)

    x = torch.randn(ELEMENTWISE_COUNT, requires_grad=True)

    def elementwise():
        f = (torch.relu(x) ** 2 + torch.sigmoid(x)).sum()
        return f, torch.autograd.grad(f, x)

    timed(results, "elementwise 1M", elementwise, max_repeats=10_000)

    if fashion and wanted("fashion-mnist epoch"):
        images, labels = (torch.from_numpy(a) for a in load_fashion())
        model = torch.nn.Sequential(
            torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
            torch.nn.ReLU(), torch.nn.Linear(128, 10))
        optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
        batches = [
            (images[i], labels[i])
            for i in (torch.from_numpy(i) for i in epoch_batches(len(labels), 128, 42))]
        start = time.perf_counter()
        for x, y in batches:
            optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
        results["fashion-mnist epoch"] = {"seconds": time.perf_counter() - start}

    return torch.__version__, results


# MARK: JAX, jit


def jax_workloads(fashion):
    import jax

    jax.config.update("jax_enable_x64", True)  # for the Float64 scalar graph; arrays stay float32
    import jax.numpy as jnp

    key = jax.random.PRNGKey(1)
    results = {}

    def ready(value):
        return jax.block_until_ready(value)

    @jax.jit
    def matgrad(w, x, dd):
        d, pullback = jax.vjp(jnp.matmul, w, x)
        return d, pullback(dd)

    for n in (64, 256, 1024):
        w, x, dd = (jax.random.normal(k, (n, n), jnp.float32) for k in jax.random.split(key, 3))
        timed(results, f"matgrad {n}", lambda: ready(matgrad(w, x, dd)), max_repeats=2_000)

    def init_mlp(sizes, key):
        params = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            key, subkey = jax.random.split(key)
            params.append(jax.random.normal(subkey, (fan_in, fan_out), jnp.float32) * (2 / fan_in) ** 0.5)
            params.append(jnp.zeros(fan_out, jnp.float32))
        return params

    def loss_function(params, x, labels):
        w1, b1, w2, b2, w3, b3 = params
        h = jax.nn.relu(x @ w1 + b1)
        h = jax.nn.relu(h @ w2 + b2)
        logits = h @ w3 + b3
        log_probabilities = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(log_probabilities, labels[:, None], axis=1))

    @jax.jit
    def sgd_step(params, x, labels):
        loss, grads = jax.value_and_grad(loss_function)(params, x, labels)
        return [p - LEARNING_RATE * g for p, g in zip(params, grads)], loss

    for name, (sizes, batch) in MLP_SHAPES.items():
        state = {"params": init_mlp(sizes, key)}
        x = jax.random.normal(key, (batch, sizes[0]), jnp.float32)
        labels = jax.random.randint(key, (batch,), 0, sizes[-1])

        def step(state=state, x=x, labels=labels):
            state["params"], loss = sgd_step(state["params"], x, labels)
            return ready(loss)

        if wanted(name):
            loss, grads = jax.value_and_grad(loss_function)(state["params"], x, labels)
            check_mlp_step("JAX", name, state["params"], x, labels, loss, grads)

        timed(results, name, step, warmup=10, max_repeats=20_000)

    def f(x, y):
        return (x + jax.nn.sigmoid(y)) / (jax.nn.sigmoid(x) + (x + y) ** 2)

    scalar_graph = jax.jit(jax.value_and_grad(f, argnums=(0, 1)))
    x0, y0 = jnp.float64(2), jnp.float64(-4)
    check_scalar_graph([float(g) for g in scalar_graph(x0, y0)[1]])
    timed(
        results, "scalar-graph", lambda: ready(scalar_graph(x0, y0)), warmup=100, max_repeats=1_000_000)

    elementwise = jax.jit(jax.value_and_grad(lambda x: jnp.sum(jax.nn.relu(x) ** 2 + jax.nn.sigmoid(x))))
    x = jax.random.normal(key, (ELEMENTWISE_COUNT,), jnp.float32)
    timed(results, "elementwise 1M", lambda: ready(elementwise(x)), max_repeats=10_000)

    if fashion and wanted("fashion-mnist epoch"):
        images, labels = load_fashion()
        params = init_mlp([784, 256, 128, 10], key)
        moments = [(jnp.zeros_like(p), jnp.zeros_like(p)) for p in params]

        @jax.jit
        def adam_step(params, moments, t, x, labels):
            grads = jax.grad(loss_function)(params, x, labels)
            return adam_update(params, grads, moments, t, jnp.sqrt)

        batches = [
            (jnp.asarray(images[i]), jnp.asarray(labels[i]))
            for i in epoch_batches(len(labels), 128, 42)]
        # Compile both batch shapes (128 and the last, 96) before the clock starts.
        for x, y in (batches[0], batches[-1]):
            ready(adam_step(params, moments, jnp.float32(1), x, y))
        start = time.perf_counter()
        for t, (x, y) in enumerate(batches, start=1):
            params, moments = adam_step(params, moments, jnp.float32(t), x, y)
        ready(params)
        results["fashion-mnist epoch"] = {"seconds": time.perf_counter() - start}

    return jax.__version__, results


# MARK: MLX, compiled


def mlx_workloads(fashion):
    """MLX on its CPU device: `mx.compile` of `mx.value_and_grad` (or `mx.vjp`), as JAX's jit.

    MLX evaluates lazily, so each timed call ends in `mx.eval` of everything it returns. Its CPU
    back end runs each op on one stream thread; only the BLAS behind matmul may use more (the
    wheel's bundled reference BLAS does not; OpenBLAS, when compare.py preloads it, uses
    OPENBLAS_NUM_THREADS). The scalar graph is Float64, which MLX's CPU back end supports, but its
    `exp` and `sigmoid` are only Float32-accurate there (exp(2) = 7.3890557), so that gradient is
    checked to 1e-6 rather than 1e-12.
    """
    import mlx.core as mx

    mx.set_default_device(mx.cpu)
    mx.random.seed(1)
    results = {}

    @mx.compile
    def matgrad(w, x, dd):
        (d,), (dw, dx) = mx.vjp(lambda w, x: w @ x, [w, x], [dd])
        return d, dw, dx

    for n in (64, 256, 1024):
        w, x, dd = (mx.random.normal((n, n), mx.float32) for _ in range(3))
        mx.eval(w, x, dd)
        timed(results, f"matgrad {n}", lambda: mx.eval(matgrad(w, x, dd)), max_repeats=2_000)

    def init_mlp(sizes):
        params = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            params.append(mx.random.normal((fan_in, fan_out), mx.float32) * (2 / fan_in) ** 0.5)
            params.append(mx.zeros((fan_out,), mx.float32))
        mx.eval(params)
        return params

    def loss_function(params, x, labels):
        w1, b1, w2, b2, w3, b3 = params
        h = mx.maximum(x @ w1 + b1, 0)
        h = mx.maximum(h @ w2 + b2, 0)
        logits = h @ w3 + b3
        log_probabilities = logits - mx.logsumexp(logits, axis=1, keepdims=True)
        return -mx.mean(mx.take_along_axis(log_probabilities, labels[:, None], axis=1))

    loss_and_gradients = mx.value_and_grad(loss_function)

    @mx.compile
    def sgd_step(params, x, labels):
        loss, grads = loss_and_gradients(params, x, labels)
        return [p - LEARNING_RATE * g for p, g in zip(params, grads)], loss

    for name, (sizes, batch) in MLP_SHAPES.items():
        state = {"params": init_mlp(sizes)}
        x = mx.random.normal((batch, sizes[0]), mx.float32)
        labels = mx.random.randint(0, sizes[-1], (batch,), mx.int32)
        mx.eval(x, labels)

        def step(state=state, x=x, labels=labels):
            state["params"], loss = sgd_step(state["params"], x, labels)
            mx.eval(state["params"], loss)
            return loss

        if wanted(name):
            loss, grads = loss_and_gradients(state["params"], x, labels)
            mx.eval(loss, grads)
            check_mlp_step("MLX", name, state["params"], x, labels, loss, grads)
        timed(results, name, step, warmup=10, max_repeats=20_000)

    def f(x, y):
        return (x + mx.sigmoid(y)) / (mx.sigmoid(x) + (x + y) ** 2)

    scalar_graph = mx.compile(mx.value_and_grad(f, argnums=(0, 1)))
    x0, y0 = mx.array(2.0, mx.float64), mx.array(-4.0, mx.float64)
    _, gradient = scalar_graph(x0, y0)
    check_scalar_graph([g.item() for g in gradient], tolerance=1e-6)
    timed(
        results, "scalar-graph", lambda: mx.eval(scalar_graph(x0, y0)), warmup=100,
        max_repeats=1_000_000)

    elementwise = mx.compile(
        mx.value_and_grad(lambda x: mx.sum(mx.maximum(x, 0) ** 2 + mx.sigmoid(x))))
    x = mx.random.normal((ELEMENTWISE_COUNT,), mx.float32)
    mx.eval(x)
    timed(results, "elementwise 1M", lambda: mx.eval(elementwise(x)), max_repeats=10_000)

    if fashion and wanted("fashion-mnist epoch"):
        images, labels = load_fashion()
        params = init_mlp([784, 256, 128, 10])
        moments = [(mx.zeros_like(p), mx.zeros_like(p)) for p in params]

        @mx.compile
        def adam_step(params, moments, t, x, labels):
            grads = mx.grad(loss_function)(params, x, labels)
            return adam_update(params, grads, moments, t, mx.sqrt)

        batches = [
            (mx.array(images[i]), mx.array(labels[i].astype("int32")))
            for i in epoch_batches(len(labels), 128, 42)]
        mx.eval(batches)
        # Compile both batch shapes (128 and the last, 96) before the clock starts.
        for x, y in (batches[0], batches[-1]):
            mx.eval(adam_step(params, moments, mx.array(1.0), x, y))
        start = time.perf_counter()
        for t, (x, y) in enumerate(batches, start=1):
            params, moments = adam_step(params, moments, mx.array(float(t)), x, y)
            mx.eval(params, moments)
        results["fashion-mnist epoch"] = {"seconds": time.perf_counter() - start}

    return mx.__version__ + blas_in_use(), results


def blas_in_use():
    """", OpenBLAS 0.3.21 preloaded" when this process has OpenBLAS loaded (LD_PRELOAD), else "".

    MLX's Linux wheel links a bundled reference BLAS; a preloaded OpenBLAS's `cblas_sgemm` comes
    first in symbol lookup and replaces it (compare.py checks that with a matmul's time).
    """
    import ctypes

    with open("/proc/self/maps") as file:
        if "libopenblas" not in file.read():
            return ""
    library = ctypes.CDLL("libopenblas.so.0")
    library.openblas_get_config.restype = ctypes.c_char_p
    return ", " + " ".join(library.openblas_get_config().decode().split()[:2]) + " preloaded"


def check_scalar_graph(gradient, tolerance=1e-12):
    """Stops unless a peer's scalar-graph gradient is the published one: same workload, checked."""
    if any(abs(g - e) > tolerance for g, e in zip(gradient, SCALAR_GRAPH_EXPECTED)):
        sys.exit(f"scalar-graph gradient {gradient} differs from {SCALAR_GRAPH_EXPECTED}")


def main():
    global SECONDS, WORKLOADS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--framework", choices=["numpy", "torch", "jax", "mlx"], required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fashion", action="store_true", help="also time one Fashion-MNIST epoch")
    parser.add_argument("--json", help="also write the JSON to this file")
    parser.add_argument("--seconds", type=float, default=SECONDS, help="time per workload")
    parser.add_argument("--workloads", help="a regex of the workload names to run, whole names")
    arguments = parser.parse_args()
    SECONDS = arguments.seconds
    WORKLOADS = arguments.workloads

    set_thread_environment(arguments.threads)
    output = {"framework": arguments.framework, "threads": arguments.threads}
    try:
        if arguments.framework == "numpy":
            version, results = numpy_workloads(arguments.fashion)
        elif arguments.framework == "torch":
            version, results = torch_workloads(arguments.fashion, arguments.threads)
        elif arguments.framework == "jax":
            version, results = jax_workloads(arguments.fashion)
        else:
            version, results = mlx_workloads(arguments.fashion)
        output.update(version=version, results=results)
    except ImportError as error:
        output["missing"] = f"{error.name or arguments.framework} is not installed ({error})"

    text = json.dumps(output, indent=1)
    print(text)
    if arguments.json:
        with open(arguments.json, "w") as file:
            file.write(text + "\n")


if __name__ == "__main__":
    main()
