// Sign in with Apple (issue 21 part 4, docs/federation.md "Apple") against
// a REAL upstream: node oidc-provider behind a small proxy that makes it
// behave as Apple does (tests/e2e/lib/apple.mjs): form_post required, the
// "user" field on the first sign-in, email_verified "true", and each
// client_secret checked as Apple would (an ES256 JWT verified with jose:
// kid, iss the team id, sub the client id, aud, a short life).
// SECURITY.md ids cited: #46 (federated users keyed by provider and sub),
// #47 (authentication events audited).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';

import { startServer, stopAll, randomHex, sql, databaseContains } from './lib/server.mjs';
import { Agent, adminApi } from './lib/upstream.mjs';
import { startAppleLike, TEAM, KID, CLIENT, p256, pem } from './lib/apple.mjs';

let apple;

const ctx = {};

const admin = (method, path, body) => adminApi(ctx.server, method, `/identity-providers${path}`, body);

before(async () => {
  ctx.server = await startServer({ env: { GATEHOUSE_OUTBOUND_ALLOW: '127.0.0.1/32', GATEHOUSE_FEDERATION_TIMEOUT_MS: '3000' } });
  const started = await startAppleLike({ redirectUris: [`${ctx.server.issuer}/federation/apple/callback`] });
  ctx.up = started.up;
  ctx.appleKey = started.key;
  apple = started.apple;
  const made = await admin('POST', '', started.provider('apple'));
  assert.equal(made.status, 201, made.text);
});

after(async () => {
  if (process.env.FED_DEBUG) console.error(ctx.server.logs().slice(-30).join('\n'));
  await stopAll();
  await ctx.up?.close();
});

function signIn(agent, login, opts = {}) {
  return agent.follow(`${ctx.server.url}/federation/apple/start?return_to=%2Faccount`, {
    login, until: (u) => u.port === String(ctx.server.port) && !u.pathname.startsWith('/federation/'), ...opts,
  });
}

describe('the apple preset: configuration', () => {
  test('the key, team id and key id are write-only, sealed at rest, and validated', async () => {
    const got = await admin('GET', '/apple');
    assert.equal(got.status, 200);
    assert.equal(got.json.has_client_secret, true);
    for (const secret of [TEAM, KID, 'PRIVATE KEY']) assert.equal(got.text.includes(secret), false, `${secret} is never returned`);
    const keyBody = pem(ctx.appleKey).split('\n')[1];
    assert.equal(databaseContains(ctx.server, keyBody), false, 'the private key is not stored in plaintext');
    assert.equal(databaseContains(ctx.server, TEAM), false, 'nor the team id');

    const base = { id: 'apple2', display_name: 'Apple 2', preset: 'apple', client_id: CLIENT };
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    const bad = [
      [{ ...base }, /required/],
      [{ ...base, apple_team_id: TEAM, apple_key_id: KID }, /go together/],
      [{ ...base, apple_team_id: 'team', apple_key_id: KID, apple_private_key: pem(ctx.appleKey) }, /10 of A-Z/],
      [{ ...base, apple_team_id: TEAM, apple_key_id: KID, apple_private_key: 'not a key' }, /PEM/],
      [{ ...base, apple_team_id: TEAM, apple_key_id: KID, apple_private_key: rsa }, /P-256/],
      [{ ...base, client_secret: 'plain', apple_team_id: TEAM, apple_key_id: KID, apple_private_key: pem(ctx.appleKey) }, /made from/],
      [{ id: 'g', display_name: 'G', preset: 'google', client_id: 'c', apple_team_id: TEAM }, /apple preset only/],
    ];
    for (const [body, why] of bad) {
      const r = await admin('POST', '', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.json.error_description, why);
    }
  });
});

describe('sign in with apple: form_post and a JWT client secret', () => {
  test("first sign-in: form_post to the callback, a fresh ES256 client secret, the name from Apple's user field", async () => {
    const login = `ap-${randomHex(4)}`;
    const email = `${login}@privaterelay.test`;
    ctx.up.accounts.set(login, { email, email_verified: 'true', is_private_email: 'true' });
    apple.nextUser = { name: { firstName: 'Grace', lastName: 'Hopper' }, email };
    const before = apple.secrets.length;
    const agent = new Agent(ctx.server);
    const out = await signIn(agent, login);
    assert.equal(out.url.pathname, '/account', out.text);
    assert.equal(apple.authorizeModes.at(-1), 'form_post');
    assert.equal(apple.secrets.length, before + 1, `the upstream accepted the client secret (${apple.rejected.join('; ')})`);
    assert.equal((await agent.api('GET', '/api/v1/session')).json.authenticated, true);
    const rows = sql(ctx.server, `SELECT id, email_verified, given_name, family_name, display_name FROM users WHERE email = '${email}'`);
    assert.equal(rows.length, 1);
    assert.equal(Number(rows[0].email_verified), 1, "Apple's \"true\" string counts");
    assert.deepEqual([rows[0].given_name, rows[0].family_name, rows[0].display_name], ['Grace', 'Hopper', 'Grace Hopper']);
    assert.deepEqual(sql(ctx.server, `SELECT provider_id, subject FROM fed_identities WHERE user_id = '${rows[0].id}'`), [{ provider_id: 'apple', subject: login }]);

    // the next sign-in has no user field and goes to the same account, with
    // a new client secret made for it
    const again = new Agent(ctx.server);
    assert.equal((await signIn(again, login)).url.pathname, '/account');
    assert.equal((await again.api('GET', '/api/v1/session')).json.authenticated, true);
    assert.equal(apple.secrets.length, before + 2);
    assert.notEqual(apple.secrets.at(-1), apple.secrets.at(-2), 'a fresh secret per token request');
    assert.equal(sql(ctx.server, `SELECT count(*) AS n FROM users WHERE email = '${email}'`)[0].n, 1);
  });

  test('the callback takes the code only by POST, once, in the browser that started the sign-in', async () => {
    const login = `ap2-${randomHex(4)}`;
    ctx.up.accounts.set(login, { email: `${login}@privaterelay.test`, email_verified: 'true' });
    const agent = new Agent(ctx.server);
    // stop at the form_post page: the fields the upstream would POST
    const stopped = await signIn(agent, login, { until: (u, fields) => Boolean(fields) });
    assert.ok(stopped.fields?.get('code') && stopped.fields.get('state'), stopped.text);
    const cb = `${ctx.server.url}/federation/apple/callback`;
    const body = stopped.fields.toString();
    const post = (a) => a.fetch(cb, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    // the same fields in a URL are refused: a form_post flow ends by POST only
    const asGet = await agent.fetch(`${cb}?${body}`);
    assert.equal(asGet.status, 400);
    assert.match(await asGet.text(), /expired or was already used/);
    const other = await post(new Agent(ctx.server));
    assert.equal(other.status, 400, 'another browser (no flow cookie) finds nothing');
    const copy = new Map(agent.jar('gatehouse'));
    const ok = await post(agent);
    assert.equal(ok.status, 302, await ok.text());
    assert.equal(new URL(ok.headers.get('location'), ctx.server.url).pathname, '/account');
    assert.ok(ok.headers.getSetCookie().some((c) => /^gh_fedflow=;.*Max-Age=0/.test(c)), 'the flow cookie is deleted');
    // a replay with a COPY of the old flow cookie: the state was spent
    const replayer = new Agent(ctx.server);
    replayer.jars.set('gatehouse', copy);
    const replay = await post(replayer);
    assert.equal(replay.status, 400);
    assert.match(await replay.text(), /expired or was already used/);
  });

  test('the flow cookie is made for a cross-site POST: SameSite=None, Secure, HttpOnly, short-lived', async () => {
    const res = await fetch(`${ctx.server.url}/federation/apple/start`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('gh_fedflow='));
    assert.ok(cookie, res.headers.getSetCookie().join(' | '));
    assert.match(cookie, /; HttpOnly/);
    assert.match(cookie, /; Secure/);
    assert.match(cookie, /; SameSite=None/);
    assert.match(cookie, /; Max-Age=600/);
    assert.match(res.headers.get('location'), /[?&]response_mode=form_post(&|$)/);
  });

  test('a client secret signed by another key is refused by the upstream: a failure page, nobody signed in', async () => {
    const wrong = p256();
    const upd = await admin('PATCH', '/apple', { apple_team_id: TEAM, apple_key_id: KID, apple_private_key: pem(wrong) });
    assert.equal(upd.status, 200, upd.text);
    const login = `ap3-${randomHex(4)}`;
    ctx.up.accounts.set(login, { email: `${login}@privaterelay.test`, email_verified: 'true' });
    const rejected = apple.rejected.length;
    const agent = new Agent(ctx.server);
    const out = await signIn(agent, login);
    assert.equal(out.res.status, 502, out.text);
    assert.match(out.text, /Apple gave an answer that could not be used/);
    assert.equal(apple.rejected.length, rejected + 1);
    assert.equal((await agent.api('GET', '/api/v1/session')).json.authenticated, false);
    const back = await admin('PATCH', '/apple', { apple_team_id: TEAM, apple_key_id: KID, apple_private_key: pem(ctx.appleKey) });
    assert.equal(back.status, 200, back.text);
  });
});

describe('changing the preset', () => {
  test("a provider moved from apple to another preset keeps no secret: Apple's key is never sent as a shared secret", async () => {
    const made = await admin('POST', '', {
      id: 'apple-move', display_name: 'Apple move', preset: 'apple', issuer: ctx.up.issuer, client_id: CLIENT,
      apple_team_id: TEAM, apple_key_id: KID, apple_private_key: pem(ctx.appleKey),
    });
    assert.equal(made.status, 201, made.text);
    const moved = await admin('PUT', '/apple-move', { display_name: 'Moved', preset: 'oidc', issuer: ctx.up.issuer, client_id: CLIENT });
    assert.equal(moved.status, 200, moved.text);
    assert.equal(moved.json.has_client_secret, false);
    assert.equal((await admin('DELETE', '/apple-move')).status, 204);
  });
});

describe("apple's user field outside the bounds (issue 22's review: bounded JSON parsing)", () => {
  // The field comes from a cross-site POST: too deep or too large, it gives
  // no names, and the sign-in goes on as if there were none.
  const fields = {
    'nested too deep': (email) => ({ name: { firstName: 'Eve', lastName: 'Deep', extra: { a: [1] } }, email }),
    'larger than 4 KiB': (email) => ({ name: { firstName: 'Eve', lastName: 'Large' }, email, pad: 'a'.repeat(5000) }),
  };
  for (const [what, field] of Object.entries(fields)) {
    test(`a user field ${what}: signed in, no names taken from it`, async () => {
      const login = `ap4-${randomHex(4)}`;
      const email = `${login}@privaterelay.test`;
      ctx.up.accounts.set(login, { email, email_verified: 'true' });
      apple.nextUser = field(email);
      const agent = new Agent(ctx.server);
      const out = await signIn(agent, login);
      assert.equal(out.url.pathname, '/account', out.text);
      assert.equal(apple.nextUser, null, 'the upstream sent the field');
      assert.equal((await agent.api('GET', '/api/v1/session')).json.authenticated, true);
      const rows = sql(ctx.server, `SELECT given_name, family_name, display_name FROM users WHERE email = '${email}'`);
      assert.equal(rows.length, 1);
      assert.deepEqual([rows[0].given_name, rows[0].family_name, rows[0].display_name], [null, null, null]);
    });
  }
});
