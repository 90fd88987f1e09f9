#!/usr/bin/env node
// Verify M2M JWTs with Clerk's own JavaScript SDK (@clerk/backend, pinned 3.25.0), networkless, via jwtKey.
//
// usage: node jwt-verify.mjs cases.json public.pem [--api=client|internal]
//   cases.json : [{"name": "...", "token": "..."}, ...]
//   public.pem : the RSA public key (SPKI PEM, "-----BEGIN PUBLIC KEY-----"), as given to Clerk's `jwtKey` option
//
// --api=client   (default) the public, documented API:
//                    import { createClerkClient } from '@clerk/backend';
//                    const clerk = createClerkClient({ jwtKey: pem });
//                    const m2mToken = await clerk.m2m.verify({ token });   // resolves M2MToken or throws
// --api=internal the lower-level function that authenticateRequest() uses:
//                    import { verifyMachineAuthToken } from '@clerk/backend/internal';
//                    const { data, tokenType, errors } = await verifyMachineAuthToken(token, { jwtKey: pem });
//
// Both end up in the same verifyM2MJwt() for JWTs whose payload `sub` starts with "mch_". They differ only
// for tokens that are NOT routed there: m2m.verify() sends anything that is not an mch_ JWT to the Backend
// API (POST /m2m_tokens/verify); verifyMachineAuthToken() returns an error for a non-mch_, non-at+jwt JWT,
// and sends mt_/oat_/ak_ opaque tokens to the Backend API. No network call is ever allowed here:
// globalThis.fetch is replaced, BEFORE @clerk/backend is loaded, by a stub that throws; a case that
// tried to reach the network is reported as rejected with code "network-call-blocked".
//
// Output (stdout): one JSON array
//   [{"name", "accepted", "subject", "id", "scopes", "claims", "reason", ...extra fields}]
// extra fields: accepted ones also carry expiration/createdAt/updatedAt (ms, null if NaN), expired, revoked,
// tokenType; rejected ones carry code, message, errorClass, thrown (true if the SDK threw something other
// than its normal MachineTokenVerificationError, e.g. a TypeError), network (true if a fetch was attempted).

import { readFileSync } from 'node:fs';

let networkAttempts = 0;
const blockedFetch = async (input) => {
  networkAttempts++;
  throw new Error(`network call blocked by jwt-verify.mjs: ${typeof input === 'string' ? input : input?.url ?? input?.href}`);
};
globalThis.fetch = blockedFetch; // must happen before @clerk/backend captures fetch.bind(globalThis)

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const pos = args.filter((a) => !a.startsWith('--'));
if (pos.length < 2) {
  console.error('usage: node jwt-verify.mjs cases.json public.pem [--api=client|internal]');
  process.exit(2);
}
const api = (flags.find((f) => f.startsWith('--api=')) ?? '--api=client').slice(6);
if (!['client', 'internal'].includes(api)) {
  console.error(`unknown --api=${api}`);
  process.exit(2);
}

const cases = JSON.parse(readFileSync(pos[0], 'utf8'));
const pem = readFileSync(pos[1], 'utf8');

const { createClerkClient } = await import('@clerk/backend');
const { verifyMachineAuthToken } = await import('@clerk/backend/internal');
const { MachineTokenVerificationError } = await import('@clerk/backend/errors');

// No secretKey / publishableKey: m2m.verify() for a JWT only needs jwtKey.
const clerk = createClerkClient({ jwtKey: pem, telemetry: { disabled: true } });

async function verify(token) {
  if (api === 'client') {
    return { data: await clerk.m2m.verify({ token }) };
  }
  const r = await verifyMachineAuthToken(token, { jwtKey: pem });
  if (r.errors) {
    r.errors[0].__tokenType = r.tokenType;
    throw r.errors[0];
  }
  return { data: r.data, tokenType: r.tokenType };
}

const num = (x) => (typeof x === 'number' && Number.isFinite(x) ? x : null);

const out = [];
for (const c of cases) {
  const before = networkAttempts;
  try {
    const { data, tokenType } = await verify(c.token);
    out.push({
      name: c.name,
      accepted: true,
      subject: data.subject,
      id: data.id,
      scopes: data.scopes,
      claims: data.claims,
      reason: null,
      expiration: num(data.expiration),
      createdAt: num(data.createdAt),
      updatedAt: num(data.updatedAt),
      expired: data.expired,
      revoked: data.revoked,
      tokenType: tokenType ?? 'm2m_token',
    });
  } catch (e) {
    const network = networkAttempts > before;
    const isMachineErr = e instanceof MachineTokenVerificationError;
    let code = e?.code ?? e?.reason ?? null;
    let message = e?.message ?? String(e);
    if (network) {
      code = 'network-call-blocked';
      message = `token was routed to the Backend API, not to local M2M JWT verification (${e?.errors?.[0]?.message ?? message})`;
    } else if (!isMachineErr && !code) {
      code = 'exception';
    }
    out.push({
      name: c.name,
      accepted: false,
      subject: null,
      id: null,
      scopes: null,
      claims: null,
      reason: `${code}: ${message}`,
      code,
      message,
      errorClass: e?.constructor?.name ?? typeof e,
      thrown: !isMachineErr && !network,
      network,
      tokenType: e?.__tokenType ?? null,
    });
  }
}

process.stdout.write(JSON.stringify(out, null, 2) + '\n');
