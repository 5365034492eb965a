# Sourced by the GPU scripts (pretrain.sh, bench.sh), run from the repo root on a GPU machine that has a
# copy of this repo but not our CPU venv. Sets PY to a Python with a CUDA build of torch and gives them
#   need_packages IMPORTS [--no-deps] PACKAGE...
# which, unless `python -c IMPORTS` already works, installs the packages beside the machine's torch
# (in /tmp/pydeps, on PYTHONPATH) from local wheels, or from a registry where there are none.
# --no-deps is for packages that depend on torch: pip would otherwise fetch a second torch over the CUDA one.
#
# Wheels for a machine without a registry go in runs/gpu-wheels (or .whl); scripts/gpu/wheels.sh fills that folder
# here with every package in packages.sh.
export HF_HUB_OFFLINE=1
WHEELS=${WHEELS:-}
if [ -z "$WHEELS" ]; then
  for folder in runs/gpu-wheels .whl; do [ -d "$folder" ] && { WHEELS=$folder; break; }; done
fi
[ -d /tmp/pydeps ] && export PYTHONPATH=/tmp/pydeps${PYTHONPATH:+:$PYTHONPATH}

PY=""
for candidate in python3 python /opt/torch/.venv/bin/python /opt/conda/bin/python; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
    PY=$(command -v "$candidate"); break
  fi
done
[ -n "$PY" ] || { echo "FAILED: no Python with a CUDA build of torch found. Nothing ran."; exit 2; }

need_packages() {
  local imports=$1; shift
  "$PY" -c "$imports" 2>/dev/null && return 0
  local pip=("$PY" -m pip) source=()
  "$PY" -m pip --version >/dev/null 2>&1 || { [ -x /tmp/pip-venv/bin/pip ] || python3 -m venv /tmp/pip-venv; pip=(/tmp/pip-venv/bin/pip); }
  [ -n "$WHEELS" ] && source=(--no-index --find-links "$WHEELS")
  echo "installing $* into /tmp/pydeps from ${source[*]:-the registry}"
  "${pip[@]}" install -q --target /tmp/pydeps "${source[@]}" "$@" \
    || { echo "FAILED: cannot install $* here (no wheels, no registry?). Nothing ran."; exit 2; }
  export PYTHONPATH=/tmp/pydeps${PYTHONPATH:+:$PYTHONPATH}
  "$PY" -c "$imports" || { echo "FAILED: installed, but '$imports' still fails. Nothing ran."; exit 2; }
}

source "$(dirname "${BASH_SOURCE[0]}")/packages.sh"
