#!/usr/bin/env bash
# Installs the Debian packages idemgen needs, only those that are missing. Idempotent.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --bench  also the peers the benchmarks compare against (PyTorch, POT)
set -euo pipefail

packages=(cmake g++ make pkg-config ccache libeigen3-dev libfmt-dev libboost-program-options-dev
          libstb-dev catch2 libbenchmark-dev zlib1g-dev libopenblas-openmp-dev)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(python3-torch python3-pot python3-scipy python3-numpy)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
as_root=()
[[ $(id -u) -ne 0 ]] && as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
