#!/usr/bin/env bash
# CTest wrapper for python/test_idemgen_torch.py: runs it with .venv-torch's interpreter
# (scripts/install-deps.sh --torch makes it), or skips (exit 77) saying why.
#   torch_loads_checkpoint.sh IDEMGEN_PROGRAM WORK_DIR
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
python="$root/.venv-torch/bin/python"
if [[ ! -x $python ]]; then
  echo "skipped: no $root/.venv-torch (scripts/install-deps.sh --torch makes it when the package index is reachable)"
  exit 77
fi
if ! "$python" -c "import torch, safetensors, numpy" 2>/dev/null; then
  echo "skipped: $python cannot import torch, safetensors and numpy (scripts/install-deps.sh --torch)"
  exit 77
fi
exec "$python" "$root/python/test_idemgen_torch.py" "$@"
