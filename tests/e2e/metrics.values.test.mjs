// The values behind /metrics (docs/metrics.md): each journey is driven
// through the real API and the scrape before and after it must differ by
// exactly what the journey did, so a counter that stops counting turns this
// red. metrics.test.mjs checks the format with a real Prometheus; this file
// checks the series it did not see move: the abandoned sign-ups, step-ups
// passed, recoveries completed and cancelled, the hash-queue and pool
// waits, and the client and keys caches.
//
// Journey metrics are security signals (SECURITY.md #47, ASVS 16.3.1-16.3.3:
// authentication events recorded with their outcome; docs/metrics.md);
// recovery (#30, #32) and step-up (#22) are the journeys whose counts an
// operator watches for takeovers and friction.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, randomHex, sql, sqlExec, sleep } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, codeFrom, sentTo } from './lib/mail.mjs';
import { Browser, newUser, signedIn } from './lib/browser.mjs';
import { enrolTotp, codeAt, currentStep, awayFromStepEdge } from './lib/factors.mjs';
import { registerClient, tokenRequest, basic, REDIRECT } from './lib/oidc.mjs';
import { createTenant, tenantView } from './lib/tenants.mjs';

/* ---- the text format (Prometheus 0.0.4), read strictly ---- */

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

/** A sample value: a float, or +Inf, -Inf, NaN. */
function sampleValue(text, line) {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  assert.match(text, /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/, `value in: ${line}`);
  return Number(text);
}

/** The labels between { and } (escapes \\, \" and \n), from position i;
 * returns [labels, the position after }]. */
function readLabels(line, i) {
  const labels = {};
  i += 1; // past {
  while (line[i] !== '}') {
    const name = NAME.exec(line.slice(i));
    assert.ok(name, `label name in: ${line}`);
    i += name[0].length;
    assert.equal(line.slice(i, i + 2), '="', `label ${name[0]} in: ${line}`);
    i += 2;
    let v = '';
    for (; line[i] !== '"'; i++) {
      assert.ok(i < line.length, `unterminated label value in: ${line}`);
      if (line[i] === '\\') {
        i += 1;
        v += { n: '\n', '\\': '\\', '"': '"' }[line[i]] ?? assert.fail(`escape \\${line[i]} in: ${line}`);
      } else {
        v += line[i];
      }
    }
    assert.ok(!(name[0] in labels), `label ${name[0]} twice in: ${line}`);
    labels[name[0]] = v;
    i += 1; // past the closing quote
    if (line[i] === ',') i += 1;
  }
  return [labels, i + 1];
}

/** Every sample of a scrape: {name, labels, value}. */
function parseMetrics(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = NAME.exec(line);
    assert.ok(name, `sample name in: ${line}`);
    let labels = {};
    let i = name[0].length;
    if (line[i] === '{') [labels, i] = readLabels(line, i);
    const rest = line.slice(i).trim().split(/\s+/); // value, then an optional timestamp
    assert.ok(rest.length === 1 || rest.length === 2, `value in: ${line}`);
    samples.push({ name: name[0], labels, value: sampleValue(rest[0], line) });
  }
  return samples;
}

/**
 * The sum over the samples named `name` whose labels include `want`;
 * labels not named are summed over, except `tenant`: a journey series
 * with a tenant label is read for tenant="default" unless want names
 * another. Fails when no sample matches (a missing series is no zero).
 */
function valueOf(samples, name, want = {}) {
  const hits = samples.filter((s) => s.name === name
    && Object.entries(want).every(([k, v]) => s.labels[k] === v)
    && (want.tenant !== undefined || s.labels.tenant === undefined || s.labels.tenant === 'default'));
  assert.ok(hits.length > 0, `no series ${name}${JSON.stringify(want)} in the scrape`);
  return hits.reduce((sum, s) => sum + s.value, 0);
}

/* ---- the server ---- */

const ctx = {};

async function scrape() {
  const res = await fetch(`${ctx.server.url}/metrics`, { headers: { authorization: `Bearer ${ctx.server.token}` } });
  assert.equal(res.status, 200);
  return parseMetrics(await res.text());
}

/** A series as a readable key: its name and the labels asked for. */
const key = (name, labels = {}) => `${name}${JSON.stringify(labels)}`;

/** The change of each [name, labels] between two scrapes, by key(). */
function deltas(before, after_, series) {
  const out = {};
  for (const [name, want = {}] of series) out[key(name, want)] = valueOf(after_, name, want) - valueOf(before, name, want);
  return out;
}
const newPassword = () => `Harbour-${randomHex(6)}-Willow-${randomHex(3)}`;

before(async () => {
  ctx.mail = await startMailSink();
  ctx.server = await startServer({
    env: {
      GATEHOUSE_SMTP_URL: ctx.mail.url,
      // the janitor's abandoned sign-ups: the shortest TTL it takes, run every second
      GATEHOUSE_UNVERIFIED_ACCOUNT_TTL: '60',
      GATEHOUSE_PRUNE_INTERVAL: '1',
    },
  });
});
after(async () => {
  await stopAll();
  await stopAllMailSinks();
});

/** The first mail to email with subject after index since. */
function mailAfter(since, email, subject) {
  return ctx.mail.waitFor((m) => ctx.mail.messages.indexOf(m) >= since && sentTo(email)(m) && m.subject === subject, 10_000);
}

/** Asks for a password reset in a new browser and proves the emailed code. */
async function proveEmail(email) {
  const b = new Browser(ctx.server);
  const since = ctx.mail.messages.length;
  const r = await b.post('/api/v1/recovery', { email });
  assert.equal(r.status, 200, r.text);
  const msg = await mailAfter(since, email, 'Reset your password');
  const v = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code: codeFrom(msg) });
  assert.equal(v.status, 200, v.text);
  return { b, v };
}

/** How far gatehouse_recoveries_total moved by stage since the scrape before_. */
async function recoveryDeltas(before_) {
  const now = await scrape();
  const stages = ['started', 'completed', 'cancelled'];
  return Object.fromEntries(stages.map((stage) => [stage,
    valueOf(now, 'gatehouse_recoveries_total', { stage }) - valueOf(before_, 'gatehouse_recoveries_total', { stage })]));
}

describe('metrics values: each journey moves its series by what it did', () => {
  test('operator waits: a sign-up and a sign-in wait for a hashing worker once each (exactly), and take a pool connection at least once a request', async () => {
    const before_ = await scrape();
    const b = new Browser(ctx.server);
    const email = `waits-${randomHex(4)}@example.com`;
    const password = newPassword();
    const r = await b.post('/api/v1/signup', { email, password }); // worker pool: hashes
    assert.equal(r.status, 200, r.text);
    const msg = await ctx.mail.waitFor(sentTo(email), 10_000);
    const v = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code: codeFrom(msg) }); // no hash
    assert.equal(v.status, 200, v.text);
    const s = await new Browser(ctx.server).post('/api/v1/signin', { email, password }); // worker pool: hashes
    assert.equal(s.status, 200, s.text);
    const got = deltas(before_, await scrape(), [
      ['gatehouse_password_hash_queue_wait_seconds_count'],
      ['gatehouse_db_pool_wait_seconds_count'],
    ]);
    // Only the two password routes run on the worker pool, and nothing else
    // in this file runs meanwhile: exactly two waits.
    assert.equal(got[key('gatehouse_password_hash_queue_wait_seconds_count')], 2, JSON.stringify(got));
    // Sign-up, verify and sign-in each read and write the store through one
    // connection of their own; the mail sender and the janitor take more.
    assert.ok(got[key('gatehouse_db_pool_wait_seconds_count')] >= 3, JSON.stringify(got));
  });

  test('abandoned sign-ups: the janitor removes the two unverified past GATEHOUSE_UNVERIFIED_ACCOUNT_TTL and counts two; a young one stays and is not counted; one in another tenant counts under that tenant', async () => {
    const emails = ['old1', 'old2', 'young'].map((t) => `abandon-${t}-${randomHex(4)}@example.com`);
    for (const email of emails) {
      const r = await new Browser(ctx.server).post('/api/v1/signup', { email, password: newPassword() });
      assert.equal(r.status, 200, r.text);
    }
    const tenant = `ab-${randomHex(3)}`;
    await createTenant(ctx.server, tenant);
    const theirs = `abandon-t-${randomHex(4)}@example.com`;
    const t = await new Browser(tenantView(ctx.server, tenant)).post('/api/v1/signup', { email: theirs, password: newPassword() });
    assert.equal(t.status, 200, t.text);
    const before_ = await scrape();
    // the tenant's series may not be written before its first count
    const theirsNow = (samples) => samples.filter((x) => x.name === 'gatehouse_signups_total'
      && x.labels.stage === 'abandoned' && x.labels.tenant === tenant).reduce((sum, x) => sum + x.value, 0);
    // older than the TTL (60 s) without waiting a minute: the janitor's rule is what runs
    sqlExec(ctx.server, `UPDATE users SET created_at = created_at - 61000 WHERE email IN ('${emails[0]}', '${emails[1]}', '${theirs}')`);
    // the janitor counts on its own thread, once a second: scrape until it has
    const abandoned = ['gatehouse_signups_total', { stage: 'abandoned' }];
    let got;
    let gotTheirs;
    for (const until = Date.now() + 10_000; ;) {
      const now = await scrape();
      got = deltas(before_, now, [abandoned])[key(...abandoned)];
      gotTheirs = theirsNow(now) - theirsNow(before_);
      if ((got >= 2 && gotTheirs >= 1) || Date.now() > until) break;
      await sleep(200);
    }
    assert.equal(got, 2, 'the default tenant counts its own two');
    assert.equal(gotTheirs, 1, `tenant ${tenant} counts its one`);
    const left = sql(ctx.server, `SELECT email FROM users WHERE email IN ('${emails.join("', '")}', '${theirs}')`).map((u) => u.email);
    assert.deepEqual(left, [emails[2]], 'the three old ones removed, the young one kept');
  });

  test('step-up: an AAL1 session asked for aal2 by /authorize passes with an app code; asked, passed and the totp pass each count once (SECURITY.md #22)', async () => {
    const user = await newUser(ctx.server, 'mstepup');
    const b = await signedIn(ctx.server, user); // password only: aal1
    const { secret } = await enrolTotp(b);
    const reg = await registerClient(ctx.server, { client_name: 'Step-up values' });
    const q = new URLSearchParams({
      client_id: reg.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid',
      state: randomHex(8), code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256', acr_values: 'urn:gatehouse:aal2',
    });
    const before_ = await scrape();
    const az = await b.raw('GET', `/authorize?${q}`);
    assert.equal(az.status, 302, az.text);
    assert.match(az.headers.get('location'), /^\/signin\/mfa\?/);
    await awayFromStepEdge();
    const m = await b.post('/api/v1/signin/mfa', { code: codeAt(secret, currentStep()) });
    assert.equal(m.status, 200, m.text);
    assert.equal(m.json.acr, 'urn:gatehouse:aal2');
    const got = deltas(before_, await scrape(), [
      ['gatehouse_stepups_total', { stage: 'asked' }],
      ['gatehouse_stepups_total', { stage: 'passed' }],
      ['gatehouse_stepups_total', { stage: 'failed' }],
      ['gatehouse_second_factor_total', { stage: 'passed', method: 'totp' }],
    ]);
    assert.deepEqual(Object.values(got), [1, 1, 0, 1], JSON.stringify(got));
  });

  test('recovery completed: a password reset with the emailed code counts started and completed once each (SECURITY.md #30, #32)', async () => {
    const user = await newUser(ctx.server, 'mreset');
    const before_ = await scrape();
    const { b, v } = await proveEmail(user.email);
    assert.equal(v.json.status, 'recovery_password', v.text);
    const done = await b.post('/api/v1/recovery/password', { password: newPassword() });
    assert.equal(done.status, 200, done.text);
    assert.deepEqual(await recoveryDeltas(before_), { started: 1, completed: 1, cancelled: 0 });
  });

  test('recovery cancelled: the owner signing in (password and app) during a waiting period cancels it, counted once (SECURITY.md #32)', async () => {
    const user = await newUser(ctx.server, 'mwait');
    const { secret } = await enrolTotp(await signedIn(ctx.server, user));
    const before_ = await scrape();
    const { b, v } = await proveEmail(user.email);
    assert.equal(v.json.status, 'recovery_factor_required', v.text);
    const w = await b.post('/api/v1/recovery/wait', {});
    assert.equal(w.status, 200, w.text);
    assert.equal(w.json.status, 'recovery_waiting');

    const owner = new Browser(ctx.server);
    const p = await owner.post('/api/v1/signin', { email: user.email, password: user.password });
    assert.equal(p.json.status, 'mfa_required', p.text);
    await awayFromStepEdge();
    const m = await owner.post('/api/v1/signin/mfa', { code: codeAt(secret, currentStep()) });
    assert.equal(m.status, 200, m.text);
    const state = sql(ctx.server, `SELECT state FROM recovery_waits WHERE user_id = '${user.id}'`);
    assert.deepEqual(state.map((s) => s.state), ['cancelled']);
    assert.deepEqual(await recoveryDeltas(before_), { started: 1, completed: 0, cancelled: 1 });
  });

  test('caches: a client\'s first token request misses the client cache and the next two hit it; its access token introspected twice misses then hits the keys cache', async () => {
    const svc = await registerClient(ctx.server, { client_name: 'Cache values', grant_types: ['client_credentials'] });
    const cc = async () => {
      const res = await tokenRequest(ctx.server, svc, { grant_type: 'client_credentials' });
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      return body.access_token;
    };
    const s0 = await scrape();
    // The client cache keeps a client one second (CLIENT_CACHE_MS in
    // src/core/gh_clients.c): three requests in a row fall well within it.
    const token = await cc();
    await cc();
    await cc();
    const s1 = await scrape();
    const clientCache = deltas(s0, s1, [
      ['gatehouse_client_cache_lookups_total', { result: 'miss' }],
      ['gatehouse_client_cache_lookups_total', { result: 'hit' }],
    ]);
    assert.deepEqual(Object.values(clientCache), [1, 2], JSON.stringify(clientCache));

    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${ctx.server.url}/introspect`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(svc) },
        body: new URLSearchParams({ token }).toString(),
      });
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.active, true, `introspection ${i + 1}: the cached answer is still the token's`);
    }
    const keysCache = deltas(s1, await scrape(), [
      ['gatehouse_keys_cache_lookups_total', { result: 'miss' }],
      ['gatehouse_keys_cache_lookups_total', { result: 'hit' }],
    ]);
    assert.deepEqual(Object.values(keysCache), [1, 1], JSON.stringify(keysCache));
  });
});
