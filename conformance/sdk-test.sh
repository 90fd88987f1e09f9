#!/usr/bin/env bash
# Interoperability run: Clerk's official JavaScript SDK (@clerk/backend) against a standalone fake,
# to show the fake serves the paths and shapes Clerk's own SDKs expect. The OAuth access tokens the
# script verifies come from the fake's test-only route POST /__fake/oauth_access_tokens (instance
# key; see the fake's crate docs): Clerk issues them in its OAuth flow, which no fake has.
# Usage: bash conformance/sdk-test.sh   (from the crate root; needs `npm ci` in conformance/)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d conformance/node_modules/@clerk/backend ] || (cd conformance && npm ci --no-audit --no-fund)
work=$(mktemp -d)
fake_pid=
cleanup() {
  [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The same features as the test build, so nothing is compiled again.
cargo build --locked --workspace --all-features
target/debug/clerk-machines fake --port 0 >"$work/fake.out" 2>&1 &
fake_pid=$!
for _ in $(seq 1 100); do grep -q '^CLERK_SECRET_KEY=' "$work/fake.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^CLERK_API_URL=//p' "$work/fake.out")
key=$(sed -n 's/^CLERK_SECRET_KEY=//p' "$work/fake.out")
[ -n "$url" ] && [ -n "$key" ] || { cat "$work/fake.out"; echo "the fake did not start"; exit 1; }
CLERK_API_URL="$url" CLERK_SECRET_KEY="$key" node conformance/sdk-check.mjs
