#!/usr/bin/env bash
# `mpirun -np 2 idemgen train --distributed` against one process: usage MPIRUN CLI OUT.
#  1. 2 ranks of --batch 64 on 1 thread each write the samples one process of 2 threads writes at
#     --batch 128 (the same weights, bit for bit), and only rank 0 writes files;
#  2. a run of 2 ranks stopped at half resumes in one process to that same end;
#  3. a rank killed with SIGKILL mid-run ends the job (no hang) with a non-zero exit, and the last
#     checkpoint loads.
set -euo pipefail
mpirun=$1 cli=$2 out=$3
rm -rf "$out" && mkdir -p "$out"
common=(--method fm --dataset moons --width 16 --samples 200 --log-every 5)
ranks=("$mpirun" --oversubscribe --allow-run-as-root -np 2 -x OMP_NUM_THREADS=1 -x OMP_WAIT_POLICY=PASSIVE)
fail() { echo "FAILED: $*" >&2; exit 1; }

"${ranks[@]}" "$cli" train --distributed --threads 1 "${common[@]}" --batch 64 --steps 40 --out "$out/two" > "$out/two.log" 2>&1 ||
  fail "2 ranks exited $?: $(tail -3 "$out/two.log")"
OMP_NUM_THREADS=2 "$cli" train "${common[@]}" --threads 2 --batch 128 --steps 40 --out "$out/one" > /dev/null 2>&1
cmp -s "$out/two/samples.csv" "$out/one/samples.csv" || fail "2 ranks and 1 process of 2 threads wrote different samples"
[[ $(ls "$out/two") == $(ls "$out/one") ]] || fail "2 ranks wrote other files than 1 process: $(ls "$out/two")"
[[ $(grep -c "training fm" "$out/two.log") == 1 ]] || fail "more than rank 0 printed the banner"

"${ranks[@]}" "$cli" train --distributed --threads 1 "${common[@]}" --batch 64 --steps 20 --out "$out/halves" > /dev/null 2>&1 ||
  fail "2 ranks for 20 steps"
OMP_NUM_THREADS=2 "$cli" train --resume "$out/halves" --threads 2 --batch 128 --steps 40 > "$out/resume.log" 2>&1 ||
  fail "resuming the 2-rank run in 1 process: $(tail -2 "$out/resume.log")"
cmp -s "$out/halves/samples.csv" "$out/one/samples.csv" || fail "the 2-rank run resumed in 1 process differs from 1 process throughout"

# 3. A long run; once its first checkpoint exists, kill one rank.
start=$(date +%s)
"${ranks[@]}" "$cli" train --distributed --threads 1 "${common[@]}" --batch 64 --steps 1000000 --checkpoint-every 50 \
  --out "$out/killed" > "$out/killed.log" 2>&1 &
job=$!
for _ in $(seq 1 300); do [[ -f "$out/killed/model.safetensors" ]] && break; sleep 0.1; done
[[ -f "$out/killed/model.safetensors" ]] || { kill -9 $job; fail "no checkpoint after 30 s"; }
victim=$(pgrep -P $job | tail -1)  # a rank: mpirun's newest child
[[ -n $victim ]] || { kill -9 $job; fail "no rank process under mpirun"; }
kill -9 "$victim"
for _ in $(seq 1 300); do kill -0 $job 2> /dev/null || break; sleep 0.1; done
if kill -0 $job 2> /dev/null; then kill -9 $job; fail "the job still ran 30 s after a rank was killed"; fi
set +e; wait $job; rc=$?; set -e
(( rc != 0 )) || fail "the job with a killed rank exited 0"
grep -q "signal 9" "$out/killed.log" || fail "mpirun did not say a rank was killed: $(tail -3 "$out/killed.log")"
"$cli" sample --checkpoint "$out/killed/model.safetensors" --n 50 --out "$out/killed_samples" > /dev/null 2>&1 ||
  fail "the last checkpoint of the killed job does not load"
echo "distributed: every fact holds (killed job ended with exit $rc after $(( $(date +%s) - start )) s)"
