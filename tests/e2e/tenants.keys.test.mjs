// A tenant's signing keys (docs/tenants.md "Signing keys"): rotated by
// `gatehouse keys rotate --tenant ID` against a running server and by
// POST {issuer}/admin/v1/keys/rotate. A rotation publishes new kids in that
// tenant's JWKS only; new tokens are signed with them; tokens signed before
// still verify in the tenant and stay refused in every other one; each
// rotation is audited in the tenant's own chain.
// Runs on both backends (GATEHOUSE_TEST_DATABASE_URL for PostgreSQL).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import * as jose from 'jose';

import { startServer, stopAll, request, runGatehouse, randomHex, sql, sleep, BACKEND } from './lib/server.mjs';
import { newUser, signedIn } from './lib/browser.mjs';
import { registerClient, codeTokens, basic } from './lib/oidc.mjs';
import { tenantView, admin, createTenant } from './lib/tenants.mjs';

after(stopAll);

const ctx = {};

async function newTenant(server, id) {
  await createTenant(server, id);
  return tenantView(server, id);
}

async function jwks(server) {
  const r = await request(server, 'GET', '/jwks');
  assert.equal(r.status, 200, r.text);
  return r.body;
}

const kidsOf = (set) => set.keys.map((k) => k.kid).sort();

/** Polls a JWKS until pred(set) holds; returns the last set seen. */
async function jwksUntil(server, pred, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let set = await jwks(server);
  while (!pred(set) && Date.now() < deadline) {
    await sleep(100);
    set = await jwks(server);
  }
  return set;
}

/** `gatehouse keys list [--tenant ID]` rows as {kid, alg, state}. */
async function listKeys(server, tenant) {
  const args = tenant ? ['keys', 'list', '--tenant', tenant] : ['keys', 'list'];
  const r = await runGatehouse(args, { env: server.env });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').slice(1).map((l) => {
    const [kid, alg, state] = l.split(/\s+/);
    return { kid, alg, state };
  });
}

const userinfo = (server, at) => request(server, 'GET', '/userinfo', { headers: { authorization: `Bearer ${at}` } });

async function introspect(server, reg, token) {
  const r = await fetch(`${server.url}/introspect`, {
    method: 'POST',
    headers: { authorization: basic(reg), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  assert.equal(r.status, 200);
  return r.json();
}

function rotations(server, tenant) {
  return sql(server, `SELECT actor, details FROM audit_events WHERE tenant_id = '${tenant}' AND type = 'keys.rotated' ORDER BY seq`)
    .map((e) => ({ actor: e.actor, details: typeof e.details === 'string' ? JSON.parse(e.details) : e.details }));
}

describe(`a tenant's signing keys (${BACKEND})`, () => {
  before(async () => {
    // The running server re-reads the keys every second, as
    // GATEHOUSE_KEYS_REFRESH lets an operator choose; a rotation made by the
    // command line reaches it that way.
    ctx.server = await startServer({ env: { GATEHOUSE_KEYS_REFRESH: '1' } });
    const s = ctx.server;
    ctx.a = `keys-a-${randomHex(3)}`;
    ctx.b = `keys-b-${randomHex(3)}`;
    ctx.A = await newTenant(s, ctx.a);
    ctx.B = await newTenant(s, ctx.b);
    // every tenant's RS256 key is there before a test compares key sets
    for (const t of [s, ctx.A, ctx.B]) assert.equal((await jwksUntil(t, (k) => k.keys.length === 2)).keys.length, 2);
  });

  test('`keys rotate --tenant A` on a running server: new kids in A\'s JWKS only, new tokens signed with them, older tokens still good in A and refused in B', async () => {
    const { server: s, A, B } = ctx;
    const user = await newUser(A, 'keys');
    const b = await signedIn(A, user);
    const regA = await registerClient(A, { client_name: 'App A' });
    const regB = await registerClient(B, { client_name: 'App B' });
    const before = await codeTokens(A, b, regA);
    const oldA = kidsOf(await jwks(A));
    const setB = await jwks(B);
    const setRoot = await jwks(s);
    const listRoot = await listKeys(s);

    const r = await runGatehouse(['keys', 'rotate', '--tenant', ctx.a], { env: s.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^tenant ${ctx.a}$`, 'm'));
    const fresh = [...r.stdout.matchAll(/new (ES256|RS256) key (\S+)/g)].map((m) => m[2]).sort();
    assert.equal(fresh.length, 2, r.stdout);
    assert.ok(fresh.every((k) => !oldA.includes(k)));

    // the command line sees A's keys: the new active, the old retired
    const listA = await listKeys(s, ctx.a);
    assert.deepEqual(listA.filter((k) => k.state === 'active').map((k) => k.kid).sort(), fresh);
    assert.deepEqual(listA.filter((k) => k.state === 'retired').map((k) => k.kid).sort(), oldA);
    assert.deepEqual(await listKeys(s), listRoot, 'the default tenant\'s keys are untouched');
    assert.deepEqual((await listKeys(s, ctx.b)).map((k) => k.kid).sort(), kidsOf(setB));

    // the running server publishes old and new in A's JWKS within the
    // refresh interval; B's and the default tenant's are byte for byte the same
    const setA = await jwksUntil(A, (k) => k.keys.length === 4);
    assert.deepEqual(kidsOf(setA), [...oldA, ...fresh].sort());
    assert.deepEqual(await jwks(B), setB);
    assert.deepEqual(await jwks(s), setRoot);

    // a new ID token of A is signed with a new key and verifies against A's JWKS
    const after = await codeTokens(A, b, regA);
    const { kid } = jose.decodeProtectedHeader(after.id_token);
    assert.ok(fresh.includes(kid), `signed with ${kid}, one of the new keys`);
    const localA = jose.createLocalJWKSet(await jwks(A));
    const verified = await jose.jwtVerify(after.id_token, localA, { issuer: A.issuer, audience: regA.client_id });
    assert.equal(verified.payload.sub, user.id);
    // a token signed before the rotation: its ID token still verifies with
    // A's JWKS, and its access token still works at A's userinfo and
    // introspection (the old key is retired, not gone)
    assert.ok(oldA.includes(jose.decodeProtectedHeader(before.id_token).kid));
    await jose.jwtVerify(before.id_token, localA, { issuer: A.issuer, audience: regA.client_id });
    assert.equal((await userinfo(A, before.access_token)).status, 200);
    assert.equal((await introspect(A, regA, before.access_token)).active, true);
    assert.equal((await userinfo(A, after.access_token)).status, 200);

    // A's tokens, old and new, are still refused in B and the default tenant
    const localB = jose.createLocalJWKSet(await jwks(B));
    await assert.rejects(jose.jwtVerify(after.id_token, localB), 'B\'s JWKS does not verify A\'s new token');
    for (const t of [before, after]) {
      assert.equal((await userinfo(B, t.access_token)).status, 401);
      assert.equal((await userinfo(s, t.access_token)).status, 401);
      assert.equal((await introspect(B, regB, t.access_token)).active, false);
    }

    // audited in A's chain, by the command line, with the new kids
    const ev = rotations(s, ctx.a);
    assert.equal(ev.length, 1);
    assert.equal(ev[0].actor, 'cli');
    assert.deepEqual([ev[0].details.ES256, ev[0].details.RS256].sort(), fresh);
    assert.equal(rotations(s, ctx.b).length, 0);
  });

  test('POST {issuer}/admin/v1/keys/rotate rotates the keys of that tenant only, published at once; the admin token is required', async () => {
    const { server: s, A, B } = ctx;
    const beforeA = kidsOf(await jwks(A));
    const setB = await jwks(B);
    const setRoot = await jwks(s);
    const eventsA = rotations(s, ctx.a).length;

    const anon = await request(B, 'POST', '/admin/v1/keys/rotate');
    assert.equal(anon.status, 401, anon.text);
    const wrong = await request(B, 'POST', '/admin/v1/keys/rotate', { headers: { authorization: `Bearer ${randomHex(32)}` } });
    assert.equal(wrong.status, 401, wrong.text);
    assert.deepEqual(await jwks(B), setB, 'a refused call changes nothing');

    const r = await admin(A, 'POST', '/admin/v1/keys/rotate');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(r.body.tenant, ctx.a);
    assert.deepEqual(r.body.keys.map((k) => k.alg).sort(), ['ES256', 'RS256']);
    const fresh = r.body.keys.map((k) => k.kid).sort();
    assert.ok(!Number.isNaN(Date.parse(r.body.previous_keys_published_until)));
    // the answering server publishes them at once, no refresh needed
    const setA = await jwks(A);
    for (const kid of fresh) assert.ok(kidsOf(setA).includes(kid), `${kid} is in A's JWKS`);
    for (const kid of beforeA) assert.ok(kidsOf(setA).includes(kid), `${kid} (retired) stays in A's JWKS`);
    assert.deepEqual(await jwks(B), setB);
    assert.deepEqual(await jwks(s), setRoot);

    const ev = rotations(s, ctx.a);
    assert.equal(ev.length, eventsA + 1);
    assert.equal(ev.at(-1).actor, 'admin');
    assert.deepEqual([ev.at(-1).details.ES256, ev.at(-1).details.RS256].sort(), fresh);
    assert.equal(rotations(s, ctx.b).length, 0);
  });

  test('`keys rotate|list --tenant` with an unknown or deleted tenant: exit 2, a clear message, nothing changed', async () => {
    const s = ctx.server;
    const env = { env: s.env };
    const gone = `keys-gone-${randomHex(3)}`;
    await createTenant(s, gone);
    assert.equal((await admin(s, 'DELETE', `/admin/v1/tenants/${gone}`)).status, 204);
    const count = () => sql(s, 'SELECT count(*) AS n FROM signing_keys')[0].n;
    const keysBefore = count();
    for (const id of ['no-such-tenant', gone]) {
      for (const sub of ['rotate', 'list']) {
        const r = await runGatehouse(['keys', sub, '--tenant', id], env);
        assert.equal(r.code, 2, `${sub} ${id}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`no tenant ${id}`));
        assert.equal(r.stdout, '');
      }
    }
    assert.equal(count(), keysBefore);
    for (const args of [['keys', 'rotate', '--tenant'], ['keys', 'list', '--tenant', ctx.a, 'extra'], ['keys', 'rotate', '--tenants', ctx.a]]) {
      const r = await runGatehouse(args, env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /usage: gatehouse keys rotate\|list \[--tenant ID\]/);
    }
    const help = await runGatehouse(['help', 'keys']);
    assert.match(help.stdout, /--tenant ID/);
  });
});
