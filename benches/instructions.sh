#!/usr/bin/env bash
# Instruction counts per operation under valgrind (deterministic, unlike CPU
# time on a shared machine): runs the overhead benchmark binary in its
# single-purpose modes with N operations and with none, and divides the
# difference by N. Usage: bash benches/instructions.sh [REQUEST_OPS] [DECODES] [LAYER_REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
ops=${1:-800}
decodes=${2:-3}
bench_bin() { # name -> path of the built benchmark binary
  cargo bench --bench "$1" --no-run --message-format=json 2>/dev/null \
    | grep -o "\"executable\":\"[^\"]*$1[^\"]*\"" | tail -n 1 | cut -d'"' -f4
}
bin=$(bench_bin overhead)
irefs() { # env assignments... -> total instructions of the process (children not traced)
  env "$@" valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$bin" 2>&1 \
    | sed -n 's/.*I *refs: *//p' | tr -d ,
}
per() { echo "scale=0; ($1 - $2) / $3" | bc; }
for tasks in 1 16; do
  base=$(irefs CLERK_PERF_TASKS=$tasks CLERK_PERF_REQUESTS=floor CLERK_PERF_ITERS=0)
  c=$(irefs CLERK_PERF_TASKS=$tasks CLERK_PERF_REQUESTS=crate CLERK_PERF_ITERS="$ops")
  f=$(irefs CLERK_PERF_TASKS=$tasks CLERK_PERF_REQUESTS=floor CLERK_PERF_ITERS="$ops")
  ci=$(per "$c" "$base" "$ops"); fi=$(per "$f" "$base" "$ops")
  echo "request path (create + get, $tasks task(s)): crate $ci, floor $fi instructions/op, crate - floor $((ci - fi)), ratio $(echo "scale=3; $ci / $fi" | bc)"
  if [ "$tasks" = 1 ]; then
    n=$(irefs CLERK_PERF_TASKS=1 CLERK_PERF_REQUESTS=crate-no-retries CLERK_PERF_ITERS="$ops")
    ni=$(per "$n" "$base" "$ops")
    echo "  1 task with RetryConfig::disabled(): crate $ni instructions/op, ratio $(echo "scale=3; $ni / $fi" | bc)"
  fi
done
base=$(irefs CLERK_PERF_DECODE=none)
c=$(irefs CLERK_PERF_DECODE=crate CLERK_PERF_ITERS="$decodes")
f=$(irefs CLERK_PERF_DECODE=floor CLERK_PERF_ITERS="$decodes")
ci=$(per "$c" "$base" "$decodes"); fi=$(per "$f" "$base" "$decodes")
echo "decode (500 x 150 page): crate $ci, floor $fi instructions/page, ratio $(echo "scale=3; $ci / $fi" | bc)"
# The server layer (benches/verify.rs): a request behind AuthLayer with a
# JWT, against the same request without it and the verification alone; only
# the measured loop is counted (callgrind --toggle-collect).
bin=$(bench_bin verify)
layer_ops=${3:-200}
measured() { # variant -> instructions per request inside layer_measured
  local total
  total=$(env CLERK_PERF_TOKENS=100 CLERK_PERF_LAYER="$1" CLERK_PERF_ITERS="$layer_ops" valgrind --tool=callgrind \
      --collect-atstart=no --toggle-collect='*layer_measured*' --callgrind-out-file=/dev/null "$bin" 2>&1 \
    | sed -n 's/.*Collected *: *//p' | tr -d ,)
  echo "scale=0; $total / $layer_ops" | bc
}
p=$(measured plain); v=$(measured verify); g=$(measured guarded)
echo "layer: handler alone $p, verification alone $v, handler behind the layer $g instructions/request; the layer beyond the verification: $((g - p - v))"
