#!/bin/bash
# Runs on a many-core machine without Swift what pack.sh packed here: the speed table at 1, 2 and
# every core (compare.py over the suites, beside the peers this machine's Python has), where a
# step's time goes at the same counts (StepParts), each operation's time at 1 thread and every
# core (OpCosts), and the data-parallel step over ranks × threads (DistributedStep under the
# wheel's mpirun). From the repository root:
#
#   Benchmarks/ManyCore/run.sh [parts] [ops] [speed] [distributed]   # all unless named; ~10 min
#
# Every result goes under $OUT (or Benchmarks/ManyCore/carry/out) as soon as it is measured, so
# a run cut short keeps what it finished: machine.txt, parts.md, ops-T.txt, distributed.txt,
# compare-T.md and compare-T.json for each thread count T (suites.txt where the machine has no
# Python), and each part's log. With this project's device tool: run pack.sh here, then run
# `Benchmarks/ManyCore/run.sh` there with `carry: ["Benchmarks/ManyCore/carry"]`.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${OUT:-$here/carry/out}
parts=${*:-parts ops speed distributed}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
xz -dc "$here/carry/manycore.tar.xz" | tar -C "$work" -xf - || exit 1
export LD_LIBRARY_PATH="$work/openmpi/lib:$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export OPAL_PREFIX="$work/openmpi"
# The peers run on the CPU even where the machine has an accelerator.
export JAX_PLATFORMS=cpu CUDA_VISIBLE_DEVICES=""
cores=$(nproc)

{
  echo "commit $(cat "$work/commit"), $(date -u +%FT%TZ), $cores cores in the affinity set"
  lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket|NUMA node\(s\)|L3)'
  python3 --version 2>&1
  for module in numpy torch jax mlx; do
    python3 -c "import $module; print('$module', $module.__version__)" 2>/dev/null
  done
  env | grep -E '^OPENBLAS_' || true
} >"$out/machine.txt"

for part in $parts; do
  case $part in
  parts)
    for threads in $(printf '%s\n' 1 2 "$cores" | awk '!seen[$0]++'); do
      echo "# $threads threads (taskset -c 0-$((threads - 1)))" >>"$out/parts.md"
      OPENBLAS_NUM_THREADS=$threads AUTODIFF_NUM_THREADS=$threads timeout 200 \
        taskset -c "0-$((threads - 1))" "$work/bin/StepParts" --seconds 0.3 \
        >>"$out/parts.md" 2>>"$out/parts.log"
    done
    ;;
  ops)
    # Each operation's time on 2²⁰ Floats at 1 thread and on every core: one that does not
    # scale runs on one core.
    for threads in $(printf '%s\n' 1 "$cores" | awk '!seen[$0]++'); do
      OPENBLAS_NUM_THREADS=$threads AUTODIFF_NUM_THREADS=$threads timeout 120 \
        taskset -c "0-$((threads - 1))" "$work/bin/OpCosts" >"$out/ops-$threads.txt" \
        2>>"$out/ops.log"
    done
    ;;
  distributed)
    # One rank per core at 1 thread, hybrids, and one process on every core's threads. Each
    # rank is bound to its own cores (`slot:PE=T`) and told T threads.
    layouts=$(printf '%s\n' 1x1 2x1 4x1 8x1 "$cores"x1 $((cores / 4))x4 $((cores / 8))x8 \
      1x"$cores" | awk '!seen[$0]++')
    for layout in $layouts; do
      ranks=${layout%x*} threads=${layout#*x}
      [ "$ranks" -ge 1 ] && [ $((ranks * threads)) -le "$cores" ] || continue
      echo "== $ranks ranks × $threads threads" >>"$out/distributed.txt"
      OPENBLAS_NUM_THREADS=$threads AUTODIFF_NUM_THREADS=$threads timeout 120 \
        "$OPAL_PREFIX/bin/mpirun" --allow-run-as-root --map-by "slot:PE=$threads" \
        --bind-to core -np "$ranks" -x OPENBLAS_NUM_THREADS -x AUTODIFF_NUM_THREADS \
        -x LD_LIBRARY_PATH -x OPAL_PREFIX \
        "$work/bin/DistributedStep" --steps 20 --rounds 2 \
        >>"$out/distributed.txt" 2>>"$out/distributed.log"
    done
    ;;
  speed)
    if ! command -v python3 >/dev/null; then
      # No Python: each suite whole, its tables as package-benchmark prints them (the
      # workloads are compare.py's; here every benchmark of the suites runs).
      for threads in $(printf '%s\n' 1 2 "$cores" | awk '!seen[$0]++'); do
        for suite in Matgrad MLPStep Elementwise ScalarGraph; do
          echo "## $suite, $threads threads" >>"$out/suites.txt"
          OPENBLAS_NUM_THREADS=$threads AUTODIFF_NUM_THREADS=$threads \
            taskset -c "0-$((threads - 1))" "$work/bin/$suite" --time-units nanoseconds \
            --quiet true >>"$out/suites.txt" 2>>"$out/suites.log"
        done
      done
      continue
    fi
    peers=""
    for module in numpy torch jax; do
      python3 -c "import $module" 2>/dev/null && peers="$peers,$module"
    done
    for threads in $(printf '%s\n' 1 2 "$cores" | awk '!seen[$0]++'); do
      python3 "$root/Benchmarks/Peers/compare.py" --suites "$work/bin" --threads "$threads" \
        --peers "${peers#,}" --seconds 1 --json "$out/compare-$threads.json" \
        >"$out/compare-$threads.md" 2>>"$out/compare.log"
    done
    ;;
  *) echo "run.sh: unknown part $part; the parts are parts, speed and distributed" >&2 ;;
  esac
done
