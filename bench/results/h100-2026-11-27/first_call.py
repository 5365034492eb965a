"""The first of this session's two calls on an H100 (2026-11-27), as run (driving trainer/bench_gpu.py as of commit 96c1d8f): `PYTHONPATH=. python first_call.py OUT`
with the packages of scripts/gpu/python.sh. It ran before trainer/methods/lean_lora.py existed, on LyCORIS's own LoRA
forward (second_call.py shows how to pick it again). Most wanted first (the report is saved after every case): SDXL batch 8 eager and the
low-memory case, SD1.5's four cases, then SDXL batch 8 compiled (reduce-overhead, then cudagraphs).
Each part writes its own gpu-<card>.json under OUT/<part> (here: eager-sdxl.json, eager-sd15.json, compiled-sdxl.json)."""
import sys
import time
from pathlib import Path

from trainer import bench_gpu as B

out, extra = Path(sys.argv[1]), sys.argv[2:]
DEFAULT_CASES = B.CASES
start = time.perf_counter()


def part(folder, models, cases, compared):
    B.CASES = cases
    B.comparisons = lambda compiled: compared
    print(f"=== {folder} at {time.perf_counter() - start:.0f} s", flush=True)
    B.main(["--out", str(out / folder), "--models", *models, *extra])


part("eager-sdxl", ["sdxl"], [B.Case(8), B.LOW_MEMORY], [])
part("eager-sd15", ["sd15"], DEFAULT_CASES, [])
part("compiled-sdxl", ["sdxl"], [], B.COMPILED)
print(f"=== done at {time.perf_counter() - start:.0f} s", flush=True)
