#!/usr/bin/env bash
# Downloads, here, every wheel the GPU scripts install (packages.sh) into a folder that travels with the repo to a
# GPU machine whose Python has CUDA torch but no registry (python.sh installs from runs/gpu-wheels or .whl).
#   scripts/gpu/wheels.sh [DIR [PYTHON_VERSION [CUDA]]]
# DIR: default runs/gpu-wheels. PYTHON_VERSION and CUDA: those of the GPU machine's torch (default 3.12 and 130, the
# device machines' torch 2.11.0+cu130 in 2026-11). bitsandbytes' wheel carries a library for every CUDA and ROCm
# version (43 MB); it is repacked with the CPU one and that CUDA's alone (7 MB), which pip installs as it is, so the
# whole folder (62 MB) fits a 64 MiB transfer.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/gpu/packages.sh
DIR=${1:-runs/gpu-wheels}
VERSION=${2:-3.12}
CUDA=${3:-130}
PY=$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )
download=("$PY" -m pip download --quiet --disable-pip-version-check -d "$DIR" --only-binary=:all: --implementation cp
  --python-version "$VERSION" --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64)
mkdir -p "$DIR"
"${download[@]}" $TRAINER_DEPS $BENCH_DEPS
"${download[@]}" --no-deps $BENCH_TORCH_DEPS
"$PY" - "$DIR" "$CUDA" <<'PY'
import re, sys, zipfile
from pathlib import Path

KEEP = re.compile(rf"libbitsandbytes_(cpu|cuda{sys.argv[2]})\.so$")
for wheel in Path(sys.argv[1]).glob("bitsandbytes-*.whl"):
    with zipfile.ZipFile(wheel) as source:
        names = [n for n in source.namelist() if not n.endswith(".so") or KEEP.search(n)]
        if len(names) == len(source.namelist()):
            continue  # trimmed already
        files = {n: source.read(n) for n in names}
    record = next(n for n in names if n.endswith(".dist-info/RECORD"))
    rows = files[record].decode().splitlines()
    files[record] = "".join(f"{row}\n" for row in rows if row.split(",")[0] in files).encode()
    trimmed = wheel.with_suffix(".trimmed")
    with zipfile.ZipFile(trimmed, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in files.items():
            target.writestr(name, data)
    trimmed.replace(wheel)
    print(f"{wheel.name}: kept {sorted(n for n in names if n.endswith('.so'))}")
PY
du -sh "$DIR"
