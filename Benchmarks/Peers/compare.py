#!/usr/bin/env python3
"""Runs Autodiff's benchmark suites and the NumPy, PyTorch, JAX and MLX peers; prints the tables.

    python3 Benchmarks/Peers/compare.py                  # 2 threads for everyone
    python3 Benchmarks/Peers/compare.py --threads 1,2,all --json sweep.json   # one table per count
    OPENBLAS_CORETYPE=Haswell python3 Benchmarks/Peers/compare.py --fashion --json run.json

Autodiff's side is `swift package benchmark` in Benchmarks/, exported with
`--format histogramPercentiles` (one TSV per benchmark and metric, in nanoseconds and counts as
the suites configure them); the table quotes each median (the 50th percentile). The floors are
the suites' own floor benchmarks, built into the same suite binary and run right after the
workload (package-benchmark starts one process per benchmark). On a machine without Swift,
--suites DIR runs the same suites from executables built elsewhere (Benchmarks/ManyCore/pack.sh),
one process per benchmark, and reads the medians they print. The peers run one framework per
process (peers.py), each timed by its median over many calls after warm-up.

Threads: --threads takes a comma list of counts ("all" = the cores this process may use, its
affinity set), and runs everything once per count T, printing one table per T and then a summary
(workload × T: Autodiff's time, Autodiff/floor and the fastest peer). For each T every process,
Autodiff's suites and fashion-mnist, its floors and each peer, runs under `taskset -c` on the
first T cores of the affinity set, and is told T: OPENBLAS_NUM_THREADS, OMP_NUM_THREADS,
MKL_NUM_THREADS and AUTODIFF_NUM_THREADS = T, PyTorch torch.set_num_threads(T). JAX (XLA) sizes
its pool to the cores it may run on, so taskset is what sets its T: jax 0.10.2 accepts
XLA_FLAGS=--xla_cpu_multi_thread_eigen=false (passed for T = 1) but a 2048² matmul still runs
on two threads with it, and `intra_op_parallelism_threads=T` is no XLA flag at all (a TensorFlow
session option; XLA reads a leading bare word as a flag file name). MLX runs each op on one
stream thread whatever T is; only its BLAS may use more (see below). The first T's Autodiff run
also builds the suites, pinned like the rest. A single count (the default, 2) prints one table
and writes the --json run as before.

MLX: its Linux CPU wheel (`pip install "mlx[cpu]"`) links a bundled reference BLAS, single-
threaded and slow (a 1024² matmul 380 ms, against 21 ms on one OpenBLAS thread). "mlx" in
--peers runs it twice: as installed ("MLX"), and with Debian's OpenBLAS (`ldconfig -p`'s
libopenblas.so.0) in LD_PRELOAD ("MLX+OpenBLAS"), whose cblas_sgemm then comes first in symbol
lookup and replaces the bundled one (and uses OPENBLAS_NUM_THREADS = T).

Every process also gets OMP_WAIT_POLICY=PASSIVE unless --omp-wait-policy says otherwise: on a
machine whose cores other work keeps busy, PyTorch's spinning OpenMP threads otherwise lose up to
10×. OPENBLAS_CORETYPE, if set, is passed on as it is (it affects Autodiff, NumPy and
MLX+OpenBLAS, whose BLAS is OpenBLAS; PyTorch and JAX bring their own kernels).

Ratios: "Autodiff/floor" is Autodiff's time over the floor's (1.00 = nothing but BLAS, or the
fused C loop); "best peer/Autodiff" is the fastest peer's time over Autodiff's (above 1:
Autodiff is faster than every peer). --combine takes the median (or lowest) of the runs' own
Autodiff/floor ratios rather than dividing the combined times: each run times a workload and its
floor seconds apart, while a shared machine's speed can change between runs (on this project's
2-core virtual machine mlp-small's bare products at 2 threads take 50 µs for some minutes, then
85 µs), so only a run's own pair compares like with like.

--pairs N (with --suites) runs each workload and its floor N times, alternating, and quotes the
median of the N pairs' own ratios, with the medians of the times beside it: on the 2-core VM,
mlp-wide's step at two threads took 2.4 ms for some minutes and 4.5 ms for the next, and its
floor 2.2 ms and 3.1 ms, each process in one state or the other, so a single pair can be taken
across a change. The JSON keeps each pair's ratio ("pair_ratios").

--json writes one run (a single T) or {"runs": [one run per T]}, each with its "threads" and
"cpus"; --show, --merge and --combine read either form (--combine and --merge match runs by T).
"""

import argparse
import datetime
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile

PEERS_DIRECTORY = os.path.dirname(os.path.abspath(__file__))
BENCHMARKS_DIRECTORY = os.path.dirname(PEERS_DIRECTORY)
ROOT_DIRECTORY = os.path.dirname(BENCHMARKS_DIRECTORY)
# --peers name → column title. "mlx" in --peers runs both MLX columns (see the module's doc).
FRAMEWORKS = [
    ("numpy", "NumPy"), ("torch", "PyTorch"), ("jax", "JAX"), ("mlx", "MLX"),
    ("mlx+openblas", "MLX+OpenBLAS"),
]
ELEMENTWISE_BYTES = 8 * (1 << 20)  # read x, write dx: 4 + 4 bytes for each of 2²⁰ elements
# The suite (executable target of Benchmarks/) of each benchmark, by the name's first word.
SUITES = {"matgrad": "Matgrad", "mlp": "MLPStep", "scalar": "ScalarGraph",
          "elementwise": "Elementwise"}

# Table row → (Autodiff benchmark, its floor benchmark or None).
WORKLOADS = {
    "matgrad 64": ("matgrad Float 64", "matgrad floor 64"),
    "matgrad 256": ("matgrad Float 256", "matgrad floor 256"),
    "matgrad 1024": ("matgrad Float 1024", "matgrad floor 1024"),
    "mlp-small step": ("mlp-small step", "mlp-small floor"),
    "mlp-wide step": ("mlp-wide step", "mlp-wide floor"),
    "mlp-large step": ("mlp-large step", "mlp-large floor"),
    "scalar-graph": ("scalar-graph Double", None),
    "elementwise 1M": ("elementwise 1M", "elementwise floor 1M"),
}
FASHION = "fashion-mnist epoch"

# Seconds for the percentile files' units, as package-benchmark writes them in the header.
TIME_UNITS = {"ns": 1e-9, "μs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
COUNT_UNITS = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}


def log(message):
    print(message, file=sys.stderr, flush=True)


OMP_WAIT_POLICY = "PASSIVE"  # --omp-wait-policy changes it; see main()


def available_cpus():
    """The CPUs this process may run on (its affinity set, which cpusets and taskset narrow)."""
    return sorted(os.sched_getaffinity(0))


def thread_counts(text):
    """--threads's comma list as counts: "1,2,all" → [1, 2, len(available_cpus())]."""
    cores = len(available_cpus())
    counts = []
    for item in text.split(","):
        item = item.strip()
        count = cores if item == "all" else int(item) if item.isdigit() else None
        if count is None or not 1 <= count <= cores:
            sys.exit(f"--threads {text}: {item!r} is not 'all' nor a count from 1 to {cores}")
        if count not in counts:
            counts.append(count)
    return counts


def pinned_cpus(threads):
    """The first `threads` CPUs of the affinity set: every system of one T runs on these."""
    return available_cpus()[:threads]


def pinned(command, threads):
    """`command` under `taskset -c` on `pinned_cpus(threads)`."""
    return ["taskset", "-c", ",".join(map(str, pinned_cpus(threads)))] + command


def environment(threads, preload=None):
    """The environment of every process of one thread count T (see the module's doc)."""
    env = dict(os.environ)
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "AUTODIFF_NUM_THREADS")
    for name in names:
        env[name] = str(threads)
    if threads == 1:
        flags = env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
        env["XLA_FLAGS"] = flags.strip()
    if OMP_WAIT_POLICY:
        env["OMP_WAIT_POLICY"] = OMP_WAIT_POLICY
    if preload:
        env["LD_PRELOAD"] = " ".join(filter(None, [preload, env.get("LD_PRELOAD")]))
    return env


def openblas_library():
    """The path of libopenblas.so.0 as `ldconfig -p` lists it, or None."""
    try:
        listing = subprocess.run(
            ["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return None
    match = re.search(r"^\s*libopenblas\.so\.0 \(.*?x86-64.*?\) => (\S+)$", listing, re.MULTILINE)
    match = match or re.search(r"^\s*libopenblas\.so\.0 .*=> (\S+)$", listing, re.MULTILINE)
    return match.group(1) if match else None


def parse_percentiles(path, is_time):
    """The median of one histogramPercentiles TSV, in seconds (time) or as a count.

    Its header is "Percentile<TAB><metric> <unit> *", the unit "(ns)", "(μs)", ... for times,
    "(K)", "(M)", ... or nothing for counts (a metric's own name may end in parentheses too:
    "Malloc (total)").
    """
    with open(path) as file:
        header = file.readline().strip()
        rows = dict(line.strip().split("\t") for line in file if "\t" in line)
    median = float(rows["50"])
    unit = re.search(r"\(([^)]*)\)$", header.removesuffix("*").strip())
    unit = unit.group(1) if unit else ""
    if is_time:
        if unit not in TIME_UNITS:
            raise ValueError(f"{path}: no time unit in header {header!r}")
        return median * TIME_UNITS[unit]
    return median * COUNT_UNITS.get(unit, 1)


def run_autodiff(threads, filter_regex, output_directory):
    """Runs package-benchmark; returns {benchmark name: {"seconds": ..., "mallocs": ...}}."""
    export = os.path.join(output_directory, "autodiff")
    os.makedirs(export, exist_ok=True)
    log_path = os.path.join(output_directory, "autodiff.log")
    command = [
        "swift", "package", "--allow-writing-to-package-directory", "benchmark",
        "--format", "histogramPercentiles", "--path", export, "--no-progress",
    ]
    if filter_regex:
        command += ["--filter", filter_regex]
    command = pinned(command, threads)
    log("$ (cd Benchmarks && " + " ".join(command) + ")")
    with open(log_path, "w") as output:
        status = subprocess.run(
            command, cwd=BENCHMARKS_DIRECTORY, env=environment(threads), stdout=output,
            stderr=subprocess.STDOUT).returncode
    if status != 0:
        sys.exit(f"swift package benchmark failed with status {status}; see {log_path}")
    return read_autodiff_export(export, log_path)


def run_autodiff_suites(threads, names, directory, output_directory):
    """Runs each benchmark in `names` from the prebuilt suite executables in `directory` (as
    Benchmarks/ManyCore/pack.sh leaves them), one process per benchmark as package-benchmark
    runs them; returns {name: {"seconds": ..., "mallocs": ...}} from the medians they print."""
    results = {}
    log_path = os.path.join(output_directory, "autodiff.log")
    with open(log_path, "a") as output:
        for name in names:
            suite = os.path.join(directory, SUITES[re.split(r"[ -]", name)[0]])
            command = pinned([
                suite, "--filter", f"^{name}$", "--time-units", "nanoseconds", "--quiet", "true",
            ], threads)
            log("$ " + " ".join(command))
            completed = subprocess.run(
                command, env=environment(threads), capture_output=True, text=True)
            output.write(completed.stdout + completed.stderr)
            medians = parse_suite_output(completed.stdout)
            if completed.returncode != 0 or "Time (wall clock)" not in medians:
                log(f"{name} failed ({completed.returncode}); see {log_path}")
                continue
            results[name] = {"seconds": medians["Time (wall clock)"] * 1e-9,
                             "mallocs": medians.get("Malloc (total)")}
    return results


def run_autodiff_pairs(threads, workloads, pairs, directory, output_directory):
    """Runs each workload's benchmark and floor from the suite executables `pairs` times,
    alternating (benchmark, floor, benchmark, floor, ...), one process each; returns
    {workload: row} with the medians of the times and the median of the pairs' own ratios."""
    rows = {}
    for workload in workloads:
        name, floor = WORKLOADS[workload]
        measured = [
            run_autodiff_suites(threads, [n for n in (name, floor) if n], directory,
                                output_directory)
            for _ in range(pairs)]
        row = {}
        times = [m[name]["seconds"] for m in measured if name in m]
        if times:
            row["autodiff"] = statistics.median(times)
        mallocs = [m[name]["mallocs"] for m in measured
                   if name in m and m[name]["mallocs"] is not None]
        if mallocs:
            row["mallocs"] = statistics.median(mallocs)
        floors = [m[floor]["seconds"] for m in measured if floor in m]
        if floors:
            row["floor"] = statistics.median(floors)
        ratios = [m[name]["seconds"] / m[floor]["seconds"]
                  for m in measured if name in m and floor in m and m[floor]["seconds"]]
        if ratios:
            row["ratio"] = statistics.median(ratios)
            row["pair_ratios"] = [round(r, 3) for r in ratios]
        rows[workload] = row
    return rows


def parse_suite_output(text):
    """The medians a suite executable prints for each metric, {"Time (wall clock)": ns, ...}:
    in each metric's percentile listing ("value percentile count ..."), the value of the first
    row at or past the 50th percentile."""
    medians, metric = {}, None
    for line in text.splitlines():
        header = re.match(r"^(\S.*):$", line)
        if header:
            metric = header.group(1)
            continue
        fields = line.split()
        if metric and metric not in medians and len(fields) >= 3:
            try:
                value, percentile = float(fields[0]), float(fields[1])
            except ValueError:
                continue
            if percentile >= 0.5:
                medians[metric] = value
    return medians


def read_autodiff_export(export, log_path=None):
    """The medians in a folder of histogramPercentiles files, by benchmark name."""
    names = {name for pair in WORKLOADS.values() for name in pair if name}
    by_file_name = {name.replace(" ", "_").replace("/", "_"): name for name in names}
    results = {}
    pattern = re.compile(
        r"^.*?\.[^.]+\.(.+)\.(wallClock|mallocCountTotal)\.histogram\.percentiles\.tsv$")
    for path in glob.glob(os.path.join(export, "*.histogram.percentiles.tsv")):
        match = pattern.match(os.path.basename(path))
        if not match or match.group(1) not in by_file_name:
            continue
        is_time = match.group(2) == "wallClock"
        results.setdefault(by_file_name[match.group(1)], {})[
            "seconds" if is_time else "mallocs"] = parse_percentiles(path, is_time)
    if not results:
        sys.exit(f"no results found in {export}; see {log_path}")
    return results


def run_autodiff_fashion(threads, output_directory):
    """Seconds of one epoch as `swift run -c release fashion-mnist --epochs 1` prints it."""
    command = pinned([
        "swift", "run", "-c", "release", "fashion-mnist", "--epochs", "1",
        "--checkpoint", os.path.join(output_directory, "fashion-mnist.safetensors"),
        "--chart", os.path.join(output_directory, "fashion-mnist.svg"),
    ], threads)
    log("$ " + " ".join(command))
    completed = subprocess.run(
        command, cwd=ROOT_DIRECTORY, env=environment(threads), capture_output=True, text=True)
    # The epoch's row: "1/1  <train loss> <train acc> <test loss> <test acc> <lr>  0.45 s" (or,
    # before the table, "epoch 1/1 ... 0.45 s").
    match = re.search(r"^(?:epoch )?1/1 .*?([\d.]+) s$", completed.stdout, re.MULTILINE)
    if completed.returncode != 0 or not match:
        log(f"fashion-mnist failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}")
        return None
    return float(match.group(1))


def run_peer(framework, threads, fashion, seconds, rows, output_directory):
    """Runs peers.py for one framework ("mlx+openblas": MLX with OpenBLAS preloaded), pinned."""
    path = os.path.join(output_directory, f"{framework}-{threads}.json")
    preload = None
    if framework == "mlx+openblas":
        preload = openblas_library()
        if not preload:
            return {"framework": framework, "missing": "no libopenblas.so.0 in `ldconfig -p`"}
    command = pinned([
        sys.executable, os.path.join(PEERS_DIRECTORY, "peers.py"),
        "--framework", framework.removesuffix("+openblas"),
        "--threads", str(threads), "--json", path, "--seconds", str(seconds),
    ], threads)
    if fashion:
        command.append("--fashion")
    if rows:
        command += ["--workloads", rows]
    log("$ " + (f"LD_PRELOAD={preload} " if preload else "") + " ".join(command))
    completed = subprocess.run(
        command, env=environment(threads, preload), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    if completed.returncode != 0 or not os.path.exists(path):
        return {"framework": framework, "missing": f"failed: {completed.stderr.strip()[-300:]}"}
    with open(path) as file:
        return json.load(file)


def machine():
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as file:
            model = next(line.split(":", 1)[1].strip() for line in file if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores"


def format_time(seconds):
    if seconds is None:
        return "—"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def plural(count, noun):
    return f"{count} {noun}" + ("" if count == 1 else "s")


def floor_ratio(row):
    """Autodiff's time over the floor's: a combined row's own (the median or lowest of its runs'
    ratios), else the row's two times'."""
    if "ratio" in row:
        return row["ratio"]
    autodiff, floor = row.get("autodiff"), row.get("floor")
    return autodiff / floor if autodiff and floor else None


def format_ratio(ratio):
    return "—" if ratio is None else f"{ratio:.2f}×"


def peer_titles(run):
    """The peer columns of a run: the frameworks it ran or tried, in FRAMEWORKS's order."""
    present = {f["title"] for f in run.get("frameworks", [])}
    present |= {title for row in run["rows"].values() for title in row.get("peers", {})}
    return [title for _, title in FRAMEWORKS if title in present]


def table(run):
    """The markdown table of one run (see the module's doc for the columns)."""
    peer_names = peer_titles(run)
    lines = [
        "| workload | Autodiff | " + " | ".join(peer_names)
        + " | floor | Autodiff/floor | best peer/Autodiff | Autodiff mallocs/step |",
        "|---" * (6 + len(peer_names)) + "|",
    ]
    for workload, row in run["rows"].items():
        autodiff, floor = row.get("autodiff"), row.get("floor")
        peers = [row["peers"].get(title) for title in peer_names]
        measured = [p for p in peers if p is not None]

        def cell(seconds):
            text = format_time(seconds)
            if workload.startswith("elementwise") and seconds:
                text += f" ({ELEMENTWISE_BYTES / seconds / 1e9:.2f} GB/s)"
            return text

        mallocs = row.get("mallocs")
        lines.append(
            f"| {workload} | {cell(autodiff)} | " + " | ".join(cell(p) for p in peers)
            + f" | {cell(floor)} | "
            + format_ratio(floor_ratio(row)) + " | "
            + format_ratio(min(measured) / autodiff if autodiff and measured else None) + " | "
            + ("—" if mallocs is None else f"{mallocs:.0f}") + " |")
    return "\n".join(lines)


def notes(run):
    threads = run["threads"]
    if "cpus" in run:  # a run from before --threads pinned everyone has no "cpus"
        how = (
            f"pinned to CPUs {','.join(map(str, run['cpus']))} (taskset); "
            f"OPENBLAS/OMP/MKL/AUTODIFF_NUM_THREADS={threads}, torch.set_num_threads({threads}), "
            f"XLA's pool = the pinned cores, MLX one stream thread")
    else:
        how = (
            f"OPENBLAS_NUM_THREADS/OMP_NUM_THREADS/MKL_NUM_THREADS={threads}, "
            f"torch.set_num_threads({threads}), XLA's default pool = cores")
    lines = [
        f"Date {run['date']}; {run['machine']}; {plural(threads, 'thread')} for everyone ({how}; "
        f"OMP_WAIT_POLICY={run.get('omp_wait_policy') or 'unset'}); "
        f"OPENBLAS_CORETYPE={run['coretype'] or 'unset'}; load average (1, 5, 15 min) "
        f"{run['load_before']} before, {run['load_after']} after.",
        "Medians. Times per step (per epoch for Fashion-MNIST); elementwise GB/s counts 8 bytes "
        "per element (x read, dx written).",
    ]
    if run.get("combined"):
        how = "lowest" if run.get("statistic") == "min" else "median"
        peers = run.get("combined_peers", run["combined"])
        lines.append(
            f"Each cell is the {how} of {run['combined']} runs' medians"
            + (f" ({peers} for the peers)" if peers != run["combined"] else "")
            + "; load averages are the "
            "highest seen. Cells whose runs differed by more than 1.5× (max/min): "
            + (", ".join(f"{cell} {spread}×" for cell, spread in run["spread"].items()) or "none")
            + ".")
    for rerun in run.get("reruns", []):
        lines.append(f"Rerun (disturbed the first time): {rerun['rows']}; load after {rerun['load_after']}.")
    for framework in run["frameworks"]:
        if framework.get("missing"):
            lines.append(f"{framework['title']}: — ({framework['missing']})")
        else:
            lines.append(f"{framework['title']} {framework['version']}.")
    return "\n".join(f"- {line}" for line in lines)


def combine(runs, statistic="median"):
    """One run whose every number is the median (or the lowest) of that number over `runs`, runs
    of one setting and thread count."""
    pick = statistics.median if statistic == "median" else min
    for key in ("threads", "coretype", "omp_wait_policy"):
        if len({str(run.get(key)) for run in runs}) != 1:
            sys.exit(f"--combine: the runs differ in {key}")
    combined = dict(runs[0], rows={}, reruns=[], combined=len(runs), statistic=statistic)
    combined["combined_peers"] = sum(
        1 for run in runs if any(row.get("peers") for row in run["rows"].values()))
    combined["frameworks"] = next(
        (run["frameworks"] for run in runs if run.get("frameworks")), [])
    combined["load_before"] = max((run["load_before"] for run in runs), key=lambda load: load[0])
    combined["load_after"] = max((run["load_after"] or [0] for run in runs), key=lambda load: load[0])
    spreads = {}
    for workload in runs[0]["rows"]:
        row = {"peers": {}}
        values = [run["rows"].get(workload, {}) for run in runs]
        for key in ("autodiff", "floor", "mallocs"):
            measured = [v[key] for v in values if v.get(key) is not None]
            if measured:
                row[key] = pick(measured)
                spreads[(workload, key)] = max(measured) / min(measured) if min(measured) else 1
        ratios = [floor_ratio(v) for v in values if floor_ratio(v) is not None]
        if ratios:
            row["ratio"] = pick(ratios)
        for title in {t for v in values for t in v.get("peers", {})}:
            measured = [v["peers"][title] for v in values if v.get("peers", {}).get(title)]
            if measured:
                row["peers"][title] = pick(measured)
                spreads[(workload, title)] = max(measured) / min(measured)
        combined["rows"][workload] = row
    combined["spread"] = {f"{w} / {k}": round(s, 2) for (w, k), s in spreads.items() if s > 1.5}
    return combined


def summary(runs):
    """Workload × thread count: Autodiff's time, Autodiff/floor and the fastest peer, per T."""
    counts = [run["threads"] for run in runs]
    lines = [
        "| workload | " + " | ".join(
            f"Autodiff {t} | Autodiff/floor {t} | fastest peer {t}" for t in counts) + " |",
        "|---" * (1 + 3 * len(counts)) + "|",
    ]
    workloads = list(dict.fromkeys(w for run in runs for w in run["rows"]))
    for workload in workloads:
        cells = []
        for run in runs:
            row = run["rows"].get(workload, {})
            autodiff = row.get("autodiff")
            peers = {title: t for title, t in row.get("peers", {}).items() if t}
            fastest = min(peers, key=peers.get) if peers else None
            cells += [
                format_time(autodiff),
                format_ratio(floor_ratio(row)),
                f"{fastest} {format_time(peers[fastest])}" if fastest else "—",
            ]
        lines.append(f"| {workload} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def load_runs(path):
    """The runs in a --json file: one run, or {"runs": [...]} from a --threads sweep."""
    with open(path) as file:
        data = json.load(file)
    return data["runs"] if "runs" in data else [data]


def save_runs(path, runs):
    with open(path, "w") as file:
        json.dump(runs[0] if len(runs) == 1 else {"runs": runs}, file, indent=1)
        file.write("\n")


def report(runs):
    """Each run's table and notes, then the summary across thread counts when there are several."""
    several = len(runs) > 1
    text = "\n\n".join(
        (f"### {plural(run['threads'], 'thread')}\n\n" if several else "")
        + table(run) + "\n\n" + notes(run) for run in runs)
    if several:
        counts = ", ".join(str(run["threads"]) for run in runs)
        text += f"\n\n### Summary: {counts} threads\n\n" + summary(runs)
    return text


def main():
    global OMP_WAIT_POLICY
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--threads", default="2",
        help="thread counts, comma-separated: '1,2,all' runs everything once per count, pinned "
        "to that many cores ('all': the cores this process may use)")
    parser.add_argument(
        "--peers", default="numpy,torch,jax,mlx",
        help="comma-separated, or ''; 'mlx' runs MLX as installed and with OpenBLAS preloaded")
    parser.add_argument(
        "--rows", help="rerun only these rows (a regex of whole row names: 'matgrad 256|scalar-graph'), "
        "Autodiff's benchmark and floor and each peer's, usually with --merge")
    parser.add_argument(
        "--autodiff-export", help="read this folder of an earlier run's percentile files instead")
    parser.add_argument(
        "--suites", help="run Autodiff's suites from the executables in this folder (built by "
        "Benchmarks/ManyCore/pack.sh) instead of `swift package benchmark`: for machines "
        "without Swift")
    parser.add_argument(
        "--pairs", type=int, default=1,
        help="with --suites: run each workload and its floor this many times, alternating, one "
        "process each, and quote the median of the pairs' own ratios (a machine whose speed "
        "changes from one minute to the next moves both sides of a pair alike)")
    parser.add_argument("--fashion", action="store_true", help="also time one Fashion-MNIST epoch")
    parser.add_argument("--skip-autodiff", action="store_true")
    parser.add_argument("--seconds", type=float, default=3.0, help="peers' time per workload")
    parser.add_argument(
        "--omp-wait-policy", default=OMP_WAIT_POLICY,
        help="OMP_WAIT_POLICY for everyone (PyTorch's OpenMP pool spins otherwise, which on a "
        "loaded machine costs it up to 10×); '' leaves the environment's")
    parser.add_argument("--json", help="write the run (all numbers) to this file")
    parser.add_argument(
        "--merge", help="start from this earlier --json run (or sweep, by thread count) and "
        "replace what reruns")
    parser.add_argument("--show", help="print the table of this earlier --json run, run nothing")
    parser.add_argument(
        "--combine", nargs="+", metavar="RUN",
        help="print (and with --json save) the cell-by-cell median of these --json runs of one "
        "setting (sweeps: thread count by thread count), run nothing")
    parser.add_argument(
        "--statistic", choices=["median", "min"], default="median",
        help="with --combine: the median of the runs' medians, or the lowest (the least disturbed "
        "run, on a machine that others load)")
    arguments = parser.parse_args()
    if arguments.pairs > 1 and not arguments.suites:
        parser.error("--pairs runs the suite executables: give --suites too")
    if arguments.show or arguments.combine:
        if arguments.show:
            runs = load_runs(arguments.show)
        else:
            by_threads = {}
            for path in arguments.combine:
                for run in load_runs(path):
                    by_threads.setdefault(run["threads"], []).append(run)
            runs = [combine(group, arguments.statistic) for group in by_threads.values()]
            if arguments.json:
                save_runs(arguments.json, runs)
        print(report(runs))
        return
    OMP_WAIT_POLICY = arguments.omp_wait_policy or os.environ.get("OMP_WAIT_POLICY")
    counts = thread_counts(arguments.threads)
    previous = {}
    if arguments.merge:
        previous = {run["threads"]: run for run in load_runs(arguments.merge)}
    requested = [f for f in arguments.peers.split(",") if f]
    if "mlx" in requested and "mlx+openblas" not in requested:
        requested.append("mlx+openblas")
    output_directory = tempfile.mkdtemp(prefix="autodiff-compare-")
    runs = [
        measure_run(arguments, threads, previous.get(threads, {}), requested, output_directory)
        for threads in counts]
    if arguments.json:
        save_runs(arguments.json, runs)
    print(report(runs))
    log(f"(raw exports in {output_directory})")


def measure_run(arguments, threads, previous, requested, output_directory):
    """One thread count's run: Autodiff's suites and floors, then each requested peer."""
    run = {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "threads": threads,
        "cpus": pinned_cpus(threads),
        "coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "omp_wait_policy": OMP_WAIT_POLICY,
        "load_before": previous.get("load_before", [round(x, 2) for x in os.getloadavg()]),
        "load_after": previous.get("load_after"),
        "reruns": previous.get("reruns", []),
        "rows": previous.get("rows", {}),
        "frameworks": previous.get("frameworks", []),
    }
    output_directory = os.path.join(output_directory, f"threads-{threads}")
    os.makedirs(output_directory, exist_ok=True)
    rows = run["rows"]
    for workload in list(WORKLOADS) + ([FASHION] if arguments.fashion else []):
        rows.setdefault(workload, {"peers": {}})

    if not arguments.skip_autodiff:
        if arguments.pairs > 1:
            workloads = [
                row for row in WORKLOADS if not arguments.rows or re.fullmatch(arguments.rows, row)]
            for workload, row in run_autodiff_pairs(
                    threads, workloads, arguments.pairs, arguments.suites,
                    output_directory).items():
                rows[workload].update(row)
            results = {}
        elif arguments.autodiff_export:
            results = read_autodiff_export(arguments.autodiff_export)
        else:
            names = [
                name for row, pair in WORKLOADS.items() for name in pair
                if name and (not arguments.rows or re.fullmatch(arguments.rows, row))]
            results = {}
            if names and arguments.suites:
                results = run_autodiff_suites(threads, names, arguments.suites, output_directory)
            elif names:
                pattern = "|".join(re.escape(name) for name in names)
                results = run_autodiff(threads, pattern, output_directory)
        for workload, (name, floor) in WORKLOADS.items():
            if name in results or floor in results:
                rows[workload].pop("ratio", None)  # a combined run's, no longer these times'
            if name in results:
                rows[workload]["autodiff"] = results[name].get("seconds")
                rows[workload]["mallocs"] = results[name].get("mallocs")
            if floor in results:
                rows[workload]["floor"] = results[floor].get("seconds")
        if arguments.fashion and (not arguments.rows or re.fullmatch(arguments.rows, FASHION)):
            rows[FASHION]["autodiff"] = run_autodiff_fashion(threads, output_directory)

    for framework, title in FRAMEWORKS:
        if framework not in requested:
            continue
        result = run_peer(
            framework, threads, arguments.fashion, arguments.seconds, arguments.rows,
            output_directory)
        run["frameworks"] = [f for f in run["frameworks"] if f["title"] != title]
        run["frameworks"].append(
            {"title": title, "version": result.get("version"), "missing": result.get("missing")})
        for workload, value in result.get("results", {}).items():
            if workload in rows:
                seconds = value.get("seconds", value.get("median_ns", 0) * 1e-9)
                rows[workload]["peers"][title] = seconds

    load = [round(x, 2) for x in os.getloadavg()]
    if arguments.merge:
        run["reruns"].append({"rows": arguments.rows or "all", "load_after": load})
    else:
        run["load_after"] = load
    return run

if __name__ == "__main__":
    main()
