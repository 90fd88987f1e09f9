// Clerk's official JavaScript SDK (@clerk/backend, pinned in package.json) against the crate's fake.
// Run by conformance/sdk-test.sh with CLERK_API_URL and CLERK_SECRET_KEY of a running fake.
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
await clerk.machines.delete(worker.id);
await clerk.machines.delete(api.id);
console.log('@clerk/backend against the fake: 15 calls, all as expected');
