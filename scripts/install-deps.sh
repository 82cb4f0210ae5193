#!/usr/bin/env bash
# Installs the Debian packages idemgen needs, only those that are missing. Idempotent.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --bench  also the peers the benchmarks compare against, pinned, from
#                                    PyPI, in git-ignored virtual environments (nothing goes into
#                                    the system Python): .venv-torch/ (PyTorch, as --torch, for
#                                    bench/compare_torch.sh, with POT and torchcfm for its OT
#                                    steps) and .venv-bench/ (NumPy, SciPy, POT
#                                    and lap, for bench/compare_ot.sh)
#   scripts/install-deps.sh --ot-bench  the build dependencies and .venv-bench/ only
#   scripts/install-deps.sh --plots  the build dependencies and a pinned matplotlib in .venv-bench/
#                                    (the coupling benchmark's plots)
#   scripts/install-deps.sh --torch  the build dependencies and .venv-torch/ (git-ignored) with
#                                    pinned PyTorch, safetensors and NumPy from PyPI, for the test
#                                    that loads checkpoints in PyTorch (python/idemgen_torch.py);
#                                    about 5.5 GB, so skipped with a message when the disk has
#                                    less than 12 GB free or the package index is unreachable
set -euo pipefail

packages=(cmake g++ make pkg-config ccache libeigen3-dev libfmt-dev nlohmann-json3-dev libboost-program-options-dev
          libstb-dev catch2 libbenchmark-dev zlib1g-dev libopenblas-openmp-dev
          libdnnl-dev  # oneDNN: conv2d's direct convolution on the CPU (backend/cpu_dnnl_conv.hpp)
          dataset-fashion-mnist  # data::fashion_mnist_directory(): the image examples and their tests
          python3  # the coupling benchmark's driver (its CTest test) and the main job's summary
          clang libclang-rt-14-dev  # the libFuzzer harnesses of the readers (tests/fuzz/)
          libopenmpi-dev openmpi-bin)  # idemgen::mpi and its `mpirun -np 2` test (distributed/)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(valgrind)  # scripts/compare-step-cost.sh: instruction counts of one step per method
fi

# The OT peers, pinned, in the project's own virtual environment (skipped with a message when the
# package index cannot be reached: the C++ benchmarks run without them).
venv_install() {
  local venv=${VENV:-.venv-bench}
  cd "$(dirname "$0")/.."
  if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv "$venv" || { echo "install-deps: python3 -m venv failed; no $venv" >&2; return 0; }
  fi
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "$@" ||
    echo "install-deps: the package index is unreachable; $venv lacks $*" >&2
}
venv_peers() {
  case "${1:-}" in
    --bench)
      venv_install numpy==2.4.6 scipy==1.17.1 pot==0.9.7.post1 lap==0.5.13
      venv_peers --torch
      # The OT steps' peers beside PyTorch (bench/torch_methods.py, torch_diffusion.py): POT and
      # torchcfm. torchcfm without its declared dependencies (matplotlib, scikit-learn, pandas,
      # torchdyn, absl-py: its examples'); its flow matchers import only torch, NumPy and POT.
      local torch_python=${VENV_TORCH_PYTHON:-.venv-torch/bin/python}
      if [[ -x $torch_python ]] && ! "$torch_python" -c "import ot, torchcfm" 2>/dev/null; then
        VENV=.venv-torch venv_install scipy==1.17.1 pot==0.9.7.post1
        VENV=.venv-torch venv_install --no-deps torchcfm==1.0.7
      fi ;;
    --ot-bench) venv_install numpy==2.4.6 scipy==1.17.1 pot==0.9.7.post1 lap==0.5.13 ;;
    --plots) venv_install numpy==2.4.6 matplotlib==3.11.2 ;;
    --torch)
      cd "$(dirname "$0")/.."
      if "${VENV_TORCH_PYTHON:-.venv-torch/bin/python}" -c "import torch, safetensors, numpy" 2>/dev/null; then return 0; fi
      local free_kb
      free_kb=$(df -Pk . | awk 'NR == 2 {print $4}')
      if (( free_kb < 12 * 1024 * 1024 )); then
        echo "install-deps: under 12 GB free; no .venv-torch (its test will be skipped)" >&2
        return 0
      fi
      VENV=.venv-torch venv_install torch==2.15.0 safetensors==0.8.0 numpy==2.4.6 ;;
  esac
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  venv_peers "${1:-}"
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
as_root=()
[[ $(id -u) -ne 0 ]] && as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
venv_peers "${1:-}"
exit 0
