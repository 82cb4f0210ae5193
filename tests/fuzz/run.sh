#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/CMakeLists.txt) with clang in BUILD_DIR and runs each
# for RUNS inputs from the committed seeds (tests/fuzz/corpus/<reader>/), with a fixed seed; new
# inputs go to BUILD_DIR/corpus/<reader>/, the seeds are left as they are. Exit 0 when every
# harness ran RUNS inputs without a finding; libFuzzer's report and the crashing input otherwise.
#   tests/fuzz/run.sh BUILD_DIR RUNS [HARNESS...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build=$1 runs=$2
shift 2
harnesses=("$@")
[[ ${#harnesses[@]} -gt 0 ]] || harnesses=(safetensors json csv)
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ "${launcher[@]}" > "$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
for h in "${harnesses[@]}"; do cmake --build "$build" -j 2 --target "fuzz_$h"; done
for h in "${harnesses[@]}"; do
  mkdir -p "$build/corpus/$h" "$build/findings"
  start=$(date +%s.%N)
  # -rss_limit_mb: an allocation sized by an unchecked field is a finding, not a slow run.
  "$build/fuzz_$h" -runs="$runs" -seed=1 -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/findings/$h-" "$build/corpus/$h" "$here/corpus/$h" > "$build/$h.log" 2>&1 ||
    { tail -40 "$build/$h.log"; echo "fuzz_$h: a finding (input in $build/findings/)"; exit 1; }
  end=$(date +%s.%N)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/$h.log" | grep -o '[0-9]*$')
  echo "fuzz_$h: $execs inputs, no finding, $(awk "BEGIN {printf \"%.1f\", $end - $start}") s, corpus $(ls "$build/corpus/$h" | wc -l) + $(ls "$here/corpus/$h" | wc -l) seeds"
done
