# Sourced by the examples' run scripts (coupling_runs.sh, sign_runs.sh): $out is the runs' folder
# and $cli the program. build_cli builds it in build/release; run NAME ARGS… trains one run into
# $out/NAME (skipped when its metrics.json exists), its output in $out/NAME.log.
cli=build/release/examples/idemgen
build_cli() {
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DIDEMGEN_BUILD_TESTS=OFF >/dev/null
  cmake --build build/release -j 2 --target idemgen_cli >&2
  mkdir -p "$out"
}
run() {
  local name=$1; shift
  [[ -f $out/$name/metrics.json ]] && return 0
  echo "$(basename "$0"): $name" >&2
  "$cli" train "$@" --force --out "$out/$name" > "$out/$name.log" 2>&1  # --force: an unfinished run is redone
}
