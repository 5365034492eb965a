#!/usr/bin/env bash
# Pretrain shapes-xl on a GPU machine that has a copy of this repo but not our CPU venv.
#   scripts/gpu/pretrain.sh OUT_DIR [MINUTES]
# 1. find a Python with CUDA torch; add diffusers + transformers from runs/gpu-wheels (or a registry) if missing;
# 2. time a short run, then size the real one to about MINUTES (default 6) of training;
# 3. run `python -m trainer.pretrain` with fixed step counts (printed, so the run is reproducible).
set -euo pipefail
OUT=${1:?usage: scripts/gpu/pretrain.sh OUT_DIR [MINUTES]}
MINUTES=${2:-6}
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1

# Wheels for a machine without a registry: fill them here with
#   pip download -d runs/gpu-wheels --only-binary=:all: --python-version 3.12 --platform manylinux_2_28_x86_64 \
#     --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --implementation cp \
#     diffusers==0.42.1 transformers==5.23.0 tokenizers==0.23.3 safetensors==0.8.0 pillow==13.0.0 numpy==2.4.6
WHEELS=${WHEELS:-runs/gpu-wheels}
DEPS="diffusers==0.42.1 transformers==5.23.0 tokenizers==0.23.3 safetensors==0.8.0 pillow numpy"

PY=""
for candidate in python3 python /opt/torch/.venv/bin/python /opt/conda/bin/python; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
    PY=$(command -v "$candidate"); break
  fi
done
[ -n "$PY" ] || { echo "FAILED: no Python with a CUDA build of torch found. Nothing trained."; exit 2; }
if ! "$PY" -c 'import diffusers, transformers, safetensors, PIL, numpy' 2>/dev/null; then
  # Keep the machine's torch; add the rest beside it in /tmp/pydeps (a pip from a throwaway venv if $PY has none).
  PIP=("$PY" -m pip)
  "$PY" -m pip --version >/dev/null 2>&1 || { python3 -m venv /tmp/pip-venv && PIP=(/tmp/pip-venv/bin/pip); }
  SOURCE=()
  [ -d "$WHEELS" ] && SOURCE=(--no-index --find-links "$WHEELS")
  echo "installing $DEPS into /tmp/pydeps from ${SOURCE[*]:-the registry}"
  "${PIP[@]}" install -q --target /tmp/pydeps "${SOURCE[@]}" $DEPS \
    || { echo "FAILED: cannot install the trainer's packages here (no wheels, no registry?). Nothing trained."; exit 2; }
  export PYTHONPATH=/tmp/pydeps
fi
"$PY" -c 'import torch, diffusers, transformers; print("python", __import__("sys").version.split()[0], "torch", torch.__version__, "cuda", torch.cuda.is_available(), "diffusers", diffusers.__version__, "transformers", transformers.__version__)'
"$PY" -c 'import torch; assert torch.cuda.is_available(), "no CUDA device visible"; print(torch.cuda.get_device_name(0))'

# Timing probe: seconds per step of each phase at the real batch sizes.
"$PY" -m trainer.pretrain --out /tmp/probe --device cuda --images 4096 --vae-steps 60 --unet-steps 120 --echo 1000 >/tmp/probe.log 2>&1 || { cat /tmp/probe.log; exit 3; }
read -r VAE_STEPS UNET_STEPS < <("$PY" - "$MINUTES" <<'PY'
import json, sys
rows = [json.loads(l) for l in open("/tmp/probe/pretrain/curves.jsonl")]
def per_step(phase):
    r = [x for x in rows if x["phase"] == phase]
    return (r[-1]["seconds"] - r[len(r) // 2]["seconds"]) / (r[-1]["step"] - r[len(r) // 2]["step"])
budget = float(sys.argv[1]) * 60
vae, unet = per_step("vae"), per_step("unet")
print(f"vae {vae*1000:.1f} ms/step, unet {unet*1000:.1f} ms/step", file=sys.stderr)
print(max(100, int(0.2 * budget / vae) // 100 * 100), max(100, int(0.8 * budget / unet) // 100 * 100))
PY
)
# The device runner returns only a few files from $OUT: train into /tmp, hand back one tarball.
CMD=("$PY" -m trainer.pretrain --out /tmp/pretrain-out/shapes-xl --seed 0 --device cuda --vae-steps "$VAE_STEPS" --unet-steps "$UNET_STEPS" --echo 500)
echo "command: python -m trainer.pretrain --out models/shapes-xl --seed 0 --device cuda --vae-steps $VAE_STEPS --unet-steps $UNET_STEPS" | tee "$OUT/command.txt"
"${CMD[@]}" 2>&1 | grep -v -i "torchvision\|kernels" | tee "$OUT/pretrain.log"
tar czf "$OUT/shapes-xl.tgz" -C /tmp/pretrain-out shapes-xl && echo "wrote $OUT/shapes-xl.tgz (unpack into models/)"
