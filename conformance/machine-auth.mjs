#!/usr/bin/env node
// Clerk's own JavaScript SDK (@clerk/backend, pinned 3.25.0) on machine credentials, for
// tests/clerk_verifier.rs: the same tokens, and the same scripted Clerk answers, go through
// `authenticateRequest(request, { acceptsToken })` here and through the crate's Verifier there.
//
// usage: node machine-auth.mjs input.json
//   input.json: {
//     "mode": "authenticate" | "route",
//     "apiUrl": "http://127.0.0.1:PORT",   // the scripted Clerk (httpmock), authenticate mode only
//     "secretKey": "sk_test_...",
//     "jwtKey": "-----BEGIN PUBLIC KEY-----..." | null,   // for JWTs, as Clerk's `jwtKey` option
//     "cases": [{"name", "token", "accepts", "audience"?}] // accepts: "any", a kind, or a list
//   }
//
// authenticate: one `authenticateRequest` per case, the token as `Authorization: Bearer <token>`;
//   output [{"name", "signedIn", "tokenType", "reason", "message", "auth"}], `auth` being the
//   fields of the machine auth object (`toAuth()`): id, subject, scopes, name, claims, userId,
//   orgId, machineId, clientId.
// route: no network (fetch blocked): for each token, the kinds `authenticateRequest` does not
//   refuse with `token-type-mismatch` (which is how `getMachineTokenType`, not exported, routes);
//   output [{"name", "machineToken", "kinds"}].

import { readFileSync } from 'node:fs';

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const realFetch = globalThis.fetch;
let blocked = input.mode === 'route';
// Replaced before @clerk/backend is loaded (it captures fetch then).
globalThis.fetch = async (...args) => {
  if (blocked) {
    throw new Error('network call blocked by machine-auth.mjs');
  }
  return realFetch(...args);
};

const { createClerkClient } = await import('@clerk/backend');
const { isMachineToken } = await import('@clerk/backend/internal');

const clerk = createClerkClient({
  secretKey: input.secretKey,
  publishableKey: 'pk_test_Y2xlcmsuZXhhbXBsZS5jb20k', // clerk.example.com
  apiUrl: input.apiUrl ?? 'http://127.0.0.1:9',
  jwtKey: input.jwtKey ?? undefined,
  telemetry: { disabled: true },
});

async function authenticate(token, accepts, audience) {
  const request = new Request('https://service.test/', { headers: { Authorization: `Bearer ${token}` } });
  return clerk.authenticateRequest(request, { acceptsToken: accepts, ...(audience ? { audience } : {}) });
}

const pick = (auth) => {
  const fields = ['tokenType', 'id', 'subject', 'scopes', 'name', 'claims', 'userId', 'orgId', 'machineId', 'clientId'];
  return Object.fromEntries(fields.filter((f) => auth?.[f] !== undefined).map((f) => [f, auth[f]]));
};

const out = [];
for (const c of input.cases) {
  if (input.mode === 'route') {
    const kinds = [];
    for (const kind of ['m2m_token', 'api_key', 'oauth_token']) {
      const state = await authenticate(c.token, kind);
      if (state.reason !== 'token-type-mismatch') {
        kinds.push(kind);
      }
    }
    out.push({ name: c.name, machineToken: isMachineToken(c.token), kinds });
    continue;
  }
  try {
    const state = await authenticate(c.token, c.accepts ?? 'any', c.audience);
    const signedIn = state.isAuthenticated === true;
    out.push({
      name: c.name,
      signedIn,
      tokenType: state.tokenType ?? null,
      reason: state.reason ?? null,
      message: state.message ?? null,
      auth: signedIn ? pick(state.toAuth()) : null,
    });
  } catch (e) {
    out.push({ name: c.name, signedIn: false, tokenType: null, reason: 'exception', message: String(e?.message ?? e), auth: null });
  }
}
blocked = true;
process.stdout.write(JSON.stringify(out, null, 2) + '\n');
