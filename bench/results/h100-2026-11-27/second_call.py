"""The second call on an H100 (2026-11-27, a fresh machine), as run (driving trainer/bench_gpu.py as of commit 96c1d8f): `PYTHONPATH=. python second_call.py OUT`.
SDXL batch 8 with LyCORIS's own LoRA forward, then with tunebook's (trainer/methods/lean_lora.py), then the low-memory
case (here: lycoris-forward-sdxl.json, lean-forward-sdxl.json)."""
import sys
import time
from pathlib import Path

from lycoris.modules.locon import LoConModule
from lycoris.wrapper import network_module_dict

from trainer import bench_gpu as B
from trainer.methods import LeanLoCon

out, extra = Path(sys.argv[1]), sys.argv[2:]
start = time.perf_counter()
for folder, module, cases in (("lycoris-forward", LoConModule, [B.Case(8)]), ("lean-forward", LeanLoCon, [B.Case(8), B.LOW_MEMORY])):
    network_module_dict["lora"] = module
    B.CASES = cases
    B.comparisons = lambda compiled: []
    print(f"=== {folder} at {time.perf_counter() - start:.0f} s", flush=True)
    B.main(["--out", str(out / folder), "--models", "sdxl", *extra])
print(f"=== done at {time.perf_counter() - start:.0f} s", flush=True)
