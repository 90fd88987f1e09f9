#!/usr/bin/env node
// Benchmark Clerk's own M2M JWT verification (@clerk/backend 3.25.0), networkless via jwtKey.
//
// usage: node verify-bench.mjs tokens.json public.pem [rounds=3] [--api=client|internal]
//   tokens.json: JSON array of token strings (distinct valid M2M JWTs)
//
// Verifier call (same as jwt-verify.mjs):
//   --api=client (default): createClerkClient({ jwtKey: pem }).m2m.verify({ token })     (from '@clerk/backend')
//   --api=internal        : verifyMachineAuthToken(token, { jwtKey: pem })               (from '@clerk/backend/internal')
// Tokens are verified one after another (each call awaited), one warm-up round then `rounds` timed rounds.
// Clerk does not cache verification results (nor even the imported CryptoKey: it re-imports the JWK on every
// call), so re-verifying the same token in later rounds costs the same as the first time.
// Every verification must succeed (M2MToken with an mch_ subject); otherwise exit 1.
// stdout: one line per timed round, then one line for all timed rounds together:
//   clerk-js: <N> tokens in <ms> ms wall, <cpu_ms> ms CPU: <tokens/s> tokens/s, <us> us CPU per token

import { readFileSync } from 'node:fs';

globalThis.fetch = async (input) => {
  throw new Error(`network call blocked by verify-bench.mjs: ${input}`);
};

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const pos = args.filter((a) => !a.startsWith('--'));
if (pos.length < 2) {
  console.error('usage: node verify-bench.mjs tokens.json public.pem [rounds=3] [--api=client|internal]');
  process.exit(2);
}
const api = (flags.find((f) => f.startsWith('--api=')) ?? '--api=client').slice(6);
const tokens = JSON.parse(readFileSync(pos[0], 'utf8'));
const pem = readFileSync(pos[1], 'utf8');
const rounds = pos[2] !== undefined ? Number(pos[2]) : 3;
if (!Array.isArray(tokens) || tokens.length === 0 || !tokens.every((t) => typeof t === 'string')) {
  console.error('tokens.json must be a non-empty JSON array of strings');
  process.exit(2);
}
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error('rounds must be a positive integer');
  process.exit(2);
}

const { createClerkClient } = await import('@clerk/backend');
const { verifyMachineAuthToken } = await import('@clerk/backend/internal');
const clerk = createClerkClient({ jwtKey: pem, telemetry: { disabled: true } });

let verify;
if (api === 'client') {
  verify = (token) => clerk.m2m.verify({ token });
} else if (api === 'internal') {
  verify = async (token) => {
    const r = await verifyMachineAuthToken(token, { jwtKey: pem });
    if (r.errors) throw r.errors[0];
    return r.data;
  };
} else {
  console.error(`unknown --api=${api}`);
  process.exit(2);
}

async function round() {
  let ok = 0;
  const failures = [];
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < tokens.length; i++) {
    try {
      const m = await verify(tokens[i]);
      if (m && typeof m.subject === 'string' && m.subject.startsWith('mch_')) ok++;
      else failures.push([i, 'no M2MToken returned']);
    } catch (e) {
      failures.push([i, `${e?.code ?? e?.name}: ${e?.message}`]);
    }
  }
  const t1 = process.hrtime.bigint();
  const cpu = process.cpuUsage(cpu0);
  return { ok, failures, wallMs: Number(t1 - t0) / 1e6, cpuMs: (cpu.user + cpu.system) / 1000 };
}

function line(n, wallMs, cpuMs) {
  const tps = n / (wallMs / 1000);
  const usPer = (cpuMs * 1000) / n;
  return `clerk-js: ${n} tokens in ${wallMs.toFixed(1)} ms wall, ${cpuMs.toFixed(1)} ms CPU: ${tps.toFixed(0)} tokens/s, ${usPer.toFixed(1)} us CPU per token`;
}

function check(r, label) {
  if (r.ok !== tokens.length) {
    console.error(`${label}: ${r.failures.length} of ${tokens.length} verifications failed; first: token #${r.failures[0]?.[0]}: ${r.failures[0]?.[1]}`);
    process.exit(1);
  }
}

check(await round(), 'warm-up');
let totWall = 0;
let totCpu = 0;
for (let k = 0; k < rounds; k++) {
  const r = await round();
  check(r, `round ${k + 1}`);
  totWall += r.wallMs;
  totCpu += r.cpuMs;
  console.log(line(tokens.length, r.wallMs, r.cpuMs));
}
console.log(line(tokens.length * rounds, totWall, totCpu));
