// Clerk's official JavaScript SDK (@clerk/backend, pinned in package.json) against the crate's fake.
// Run by conformance/sdk-test.sh with CLERK_API_URL and CLERK_SECRET_KEY of a running fake.
// OAuth access tokens come from the fake's test-only route (POST /__fake/oauth_access_tokens).
import { createClerkClient } from '@clerk/backend';
const apiUrl = process.env.CLERK_API_URL.replace(/\/v1\/?$/, '');
const clerk = createClerkClient({ secretKey: process.env.CLERK_SECRET_KEY, apiUrl });
const assert = (cond, msg) => { if (!cond) { console.error('FAIL', msg); process.exit(1); } };
const api = await clerk.machines.create({ name: 'sdk-api' });
const worker = await clerk.machines.create({ name: 'sdk-worker', scopedMachines: [api.id], defaultTokenTtl: 600 });
assert(worker.scopedMachines.length === 1 && worker.scopedMachines[0].id === api.id, 'scoped machines');
assert(worker.secretKey && worker.secretKey.startsWith('ak_'), 'secret key on create');
const list = await clerk.machines.list({ query: 'sdk-', orderBy: '+name' });
assert(list.totalCount === 2 && list.data[0].name === 'sdk-api', 'list ' + JSON.stringify(list.data.map(m => m.name)));
const got = await clerk.machines.get(worker.id);
assert(got.defaultTokenTtl === 600, 'get');
const renamed = await clerk.machines.update({ machineId: worker.id, name: 'sdk-worker-2' });
assert(renamed.name === 'sdk-worker-2', 'update');
const key = await clerk.machines.getSecretKey(worker.id);
assert(key.secret === worker.secretKey, 'secret key');
const rotated = await clerk.machines.rotateSecretKey({ machineId: worker.id, previousTokenTtl: 60 });
assert(rotated.secret !== worker.secretKey, 'rotate');
const token = await clerk.m2m.createToken({ machineSecretKey: rotated.secret, secondsUntilExpiration: 300 });
assert(token.token && token.subject === worker.id, 'create token');
const verified = await clerk.m2m.verify({ token: token.token });
assert(verified.id === token.id && !verified.revoked, 'verify');
const tokens = await clerk.m2m.list({ subject: worker.id });
assert(tokens.totalCount === 1, 'list tokens ' + tokens.totalCount);
const revoked = await clerk.m2m.revokeToken({ m2mTokenId: token.id, revocationReason: 'done' });
assert(revoked.revoked === true, 'revoke');
let rejected = false;
try { await clerk.machines.get('mch_doesnotexistdoesnotexist0000'); } catch (e) { rejected = e.status === 404; }
assert(rejected, '404 for an unknown machine');

// API keys, for a machine subject.
const created = await clerk.apiKeys.create({
  name: 'sdk-key', subject: worker.id, description: 'from the SDK', scopes: ['read'],
  claims: { env: 'ci' }, secondsUntilExpiration: 600,
});
assert(created.secret && created.secret.startsWith('ak_') && created.subject === worker.id, 'create api key');
assert(created.expiration - created.createdAt === 600000, 'api key expiration ' + created.expiration);
const keys = await clerk.apiKeys.list({ subject: worker.id, includeInvalid: true, query: 'sdk' });
assert(keys.totalCount === 1 && keys.data[0].id === created.id && keys.data[0].secret === undefined, 'list api keys');
const gotKey = await clerk.apiKeys.get(created.id);
assert(gotKey.name === 'sdk-key' && gotKey.claims.env === 'ci', 'get api key');
const updatedKey = await clerk.apiKeys.update({ apiKeyId: created.id, description: 'updated', scopes: ['read', 'write'] });
assert(updatedKey.description === 'updated' && updatedKey.scopes.length === 2, 'update api key');
const shown = await clerk.apiKeys.getSecret(created.id);
assert(shown.secret === created.secret, 'api key secret');
const verifiedKey = await clerk.apiKeys.verify(created.secret);
assert(verifiedKey.id === created.id && verifiedKey.lastUsedAt, 'verify api key');
const revokedKey = await clerk.apiKeys.revoke({ apiKeyId: created.id, revocationReason: 'sdk done' });
assert(revokedKey.revoked && revokedKey.revocationReason === 'sdk done', 'revoke api key');
let refusedKey = false;
try { await clerk.apiKeys.verify(created.secret); } catch (e) { refusedKey = e.status === 404; }
assert(refusedKey, '404 for a revoked api key');
const unrevoked = await clerk.apiKeys.create({ name: 'sdk-key-2', subject: worker.id });
await clerk.apiKeys.revoke({ apiKeyId: unrevoked.id }); // no reason: the SDK sends null
const deletedKey = await clerk.apiKeys.delete(created.id);
assert(deletedKey.deleted === true, 'delete api key');

// OAuth access tokens: issued through the fake's test-only route (Clerk
// issues them in its OAuth flow), verified through the SDK.
const issue = async (options) => {
  const res = await fetch(`${apiUrl}/__fake/oauth_access_tokens`, {
    method: 'POST', headers: { Authorization: `Bearer ${process.env.CLERK_SECRET_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(options),
  });
  assert(res.ok, 'the fake issues an OAuth token: ' + res.status);
  return res.json();
};
const user = 'user_2xhFjEI5X2qWRvtV13BzSj8H6Dk';
for (const jwt_typ of [undefined, 'at+jwt', 'application/at+jwt']) {
  const issued = await issue({ subject: user, client_id: 'client_sdk', scopes: ['read', 'write'], jwt_typ });
  const oauth = await clerk.idPOAuthAccessToken.verify(issued.token);
  assert(oauth.id === issued.id && oauth.subject === user && oauth.clientId === 'client_sdk', 'verify oauth ' + jwt_typ);
  assert(oauth.scopes.join(' ') === 'read write' && !oauth.revoked && !oauth.expired, 'oauth scopes ' + jwt_typ);
}
let refusedToken = false;
try { await clerk.idPOAuthAccessToken.verify('oat_unknown'); } catch (e) { refusedToken = e.status === 404; }
assert(refusedToken, '404 for an unknown OAuth token');

await clerk.machines.delete(worker.id);
await clerk.machines.delete(api.id);
console.log('@clerk/backend against the fake: 30 SDK calls (machines, M2M, API keys, OAuth), all as expected');
