#!/usr/bin/env bash
# npm run bench:gpu: LoRA training speed, MFU and peak VRAM of full-size SDXL and SD1.5 on this machine's GPU
# (trainer/bench_gpu.py; random weights from models/configs, nothing downloaded). About 3 minutes on an H100 (2026-11-27: SDXL's batch-8
# and low-memory cases took 67 s with the UNet's build, SD1.5's four 39 s); --compile adds SDXL compiled twice (inductor's compile alone took 359 s).
#   scripts/gpu/bench.sh [OUT_DIR [OPTIONS of python -m trainer.bench_gpu]]   report: OUT_DIR/gpu-<card>.json (default bench/results)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-bench/results}
source scripts/gpu/python.sh
need_packages 'import diffusers, transformers, safetensors, PIL, numpy' $TRAINER_DEPS
need_packages 'import jsonschema, einops, toml, tqdm, packaging' $BENCH_DEPS
need_packages 'import lycoris, bitsandbytes' --no-deps $BENCH_TORCH_DEPS
"$PY" -c 'import torch; print(torch.cuda.get_device_name(0), "torch", torch.__version__, "cuda", torch.version.cuda)'
exec "$PY" -m trainer.bench_gpu --out "$OUT" "${@:2}"
