// Tenant policies (docs/tenants.md, issue 21 part 1): session lifetimes per
// assurance level and the level each journey needs, on SQLite and
// PostgreSQL. A dead session is always checked with a copy of its old cookie.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, request, randomHex, sleep } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, sentTo, codeFrom } from './lib/mail.mjs';
import { Browser, newUser, signedIn, copyOf } from './lib/browser.mjs';
import { registerClient, REDIRECT } from './lib/oidc.mjs';
import { enrolTotp, codeAt, currentStep } from './lib/factors.mjs';
import { tenantView, admin } from './lib/tenants.mjs';

const AAL1 = 'urn:gatehouse:aal1';
const AAL2 = 'urn:gatehouse:aal2';

after(async () => {
  await stopAll();
  await stopAllMailSinks();
});

const ctx = {};

/** A new tenant with policy; its view. */
async function tenantWith(server, tag, policy) {
  const id = `${tag}-${randomHex(3)}`;
  const r = await admin(server, 'POST', '/admin/v1/tenants', { id, display_name: `Tenant ${id}`, policy });
  assert.equal(r.status, 201, r.text);
  return { id, T: tenantView(server, id), body: r.body };
}

/** The session as GET /api/v1/session reports it for browser b (null: signed out). */
async function sessionOf(b) {
  const r = await b.raw('GET', '/api/v1/session');
  assert.equal(r.status, 200, r.text);
  return r.json.authenticated ? r.json.session : null;
}

/** A user with an authenticator app, and the secret (the enrolling browser stays AAL1). */
async function userWithApp(T, tag) {
  const user = await newUser(T, tag);
  const b = await signedIn(T, user);
  const totp = await enrolTotp(b);
  return { user, totp, enrolling: b };
}

/** Password, then the app's code of step currentStep() + offset: an AAL2 browser and its answers. */
async function signInAal2(T, user, secret, offset = 0) {
  const b = new Browser(T);
  const r = await b.post('/api/v1/signin', { email: user.email, password: user.password });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'mfa_required', r.text);
  const m = await b.post('/api/v1/signin/mfa', { code: codeAt(secret, currentStep() + offset) });
  assert.equal(m.status, 200, m.text);
  assert.equal(m.json.acr, AAL2);
  return { b, m };
}

function sessionCookie(res, name = 'gh_session') {
  const c = res.setCookies.find((x) => x.startsWith(`${name}=`) || x.startsWith(`${name}.`));
  assert.ok(c, `a ${name} cookie in ${res.setCookies}`);
  return c;
}

before(async () => {
  // GATEHOUSE_SESSION_IDLE=3: the server's idle time, which NIST's 30
  // minutes at AAL2 does not lengthen; a tenant gives its AAL1 sessions a
  // longer one of its own.
  ctx.mail = await startMailSink();
  ctx.server = await startServer({
    env: { GATEHOUSE_SESSION_IDLE: '3', GATEHOUSE_SMTP_URL: ctx.mail.url, GATEHOUSE_MAIL_IP_HOURLY_LIMIT: '1000' },
  });
});

describe('session lifetimes per assurance level (SECURITY.md #28)', () => {
  test('the defaults follow SECURITY.md\'s table: an AAL1 session lives 30 days, an AAL2 one 12 hours', async () => {
    // a tenant that sets only an idle time (the server's 3 s would end the
    // enrolment's session): the absolute lifetimes are the defaults
    const { T: s } = await tenantWith(ctx.server, 'deflt', { session_idle_seconds: 600 });
    const { user, totp } = await userWithApp(s, 'deflt');
    const plain = await newUser(s, 'deflt1');
    const one = await new Browser(s).post('/api/v1/signin', { email: plain.email, password: plain.password });
    assert.equal(one.status, 200, one.text);
    assert.match(sessionCookie(one), /Max-Age=2592000\b/);
    const { b, m } = await signInAal2(s, user, totp.secret);
    assert.match(sessionCookie(m), /Max-Age=43200\b/);
    const ses = await sessionOf(b);
    assert.equal(ses.acr, AAL2);
    // the session's end as reported: the nearer of its idle and absolute
    // ends, here the tenant's 600 s (below NIST's 30 minutes)
    const left = Date.parse(ses.expires_at) - Date.now();
    assert.ok(left <= 600_000 && left > 590_000, `an AAL2 session's end: ${left} ms`);
  });

  test('the policy takes "sessions" per level and gives them back; bad members are refused with their name', async () => {
    const s = ctx.server;
    const { id, body } = await tenantWith(s, 'lvl', { sessions: { aal2: { idle_seconds: 600, absolute_seconds: 3600 } } });
    assert.deepEqual(body.policy.sessions.aal2, { idle_seconds: 600, absolute_seconds: 3600 });
    assert.deepEqual(body.policy.sessions.aal1, { idle_seconds: null, absolute_seconds: null });
    for (const [bad, name] of [
      [{ sessions: { aal4: {} } }, 'sessions.aal4'],
      [{ sessions: { aal2: { idle_seconds: 10 } } }, 'sessions.aal2.idle_seconds'],
      [{ sessions: { aal3: { idle_seconds: 7200, absolute_seconds: 3600 } } }, 'sessions.aal3.idle_seconds'],
    ]) {
      const r = await admin(s, 'PATCH', `/admin/v1/tenants/${id}`, { policy: bad });
      assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.text}`);
      assert.ok(r.text.includes(name), `${JSON.stringify(bad)} names ${name}: ${r.text}`);
    }
    const got = await admin(s, 'GET', `/admin/v1/tenants/${id}`);
    assert.equal(got.body.policy.sessions.aal2.idle_seconds, 600, 'a refused change leaves the policy');
  });

  test('an AAL2 session ends after AAL2\'s idle time while an AAL1 session of the same tenant, with a longer idle time, goes on', async () => {
    const s = ctx.server;
    const { T } = await tenantWith(s, 'idle', { sessions: { aal1: { idle_seconds: 600 } } });
    const { user, totp } = await userWithApp(T, 'two');
    const { b: strong } = await signInAal2(T, user, totp.secret);
    const weak = await signedIn(T, await newUser(T, 'one'));
    assert.equal((await sessionOf(strong)).acr, AAL2);
    assert.equal((await sessionOf(weak)).acr, AAL1);
    const strongCopy = copyOf(T, strong);
    const weakCopy = copyOf(T, weak);
    await sleep(4500);
    assert.equal(await sessionOf(strongCopy), null, 'the AAL2 session is gone after 3 s unused');
    assert.equal((await strongCopy.raw('GET', '/api/v1/mfa')).status, 401);
    const still = await sessionOf(weakCopy);
    assert.equal(still?.acr, AAL1, 'the AAL1 session (600 s idle) goes on');
  });

  test('a session that steps up to AAL2 gets AAL2\'s timers from then on: a shorter life, and AAL2\'s idle time', async () => {
    const s = ctx.server;
    const { T } = await tenantWith(s, 'step', {
      sessions: { aal1: { idle_seconds: 600, absolute_seconds: 86400 }, aal2: { absolute_seconds: 7200 } },
    });
    const { enrolling: b, totp } = await userWithApp(T, 'step');
    const before = await sessionOf(b);
    assert.equal(before.acr, AAL1);
    const reg = await registerClient(T, { client_name: 'Step' });
    const q = new URLSearchParams({
      client_id: reg.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', state: 'st',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', acr_values: AAL2,
    });
    const az = await b.raw('GET', `/authorize?${q}`);
    assert.equal(az.status, 302, az.text);
    assert.match(az.headers.get('location'), /\/signin\/mfa/);
    const m = await b.post('/api/v1/signin/mfa', { code: codeAt(totp.secret, currentStep()) });
    assert.equal(m.status, 200, m.text);
    assert.equal(m.json.acr, AAL2);
    assert.match(sessionCookie(m), /Max-Age=7200\b/, 'the cookie lives as long as an AAL2 session may');
    const after = await sessionOf(b);
    assert.equal(after.id, before.id, 'the same session, stepped up');
    const left = Date.parse(after.expires_at) - Date.now();
    assert.ok(left <= 3000, `the session's end is AAL2's idle time away, not AAL1's 600 s: ${left} ms`);
    const copy = copyOf(T, b);
    await sleep(4500);
    assert.equal(await sessionOf(copy), null, 'AAL2\'s idle time (the server\'s 3 s) applies after the step-up');
  });

  test('absolute lifetime per level: with GATEHOUSE_SESSION_ABSOLUTE=5 an AAL2 session ends 5 s after sign-in though in use, while an AAL1 session with the tenant\'s own 600 s goes on', async () => {
    const srv = await startServer({ env: { GATEHOUSE_SESSION_ABSOLUTE: '5' } });
    const { T } = await tenantWith(srv, 'abs', { session_idle_seconds: 600, sessions: { aal1: { absolute_seconds: 600 } } });
    const { user, totp } = await userWithApp(T, 'abs');
    const { b: strong, m } = await signInAal2(T, user, totp.secret);
    assert.match(sessionCookie(m), /Max-Age=5\b/);
    const weak = await signedIn(T, await newUser(T, 'abs1'));
    const strongCopy = copyOf(T, strong);
    const weakCopy = copyOf(T, weak);
    for (let i = 0; i < 5; i++) {
      await sleep(1000);
      await strong.raw('GET', '/api/v1/session'); // in use all along
    }
    await sleep(800);
    assert.equal(await sessionOf(strongCopy), null, 'the AAL2 session is over after its absolute lifetime');
    assert.equal((await sessionOf(weakCopy))?.acr, AAL1, 'the AAL1 session (600 s) goes on');
  });

  test('the flat members still work and apply to every level (a step-up never lengthens them)', async () => {
    const s = ctx.server;
    const { T, body } = await tenantWith(s, 'flat', { session_idle_seconds: 600, session_absolute_seconds: 3600 });
    assert.equal(body.policy.session_absolute_seconds, 3600);
    const { user, totp } = await userWithApp(T, 'flat');
    const { b, m } = await signInAal2(T, user, totp.secret);
    assert.match(sessionCookie(m), /Max-Age=3600\b/);
    await sleep(4500);
    assert.equal((await sessionOf(copyOf(T, b))).acr, AAL2, 'the tenant\'s 600 s idle time, not the server\'s 3 s');
  });
});

/** GET /authorize for browser b with extra parameters; the answer's redirect target. */
async function authorize(T, b, extra = {}) {
  const reg = await registerClient(T, { client_name: 'Journey' });
  const q = new URLSearchParams({
    client_id: reg.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', state: 'st',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', ...extra,
  });
  const r = await b.raw('GET', `/authorize?${q}`);
  assert.equal(r.status, 302, r.text);
  return new URL(r.headers.get('location'), T.issuer);
}

describe('assurance per journey', () => {
  test('signin aal2 (and mfa_required, its alias): /authorize refuses an account without a second factor and asks one that has it', async () => {
    const s = ctx.server;
    for (const policy of [{ assurance: { signin: 'aal2' } }, { mfa_required: true }]) {
      const { T, body } = await tenantWith(s, 'si', { session_idle_seconds: 600, ...policy });
      assert.equal(body.policy.assurance.signin, 'aal2', JSON.stringify(body.policy));
      assert.equal(body.policy.mfa_required, true);
      const plain = await signedIn(T, await newUser(T, 'si'));
      const refused = await authorize(T, plain);
      assert.equal(refused.searchParams.get('error'), 'unmet_authentication_requirements', refused.href);
      const { enrolling } = await userWithApp(T, 'siapp');
      const asked = await authorize(T, enrolling);
      assert.match(asked.pathname, /\/signin\/mfa$/, asked.href);
    }
    // without the rule the same AAL1 session gets its code
    const { T } = await tenantWith(s, 'sid', { session_idle_seconds: 600 });
    const plain = await signedIn(T, await newUser(T, 'sid'));
    assert.ok((await authorize(T, plain)).searchParams.get('code'));
  });

  test('step_up: acr_values urn:gatehouse:high-value asks for the tenant\'s step-up level (AAL2 by default, AAL1 where the tenant says so)', async () => {
    const s = ctx.server;
    const { T } = await tenantWith(s, 'su', { session_idle_seconds: 600 });
    const { enrolling } = await userWithApp(T, 'su');
    assert.ok((await authorize(T, enrolling)).searchParams.get('code'), 'no high-value: the AAL1 session will do');
    const asked = await authorize(T, enrolling, { acr_values: 'urn:gatehouse:high-value' });
    assert.match(asked.pathname, /\/signin\/mfa$/, `high-value asks for a second factor: ${asked.href}`);

    const { T: L } = await tenantWith(s, 'sul', { session_idle_seconds: 600, assurance: { step_up: 'aal1' } });
    const { enrolling: e2 } = await userWithApp(L, 'sul');
    const done = await authorize(L, e2, { acr_values: 'urn:gatehouse:high-value' });
    assert.ok(done.searchParams.get('code'), `step_up aal1: the AAL1 session will do: ${done.href}`);
  });

  test('profile_change aal2: an AAL1 session gets 403 step_up_required for email, password and profile changes; an AAL2 session may; the default tenant keeps AAL1', async () => {
    const s = ctx.server;
    const { T, body } = await tenantWith(s, 'pc', { session_idle_seconds: 600, assurance: { profile_change: 'aal2' } });
    assert.deepEqual(body.policy.assurance, { signin: 'aal1', recovery: 'aal1', profile_change: 'aal2', step_up: 'aal2' });
    const { user, totp, enrolling: weak } = await userWithApp(T, 'pc');
    assert.equal((await sessionOf(weak)).acr, AAL1);
    const tries = [
      ['/api/v1/password', { current_password: user.password, new_password: `Orchard-${randomHex(6)}-Lantern` }],
      ['/api/v1/email', { email: `new-${randomHex(4)}@example.com`, current_password: user.password }],
    ];
    for (const [path, data] of tries) {
      const r = await weak.post(path, data);
      assert.equal(r.status, 403, `${path}: ${r.text}`);
      assert.equal(r.json.error, 'step_up_required', r.text);
      assert.equal(r.json.required_acr, AAL2);
      assert.equal(r.json.required_level, 'aal2');
    }
    const h = { 'content-type': 'application/json', origin: weak.origin, 'x-csrf-token': weak.csrf };
    const patch = await weak.raw('PATCH', '/api/v1/profile', { body: JSON.stringify({ given_name: 'Ada' }), headers: h });
    assert.equal(patch.status, 403, patch.text);
    assert.equal(patch.json.error, 'step_up_required');
    assert.notEqual((await weak.raw('GET', '/api/v1/profile')).json?.given_name, 'Ada', 'nothing changed');

    const { b: strong } = await signInAal2(T, user, totp.secret);
    await strong.session();
    const hs = { 'content-type': 'application/json', origin: strong.origin, 'x-csrf-token': strong.csrf };
    const ok = await strong.raw('PATCH', '/api/v1/profile', { body: JSON.stringify({ given_name: 'Ada' }), headers: hs });
    assert.equal(ok.status, 200, ok.text);

    const plain = await signedIn(s, await newUser(s, 'pcdef'));
    await plain.session();
    const hd = { 'content-type': 'application/json', origin: plain.origin, 'x-csrf-token': plain.csrf };
    const def = await plain.raw('PATCH', '/api/v1/profile', { body: JSON.stringify({ given_name: 'Bo' }), headers: hd });
    assert.equal(def.status, 200, `the default tenant asks AAL1 of a profile change: ${def.text}`);
  });

  test('recovery aal2: the emailed code alone recovers no account (SECURITY.md #32 kept); an account with an app is asked for it', async () => {
    const s = ctx.server;
    const { T } = await tenantWith(s, 'rc', { session_idle_seconds: 600, assurance: { recovery: 'aal2' } });
    const ask = async (email) => {
      const b = new Browser(T);
      const since = ctx.mail.messages.length;
      const r = await b.post('/api/v1/recovery', { email });
      assert.equal(r.status, 200, r.text);
      const msg = await ctx.mail.waitFor((m) => ctx.mail.messages.indexOf(m) >= since && sentTo(email)(m) && m.subject === 'Reset your password', 10_000);
      return { b, v: await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code: codeFrom(msg) }) };
    };
    const plain = await newUser(T, 'rcpw');
    const { b, v } = await ask(plain.email);
    assert.equal(v.status, 403, `a password-only account is not recovered by its mailbox alone: ${v.text}`);
    assert.equal(v.json.error, 'recovery_unavailable');
    assert.equal((await b.session()).authenticated, false);
    assert.equal((await b.raw('GET', '/api/v1/recovery')).json.status, 'none');

    const { user } = await userWithApp(T, 'rcapp');
    const withApp = await ask(user.email);
    assert.equal(withApp.v.status, 200, withApp.v.text);
    assert.equal(withApp.v.json.status, 'recovery_factor_required');
    assert.ok(withApp.v.json.methods.includes('totp'));
    // no waiting period stands in for the app
    const wait = await withApp.b.post('/api/v1/recovery/wait', {});
    assert.equal(wait.status, 403, wait.text);
    assert.equal(wait.json.error, 'recovery_unavailable');

    // the same password-only account in a tenant without the rule: the mailbox suffices
    const { T: U } = await tenantWith(s, 'rcd', { session_idle_seconds: 600 });
    const other = await newUser(U, 'rcok');
    const bb = new Browser(U);
    const since = ctx.mail.messages.length;
    const r = await bb.post('/api/v1/recovery', { email: other.email });
    const msg = await ctx.mail.waitFor((m) => ctx.mail.messages.indexOf(m) >= since && sentTo(other.email)(m) && m.subject === 'Reset your password', 10_000);
    const ok = await bb.post('/api/v1/verify', { flow_id: r.json.flow_id, code: codeFrom(msg) });
    assert.equal(ok.json?.status, 'recovery_password', ok.text);
  });
});
