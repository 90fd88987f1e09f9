#!/usr/bin/env bash
# Local JWT verification, this crate against Clerk's own verifier (@clerk/backend,
# pinned in conformance/), on the same tokens, each pinned to one core:
#   bash benches/verify-vs-clerk.sh [TOKENS=2000] [ROUNDS=5]
# benches/verify.rs mints the tokens (RS256, RSA-2048, Clerk-shaped, distinct),
# verifies them with Verifier::from_pem and writes them out;
# conformance/verify-bench.mjs verifies the same tokens with clerk.m2m.verify.
set -euo pipefail
cd "$(dirname "$0")/.."
tokens=${1:-2000}
rounds=${2:-5}
[ -d conformance/node_modules/@clerk/backend ] || (cd conformance && npm ci --no-audit --no-fund)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
cargo bench --locked --bench verify --no-run >/dev/null 2>&1
CLERK_PERF_ONLY=jwt CLERK_PERF_TOKENS="$tokens" CLERK_PERF_ROUNDS="$rounds" CLERK_PERF_WRITE_TOKENS="$dir" \
  "${pin[@]}" cargo bench --locked --bench verify 2>/dev/null | tee "$dir/rust.txt" | grep '^rust:'
"${pin[@]}" node conformance/verify-bench.mjs "$dir/tokens.json" "$dir/public.pem" "$rounds" | tee "$dir/js.txt" | tail -n 1
rust_us=$(sed -n 's/^rust:.* \([0-9.]*\) us CPU per token.*/\1/p' "$dir/rust.txt")
js_us=$(tail -n 1 "$dir/js.txt" | sed -n 's/.* \([0-9.]*\) us CPU per token.*/\1/p')
echo "ratio: $(echo "scale=2; $js_us / $rust_us" | bc)x (CPU per token, Clerk's verifier / this crate's)"
