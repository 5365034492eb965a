#!/usr/bin/env bash
# Pretrain shapes-xl on a GPU machine that has a copy of this repo but not our CPU venv.
#   scripts/gpu/pretrain.sh OUT_DIR [MINUTES]
# 1. find a Python with CUDA torch; add diffusers + transformers from runs/gpu-wheels (or a registry) if missing (python.sh);
# 2. time a short run, then size the real one to about MINUTES (default 6) of training;
# 3. run `python -m trainer.pretrain` with fixed step counts (printed, so the run is reproducible), scoring the
#    weights every 500 UNet steps and keeping the best.
set -euo pipefail
OUT=${1:?usage: scripts/gpu/pretrain.sh OUT_DIR [MINUTES]}
MINUTES=${2:-6}
mkdir -p "$OUT"
source "$(dirname "$0")/python.sh"
need_packages 'import diffusers, transformers, safetensors, PIL, numpy' $TRAINER_DEPS
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
CMD=("$PY" -m trainer.pretrain --out /tmp/pretrain-out/shapes-xl --seed 0 --device cuda --vae-steps "$VAE_STEPS" --unet-steps "$UNET_STEPS" --eval-every 500 --echo 500)
echo "command: python -m trainer.pretrain --out models/shapes-xl --seed 0 --device cuda --vae-steps $VAE_STEPS --unet-steps $UNET_STEPS --eval-every 500" | tee "$OUT/command.txt"
"${CMD[@]}" 2>&1 | grep -v -i "torchvision\|kernels" | tee "$OUT/pretrain.log"
tar czf "$OUT/shapes-xl.tgz" -C /tmp/pretrain-out shapes-xl && echo "wrote $OUT/shapes-xl.tgz (unpack into models/)"
