// Rate limits on by default, victim-safe, and sign-up abuse (issue 22 items
// 5 and 6; docs/rate-limits.md; SECURITY.md #11, #12).
//
// Requests leave from chosen loopback addresses (lib/from.mjs), so "many
// addresses" needs no proxy.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  startServer, stopAll, scim, sql, userBody, randomHex, runGatehouse, freePort, makeTempDir, sleep,
  BACKEND,
} from './lib/server.mjs';
import { BrowserFrom } from './lib/from.mjs';
import { addPasskey } from './lib/factors.mjs';
import { SoftAuthenticator } from './lib/webauthn.mjs';

after(stopAll);

const strong = () => `Harbour-${randomHex(6)}-Lantern`;

const Source = BrowserFrom;

/** Asserts r is the rate limit's refusal of the JSON APIs. */
function assertRateLimited(r) {
  assert.equal(r.status, 429, r.text);
  assert.match(r.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
  assert.equal(r.json.error, 'rate_limited');
  assert.match(r.json.error_description, /Try again in \d+ seconds?\./);
}

async function account(server) {
  const email = `rl-${randomHex(4)}@example.com`;
  const password = strong();
  const r = await scim(server, 'POST', '/Users', userBody(email, { password }));
  assert.equal(r.status, 201, r.text);
  return { email, password, id: r.body.id };
}

/** n accounts with passwords, made through SCIM a few at a time (each
 * write hashes a password; more at once only queue for the workers). */
async function accounts(server, n) {
  const made = [];
  while (made.length < n) {
    const batch = Math.min(4, n - made.length);
    made.push(...await Promise.all(Array.from({ length: batch }, () => account(server))));
  }
  return made;
}

/** The owner's password in browser b, then the passkey as the second
 * factor: an authenticated session at the end. */
async function passwordAndPasskey(b, owner, auth) {
  const r = await b.post('/api/v1/signin', { email: owner.email, password: owner.password });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'mfa_required');
  const o = await b.post('/api/v1/signin/mfa/passkey/options', {});
  assert.equal(o.status, 200, o.text);
  const m = await b.post('/api/v1/signin/mfa', { passkey: auth.get(o.json.publicKey) });
  assert.equal(m.status, 200, m.text);
  assert.equal(m.json.status, 'signed_in');
  assert.equal((await b.session()).authenticated, true);
}

/** The owner's passkey alone (username-less) in a new browser at address. */
async function passkeyFrom(server, auth, address) {
  const b = new Source(server, address);
  const o = await b.post('/api/v1/signin/passkey/options', {});
  assert.equal(o.status, 200, o.text);
  const pk = await b.post('/api/v1/signin/passkey', { credential: auth.get(o.json.publicKey) });
  assert.equal(pk.status, 200, pk.text);
  assert.equal((await b.session()).authenticated, true);
}

describe('rate limits with the default settings (SECURITY.md #11, #12)', () => {
  let server;
  let owner;
  let home; // the owner's browser, known to the account
  let auth; // the owner's passkey

  before(async () => {
    // Cheaper argon2id (as http.proxy.test.mjs): the limits and the throttle
    // count requests and failures, not hashing time, and 50 accounts are made.
    server = await startServer({ env: { GATEHOUSE_ARGON2_MEMORY_KIB: '8192', GATEHOUSE_ARGON2_ITERATIONS: '1' } });
    owner = await account(server);
    home = new Source(server, '127.0.30.1');
    const first = await home.post('/api/v1/signin', { email: owner.email, password: owner.password });
    assert.equal(first.status, 200, first.text);
    auth = new SoftAuthenticator({ origin: new URL(server.issuer).origin });
    const added = await addPasskey(home, auth, { name: 'Phone' });
    assert.equal(added.r.status, 200, added.r.text);
    await home.post('/api/v1/signout', {});
  });
  after(async () => { await server?.stop(); });

  test('SECURITY.md #11, #12: credential stuffing, 50 accounts (the owner among them) with wrong passwords from one address: throttled and refused with their reasons within 30 tries, while the owner signs in on a known device with the second factor and with a passkey from a new address', async () => {
    const made = Date.now();
    const victims = await accounts(server, 49);
    assert.ok(Date.now() - made < 60_000, `the 49 accounts took ${Date.now() - made} ms`);
    // the owner 11th: before the address's throttle (from the 20th failure)
    // and the rate limit, so the owner's password is really tried
    const targets = [...victims.slice(0, 10), owner, ...victims.slice(10)];
    const attacker = new Source(server, '127.0.31.1');
    const started = Date.now();
    const answers = [];
    for (const u of targets) answers.push(await attacker.post('/api/v1/signin', { email: u.email, password: 'Summer2024!' }));
    assert.ok(Date.now() - started < 60_000, 'the run is bounded in time');

    // Each answer says why: a wrong password (401), the address's throttle
    // (429 too_many_requests, docs/accounts-api.md "Throttling") or the
    // rate limit (429 rate_limited, docs/rate-limits.md).
    const wrong = answers.filter((r) => r.status === 401);
    const throttled = answers.filter((r) => r.json?.error === 'too_many_requests');
    const limited = answers.filter((r) => r.json?.error === 'rate_limited');
    assert.equal(wrong.length + throttled.length + limited.length, 50, answers.map((r) => r.status).join());
    for (const r of wrong) assert.equal(r.json.error, 'invalid_credentials');
    for (const r of throttled) {
      assert.equal(r.status, 429, r.text);
      assert.match(r.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    }
    assert.ok(wrong.length <= 30, `${wrong.length} passwords were checked; the address's bucket holds 30`);
    assert.ok(limited.length >= 15, `${limited.length} rate_limited answers`);
    for (const r of limited) assertRateLimited(r);
    assert.equal(answers[10].status, 401, 'the owner\'s password was tried');

    // The audit trail names the account and the reason of every attempt
    // that was handled; a rate-limited one was not (nothing written, only
    // counted in /metrics below).
    const audited = new Map(sql(server, "SELECT subject, reason FROM audit_events WHERE type = 'signin.failed' AND ip = '127.0.31.1'")
      .map((e) => [e.subject, e.reason]));
    assert.equal(audited.size, wrong.length + throttled.length);
    const reasonOf = (r) => {
      if (r.status === 401) return 'wrong password';
      return r.json.error === 'too_many_requests' ? 'throttled' : undefined;
    };
    targets.forEach((u, i) => assert.equal(audited.get(u.id), reasonOf(answers[i]), `attempt ${i} (${answers[i].status})`));

    // each rate-limit refusal is counted for the operator (docs/metrics.md)
    const metrics = await fetch(`${server.issuer}/metrics`, { headers: { authorization: `Bearer ${server.token}` } });
    const line = (await metrics.text()).split('\n').find((l) => l.startsWith('gatehouse_rate_limited_total{') && l.includes('class="signin"'));
    assert.ok(line && Number(line.split(' ').pop()) >= limited.length, `refusals in /metrics: ${line}`);

    // The owner, on the device the account knows: password and passkey
    // through to a session; the decision saw the attack on the account and
    // allowed it.
    await passwordAndPasskey(home, owner, auth);
    const risk = await fetch(`${server.url}/admin/v1/users/${owner.id}/risk`, { headers: { authorization: `Bearer ${server.token}` } });
    const d = (await risk.json()).decisions.find((x) => x.journey === 'signin');
    assert.equal(d.signals.account_failures, 1);
    assert.equal(d.signals.new_device, 0);
    assert.equal(d.outcome, 'allow');
    await home.post('/api/v1/signout', {});
    // and with the passkey alone from an address it never used
    await passkeyFrom(server, auth, '127.0.32.1');
  });

  test('SECURITY.md #11: many addresses on one account: the email\'s own limit holds (20 in 15 minutes), while its owner on a known device and with a passkey still signs in', async () => {
    const answers = [];
    for (let i = 0; i < 30; i++) {
      answers.push(await new Source(server, `127.0.${40 + (i % 3)}.${1 + i}`)
        .post('/api/v1/signin', { email: owner.email, password: `wrong-${i}-guess-xx` }));
    }
    const refused = answers.filter((r) => r.status === 429);
    assert.ok(answers.slice(0, 19).every((r) => r.status === 401), answers.map((r) => r.status).join());
    assert.ok(refused.length >= 9, `${refused.length} refused`);
    for (const r of refused) assertRateLimited(r);
    // A new address, a new browser: the email's bucket is empty.
    const stranger = await new Source(server, '127.0.50.1').post('/api/v1/signin', { email: owner.email, password: 'yet-another-guess' });
    assertRateLimited(stranger);

    // The owner's browser, known to the account: its password is checked at
    // once, and the passkey as the second factor finishes the sign-in.
    await passwordAndPasskey(home, owner, auth);
    // A copy of the device cookie with a wrong password is not let through
    // to guess: it is judged by the account's own device curve (401 then 429
    // from the throttle), never rate_limited by the attack.
    const thief = new Source(server, '127.0.51.1');
    thief.jar.set('gh_device', home.jar.get('gh_device'));
    const guess = await thief.post('/api/v1/signin', { email: owner.email, password: 'copied-cookie-guess' });
    assert.equal(guess.status, 401, guess.text);

    // The owner with a passkey, in a new browser on a new address.
    await passkeyFrom(server, auth, '127.0.52.1');
  });

  test('a burst of honest sign-ins from one address is not slowed: successes are given back', async () => {
    const b = new Source(server, '127.0.60.1');
    const user = await account(server);
    for (let i = 0; i < 40; i++) {
      const r = await b.post('/api/v1/signin', { email: user.email, password: user.password });
      assert.equal(r.status, 200, `sign-in ${i}: ${r.text}`);
    }
  });
});

describe('rate limits: the token endpoint per OAuth client', () => {
  let server;
  let client;

  before(async () => {
    server = await startServer({ env: { GATEHOUSE_RATE_LIMIT_CLIENT: '5' } });
    const api = await fetch(`${server.url}/admin/v1/resources`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ identifier: 'https://reports.example.com', name: 'Reports', scopes: { 'reports.read': 'Read reports' } }),
    });
    assert.equal(api.status, 201, await api.text());
    const reg = await fetch(`${server.url}/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'Batch', grant_types: ['client_credentials'], scope: 'reports.read', gatehouse_first_party: true }),
    });
    client = await reg.json();
    assert.equal(reg.status, 201, JSON.stringify(client));
  });
  after(async () => { await server?.stop(); });

  const token = (id, secret) => fetch(`${server.url}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials&scope=reports.read',
  });

  test('wrong secrets naming the client do not drain it; its 6th token in a minute gets 429 slow_down with Retry-After (OAuth error shape)', async () => {
    for (let i = 0; i < 8; i++) {
      const r = await token(client.client_id, `wrong-${i}`);
      assert.equal(r.status, 401, await r.text());
    }
    for (let i = 0; i < 5; i++) {
      const r = await token(client.client_id, client.client_secret);
      assert.equal(r.status, 200, await r.text());
    }
    const r = await token(client.client_id, client.client_secret);
    assert.equal(r.status, 429);
    assert.match(r.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    const body = await r.json();
    assert.equal(body.error, 'slow_down');
    assert.equal(typeof body.error_description, 'string');
  });
});

describe('sign-up abuse: velocity per address and network, disposable domains', () => {
  let server;
  let listFile;

  before(async () => {
    const dir = await makeTempDir();
    listFile = path.join(dir, 'disposable.txt');
    fs.writeFileSync(listFile, '# throwaway mail\nmailinator.com\n  Trash-Mail.example   # a comment\n\n');
    server = await startServer({
      env: { GATEHOUSE_DISPOSABLE_DOMAINS_FILE: listFile, GATEHOUSE_RATE_LIMIT_SIGNUP: '3' },
    });
  });
  after(async () => { await server?.stop(); });

  test('SECURITY.md #14: a disposable domain (and its subdomains, any case) is refused with the invalid-address answer, the same for an address that has an account', async () => {
    const taken = `taken-${randomHex(3)}@mailinator.com`;
    const made = await scim(server, 'POST', '/Users', userBody(taken, { password: strong() }));
    assert.equal(made.status, 201, made.text);
    const answers = [];
    for (const [i, email] of [taken, `new-${randomHex(3)}@mailinator.com`, `x@Sub.TRASH-mail.example`].entries()) {
      const b = new Source(server, `127.0.70.${i + 1}`);
      answers.push(await b.post('/api/v1/signup', { email, password: strong() }));
    }
    for (const r of answers) {
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error, 'invalid_email');
    }
    assert.equal(answers[0].text, answers[1].text, 'an existing account is not revealed');
    const fine = await new Source(server, '127.0.70.9').post('/api/v1/signup', { email: `ok-${randomHex(3)}@example.com`, password: strong() });
    assert.equal(fine.status, 200, fine.text);
  });

  test('sign-ups per address (3 an hour here) and per network (4 times that) are limited with 429 and Retry-After', async () => {
    const one = new Source(server, '127.0.80.1');
    for (let i = 0; i < 3; i++) {
      const r = await one.post('/api/v1/signup', { email: `velo-${i}-${randomHex(3)}@example.com`, password: strong() });
      assert.equal(r.status, 200, r.text);
    }
    const fourth = await one.post('/api/v1/signup', { email: `velo-x-${randomHex(3)}@example.com`, password: strong() });
    assertRateLimited(fourth);
    assert.ok(Number(fourth.headers.get('retry-after')) > 60, 'an hourly limit waits minutes');
    // other addresses of the /24 share its network bucket of 12
    let ok = 3;
    let refused = null;
    for (let i = 2; i < 20 && !refused; i++) {
      const r = await new Source(server, `127.0.80.${i}`).post('/api/v1/signup', { email: `net-${i}-${randomHex(3)}@example.com`, password: strong() });
      if (r.status === 200) ok++;
      else refused = r;
    }
    assert.equal(ok, 12);
    assertRateLimited(refused);
    const elsewhere = await new Source(server, '127.0.81.1').post('/api/v1/signup', { email: `far-${randomHex(3)}@example.com`, password: strong() });
    assert.equal(elsewhere.status, 200, elsewhere.text);
  });

  test('a bad line in the disposable-domain file stops the start and names the line', async () => {
    const dir = await makeTempDir();
    const bad = path.join(dir, 'bad.txt');
    fs.writeFileSync(bad, 'mailinator.com\n# fine\nnot a domain\n');
    const data = await makeTempDir();
    const r = await runGatehouse(['serve'], {
      env: {
        GATEHOUSE_LISTEN: `127.0.0.1:${await freePort()}`, GATEHOUSE_DATA_DIR: data,
        GATEHOUSE_DATABASE: path.join(data, 'db.sqlite'), GATEHOUSE_MASTER_KEY: randomHex(32),
        GATEHOUSE_DISPOSABLE_DOMAINS_FILE: bad,
      },
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /bad\.txt line 3: not a domain name/);
  });
});

describe('rate limits shared by two instances on one PostgreSQL database', { skip: BACKEND !== 'postgres' && 'PostgreSQL only: set GATEHOUSE_TEST_DATABASE_URL' }, () => {
  let a;
  let b;

  before(async () => {
    a = await startServer({ env: { GATEHOUSE_RATE_LIMIT_IDENTIFIER: '10' } });
    b = await startServer({
      token: a.token, masterKey: a.masterKey,
      env: { GATEHOUSE_DATABASE: a.dbPath, GATEHOUSE_RATE_LIMIT_IDENTIFIER: '10' },
    });
  });
  after(async () => { await a?.stop(); await b?.stop(); });

  test('an email\'s tokens taken on one instance are taken on the other within a second or two, with one row per key and minute, not one per request', async () => {
    const user = await account(a);
    const tries = [];
    for (let i = 0; i < 10; i++) {
      tries.push(await new Source(a, `127.0.90.${i + 1}`).post('/api/v1/signin', { email: user.email, password: `guess-${i}-wrong` }));
    }
    assert.deepEqual([...new Set(tries.map((r) => r.status))], [401]);
    assertRateLimited(await new Source(a, '127.0.90.50').post('/api/v1/signin', { email: user.email, password: 'one-more-guess' }));
    await sleep(1500); // a's turn: its 10 tokens reach the table
    // b has not seen the email yet: its first request is let through (the
    // slack of one turn) and takes its share of the others' tokens at its
    // next turn.
    const first = await new Source(b, '127.0.91.1').post('/api/v1/signin', { email: user.email, password: 'guess-on-b' });
    assert.equal(first.status, 401, first.text);
    await sleep(1500);
    assertRateLimited(await new Source(b, '127.0.91.2').post('/api/v1/signin', { email: user.email, password: 'guess-on-b-2' }));
    const rows = sql(a, 'SELECT count(*) AS n, sum(count) AS tokens FROM ratelimit_counts');
    assert.ok(Number(rows[0].n) < 40, `${rows[0].n} rows for about 60 requests`);
    assert.ok(Number(rows[0].tokens) >= 11);
  });
});
