#!/usr/bin/env bash
# Conformance run: the crate's client -> Prism (proxy mode, --errors) -> a standalone fake.
# Every request and response of every operation is validated against the vendored spec;
# the test fails on an error from Prism and on any "Violation" in Prism's log.
# Usage: bash conformance/proxy-test.sh   (from the crate root; needs `npm ci` in conformance/)
set -euo pipefail
cd "$(dirname "$0")/.."
spec=$(ls openapi/*.yml | sort | tail -n 1)
prism=conformance/node_modules/.bin/prism
[ -x "$prism" ] || (cd conformance && npm ci --no-audit --no-fund)
work=$(mktemp -d)
fake_pid= prism_pid=
cleanup() {
  [ -n "$prism_pid" ] && kill "$prism_pid" 2>/dev/null || true
  [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The same features as the test build, so nothing is compiled again.
cargo build --locked --workspace --all-features
key="sk_test_conformance_$RANDOM$RANDOM"
target/debug/clerk-machines fake --port 0 --instance-key "$key" >"$work/fake.out" 2>&1 &
fake_pid=$!
for _ in $(seq 1 100); do grep -q '^CLERK_API_URL=' "$work/fake.out" 2>/dev/null && break; sleep 0.1; done
fake_url=$(sed -n 's/^CLERK_API_URL=//p' "$work/fake.out")
[ -n "$fake_url" ] || { cat "$work/fake.out"; echo "the fake did not start"; exit 1; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=$((20000 + RANDOM % 30000))
while ! port_free "$port"; do port=$((20000 + RANDOM % 30000)); done
"$prism" proxy "$spec" "$fake_url" --errors -h 127.0.0.1 -p "$port" >"$work/prism.log" 2>&1 &
prism_pid=$!
for _ in $(seq 1 120); do port_free "$port" || break; sleep 0.5; done
port_free "$port" && { cat "$work/prism.log"; echo "prism did not start"; exit 1; }
echo "fake at $fake_url, prism proxy at http://127.0.0.1:$port"

PRISM_PROXY_URL="http://127.0.0.1:$port" CLERK_SECRET_KEY="$key" CLERK_FAKE_URL="$fake_url" PRISM_LOG="$work/prism.log" \
  cargo test --locked --all-features --test conformance -- --ignored --nocapture
echo "prism: $(grep -c 'Forwarding' "$work/prism.log") requests proxied, $(grep -c 'Violation' "$work/prism.log" || true) violations"
