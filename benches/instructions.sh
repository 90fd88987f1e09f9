#!/usr/bin/env bash
# Instruction counts per operation under valgrind (deterministic, unlike CPU
# time on a shared machine): runs the overhead benchmark binary in its
# single-purpose modes with N operations and with none, and divides the
# difference by N. Usage: bash benches/instructions.sh [REQUEST_OPS] [DECODES]
set -euo pipefail
cd "$(dirname "$0")/.."
ops=${1:-200}
decodes=${2:-3}
bin=$(cargo bench --bench overhead --no-run --message-format=json 2>/dev/null \
  | grep -o '"executable":"[^"]*overhead[^"]*"' | tail -n 1 | cut -d'"' -f4)
irefs() { # env assignments... -> total instructions of the process (children not traced)
  env "$@" valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$bin" 2>&1 \
    | sed -n 's/.*I *refs: *//p' | tr -d ,
}
per() { echo "scale=0; ($1 - $2) / $3" | bc; }
base=$(irefs CLERK_PERF_REQUESTS=floor CLERK_PERF_ITERS=0)
c=$(irefs CLERK_PERF_REQUESTS=crate CLERK_PERF_ITERS="$ops")
f=$(irefs CLERK_PERF_REQUESTS=floor CLERK_PERF_ITERS="$ops")
ci=$(per "$c" "$base" "$ops"); fi=$(per "$f" "$base" "$ops")
echo "request path (create + get, sequential): crate $ci, floor $fi instructions/op, ratio $(echo "scale=3; $ci / $fi" | bc)"
n=$(irefs CLERK_PERF_REQUESTS=crate-no-retries CLERK_PERF_ITERS="$ops")
ni=$(per "$n" "$base" "$ops")
echo "  the same with RetryConfig::disabled() (no request copy): crate $ni instructions/op, ratio $(echo "scale=3; $ni / $fi" | bc)"
base=$(irefs CLERK_PERF_DECODE=none)
c=$(irefs CLERK_PERF_DECODE=crate CLERK_PERF_ITERS="$decodes")
f=$(irefs CLERK_PERF_DECODE=floor CLERK_PERF_ITERS="$decodes")
ci=$(per "$c" "$base" "$decodes"); fi=$(per "$f" "$base" "$decodes")
echo "decode (500 x 150 page): crate $ci, floor $fi instructions/page, ratio $(echo "scale=3; $ci / $fi" | bc)"
