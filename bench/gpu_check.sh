#!/usr/bin/env bash
# Run the GPU tests one file at a time, each under its own time limit, and print one
# summary line per file at the end (a slow file cannot hide the others' results).
#   bash bench/gpu_check.sh [SECONDS_PER_FILE [TEST_FILE...]]   (logs under $OUT or ./gpu-results)
set -u
limit=${1:-240}
out=${OUT:-gpu-results}
mkdir -p "$out"
files=("${@:2}")
[ ${#files[@]} -eq 0 ] && files=(tests/test_verifier_gpu.py tests/test_runtime_gpu.py tests/test_solutions_gpu.py
       tests/test_offline_gpu.py tests/test_agent_e2e.py tests/test_tasks_admission.py
       tests/test_tasks_cli.py tests/test_suite_gpu.py)
summary=()
for f in "${files[@]}"; do
  name=$(basename "$f" .py)
  start=$(date +%s)
  timeout "$limit" python3 -m pytest -m gpu -v -rfE --durations=5 -p no:cacheprovider "$f" > "$out/$name.log" 2>&1
  rc=$?
  last=$(grep -E "passed|failed|error|no tests ran" "$out/$name.log" | tail -1)
  [ $rc -eq 124 ] && last="TIMED OUT after ${limit}s: $(grep -c PASSED "$out/$name.log" || true) lines; $(tail -c 200 "$out/$name.log" | tr '\n' ' ')"
  summary+=("$(printf '%-28s %4ss  %s' "$name" "$(( $(date +%s) - start ))" "$last")")
done
printf '%s\n' "${summary[@]}"
