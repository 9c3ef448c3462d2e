// Second factors, passkeys, passwordless email and step-up (docs/mfa.md)
// over HTTP only, with independent components on the other side of every
// exchange:
//   - TOTP codes from Debian's oathtool (RFC 6238), not from our own code;
//   - WebAuthn from a software authenticator built on node:crypto
//     (tests/e2e/lib/webauthn.mjs: ES256 keys, "none" attestation, CBOR by hand);
//   - mail caught by a real SMTP sink;
//   - OpenID Connect driven by openid-client (a certified RP library).
// The user agent is a small cookie-keeping client that sends the CSRF token
// as the hosted pages do. Tests cite the /work/shared/SECURITY.md ids they
// check.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import * as client from 'openid-client';
import { clientAuth } from './lib/oidc.mjs';

import { startServer, stopAll, sql, databaseContains, randomHex, sleep } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, codeFrom, linkFrom, sentTo as to } from './lib/mail.mjs';
import { SoftAuthenticator, fromB64url } from './lib/webauthn.mjs';
import { currentStep, codeAt, awayFromStepEdge, wrongCode, enrolTotp, addPasskey } from './lib/factors.mjs';
import { Browser as BaseBrowser } from './lib/browser.mjs';

after(async () => {
  await stopAll();
  await stopAllMailSinks();
});

const AAL1 = 'urn:gatehouse:aal1';
const AAL2 = 'urn:gatehouse:aal2';
const AAL3 = 'urn:gatehouse:aal3';
const NOTICE = 'Your sign-in methods changed';
const REDIRECT = 'https://app.example.com/callback';

const strong = () => `Glacier-${randomHex(6)}-Orchard`;

// ---------------------------------------------------------------- a user agent

/** The shared test browser, plus any method, a CSRF token taken from every
 * JSON answer, and /authorize followed by hand. */
class Browser extends BaseBrowser {
  async raw(method, path, opts) {
    const r = await super.raw(method, path, opts);
    if (r.json?.csrf_token) this.csrf = r.json.csrf_token;
    return r;
  }

  get(path) {
    return this.raw('GET', path);
  }

  /** A JSON request with the CSRF token (csrf: false leaves it out). */
  async send(method, path, data, { csrf = true, headers = {} } = {}) {
    if (csrf && !this.csrf) await this.session();
    const h = { origin: this.origin };
    if (data !== undefined) h['content-type'] = 'application/json';
    if (csrf) h['x-csrf-token'] = this.csrf;
    Object.assign(h, headers);
    return this.raw(method, path, { body: data === undefined ? undefined : JSON.stringify(data), headers: h });
  }

  post(path, data = {}, opts) { return this.send('POST', path, data, opts); }
  put(path, data, opts) { return this.send('PUT', path, data, opts); }
  patch(path, data, opts) { return this.send('PATCH', path, data, opts); }
  del(path, opts) { return this.send('DELETE', path, undefined, opts); }

  /**
   * Follows the provider's redirects from url until one leaves it (the
   * client's callback) or lands on a page the user must act on (/signin,
   * /signin/mfa, /consent). Returns {url} or {res} for any other answer.
   */
  async authorize(url) {
    let next = new URL(url);
    const own = new URL(this.server.issuer).origin;
    for (let i = 0; i < 10; i++) {
      if (next.origin !== own && next.origin !== this.server.url) return { url: next };
      if (['/signin', '/signin/mfa', '/consent'].includes(next.pathname)) return { url: next };
      const res = await this.raw('GET', `${next.pathname}${next.search}`);
      if (res.status !== 302 && res.status !== 303) return { res };
      next = new URL(res.headers.get('location'), this.server.issuer);
    }
    throw new Error('too many redirects');
  }
}

// ---------------------------------------------------------------- mail

/** The first mail to email (with subject, if given) that arrived after index since. */
function mailAfter(ctx, since, email, subject) {
  return ctx.mail.waitFor((m) => ctx.mail.messages.indexOf(m) >= since && to(email)(m)
    && (subject === undefined || m.subject === subject), 10_000);
}

// ---------------------------------------------------------------- TOTP (lib/factors.mjs: oathtool)

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(ch);
    assert.ok(i >= 0, `not base32: ${text}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// ---------------------------------------------------------------- users and factors

/** Signs a new user up over HTTP and verifies the address with the mailed code; the browser is signed in (AAL1). */
async function signUp(ctx, tag = 'mfa') {
  const b = new Browser(ctx.server);
  const email = `${tag}-${randomHex(5)}@example.com`;
  const password = strong();
  const r = await b.post('/api/v1/signup', { email, password });
  assert.equal(r.status, 200, r.text);
  const msg = await ctx.mail.waitFor(to(email), 10_000);
  const v = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code: codeFrom(msg) });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.status, 'signed_in');
  const s = await b.session();
  assert.equal(s.authenticated, true);
  return { email, password, id: s.user.id, browser: b };
}

/** A password sign-in in a fresh browser; returns the browser and the answer. */
async function passwordSignIn(ctx, user, extra = {}) {
  const b = new Browser(ctx.server);
  const r = await b.post('/api/v1/signin', { email: user.email, password: user.password, ...extra });
  assert.equal(r.status, 200, r.text);
  return { b, r };
}

/** Password, then the current TOTP code: an AAL2 browser. */
async function signInTotp(ctx, user, secret, { offset = 0 } = {}) {
  const { b, r } = await passwordSignIn(ctx, user);
  assert.equal(r.json.status, 'mfa_required', r.text);
  if (offset < 0) await awayFromStepEdge();
  const m = await b.post('/api/v1/signin/mfa', { code: codeAt(secret, currentStep() + offset) });
  assert.equal(m.status, 200, m.text);
  assert.equal(m.json.status, 'signed_in');
  assert.equal(m.json.acr, AAL2);
  return b;
}

/** A verified user with a confirmed authenticator app, and an AAL2 browser. */
async function userWithTotp(ctx, tag = 'totp') {
  const user = await signUp(ctx, tag);
  const totp = await enrolTotp(user.browser);
  const b = await signInTotp(ctx, user, totp.secret);
  return { ...user, totp, browser: b };
}

/** Username-less passkey sign-in in browser b (a fresh one by default). */
async function passkeySignIn(ctx, auth, getOpts = {}, b = new Browser(ctx.server)) {
  const o = await b.post('/api/v1/signin/passkey/options', {});
  assert.equal(o.status, 200, o.text);
  const credential = auth.get(o.json.publicKey, getOpts);
  const r = await b.post('/api/v1/signin/passkey', { credential });
  return { b, r, options: o.json.publicKey, credential };
}

/** A verified user with one device-bound passkey (registered from an AAL1 session). */
async function userWithPasskey(ctx, tag = 'pk') {
  const user = await signUp(ctx, tag);
  const auth = new SoftAuthenticator({ origin: new URL(ctx.server.issuer).origin });
  const added = await addPasskey(user.browser, auth, { name: 'Laptop' });
  assert.equal(added.r.status, 200, added.r.text);
  return { ...user, auth, cred: added.cred, factorId: added.r.json.id, added };
}

function factorRows(server, userId) {
  return sql(server, `SELECT id, kind, name, confirmed FROM mfa_factors WHERE user_id = '${userId}' ORDER BY created_at`);
}

function auditRows(server, userId, type) {
  return sql(server, `SELECT type, outcome, reason, details FROM audit_events WHERE subject = '${userId}'${type ? ` AND type = '${type}'` : ''} ORDER BY seq`);
}

// ---------------------------------------------------------------- OpenID Connect

async function registerClient(server, metadata) {
  const res = await fetch(`${server.url}/register`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ gatehouse_first_party: true, ...metadata }),
  });
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  return body;
}

function configFor(server, reg) {
  return client.discovery(new URL(server.issuer), reg.client_id, reg.client_secret, clientAuth(reg),
    { execute: [client.allowInsecureRequests] });
}

/** Starts a code flow (PKCE) in browser b; returns where it ended and what the RP keeps. */
async function startFlow(config, b, extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope: 'openid email', state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  });
  const out = await b.authorize(url);
  assert.ok(out.url, `expected a redirect, got ${out.res?.status}: ${out.res?.text}`);
  return { url: out.url, verifier, state, nonce };
}

async function redeem(config, flow, url = flow.url) {
  assert.ok(url.searchParams.get('code'), `no code at the callback: ${url}`);
  return client.authorizationCodeGrant(config, url,
    { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
}

// =====================================================================
// 1. Authenticator app (TOTP)
// =====================================================================

describe('MFA API: authenticator app (TOTP, RFC 6238 codes from oathtool)', () => {
  const ctx = {};
  before(async () => {
    ctx.mail = await startMailSink();
    ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url } });
  });
  after(async () => { await ctx.server?.stop(); });

  test('enrolment: secret, otpauth URI and SVG QR code; the previous step\'s code (drift −1, unused) confirms, with ten distinct recovery codes (SECURITY.md #16, #17)', async () => {
    const user = await signUp(ctx, 'enrol');
    const setup = await user.browser.post('/api/v1/mfa/totp', {});
    assert.equal(setup.status, 200, setup.text);
    const { id, secret, otpauth_uri: uri, qr_svg: svg } = setup.json;
    assert.ok(id);
    assert.match(secret, /^[A-Z2-7]+=*$/, 'secret is base32');
    assert.ok(base32Decode(secret).length >= 16, 'seed of at least 128 bits');
    assert.match(uri, /^otpauth:\/\/totp\//);
    assert.equal(new URL(uri).searchParams.get('secret'), secret);
    assert.match(svg, /^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/);
    assert.match(svg, /<\/svg>\s*$/);
    assert.match(svg, /xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);

    // an unconfirmed set-up is not a factor yet
    const listed = await user.browser.get('/api/v1/mfa');
    assert.equal(listed.status, 200, listed.text);
    assert.equal(listed.json.factors.filter((f) => f.kind === 'totp').length, 0);

    // drift: a code from the previous 30-s step, never used, is accepted
    await awayFromStepEdge();
    const code = codeAt(secret, currentStep() - 1);
    const ok = await user.browser.post(`/api/v1/mfa/totp/${id}/confirm`, { code, name: 'Phone' });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.status, 'confirmed');
    const codes = ok.json.recovery_codes;
    assert.ok(Array.isArray(codes), 'recovery codes come with the first second factor');
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes.map((c) => c.replace(/[-\s]/g, '').toUpperCase())).size, 10, 'distinct');
    for (const c of codes) assert.ok(c.replace(/[-\s]/g, '').length >= 8, `recovery code long enough: ${c}`);

    const after = await user.browser.get('/api/v1/mfa');
    const totp = after.json.factors.filter((f) => f.kind === 'totp');
    assert.equal(totp.length, 1);
    assert.equal(totp[0].id, id);
    assert.equal(totp[0].name, 'Phone');
    assert.equal(after.json.recovery_codes.remaining, 10);
    assert.equal(after.json.reachable_acr, AAL2);
  });

  test('enrolment: a wrong code → 400 invalid_code, and the set-up stays unconfirmed', async () => {
    const user = await signUp(ctx, 'enrolbad');
    const setup = await user.browser.post('/api/v1/mfa/totp', {});
    assert.equal(setup.status, 200, setup.text);
    const wrong = await user.browser.post(`/api/v1/mfa/totp/${setup.json.id}/confirm`, { code: wrongCode(setup.json.secret) });
    assert.equal(wrong.json?.error, 'invalid_code', wrong.text);
    assert.equal(factorRows(ctx.server, user.id)[0].confirmed, 0);
    assert.equal((await user.browser.get('/api/v1/mfa')).json.factors.length, 0);
    assert.equal(wrong.status, 400, `docs/mfa.md: confirm with a wrong code → 400 invalid_code; got ${wrong.status} ${wrong.text}`);
  });

  test('the seed is stored encrypted: neither the base32 secret nor its raw bytes are in the database (SECURITY.md #18)', async () => {
    const user = await signUp(ctx, 'seed');
    const totp = await enrolTotp(user.browser);
    const seed = base32Decode(totp.secret);
    assert.equal(databaseContains(ctx.server, totp.secret), false, 'base32 secret in the database');
    assert.equal(databaseContains(ctx.server, seed), false, 'raw seed bytes in the database');
    assert.equal(databaseContains(ctx.server, seed.toString('hex')), false, 'hex seed in the database');
    assert.equal(databaseContains(ctx.server, seed.toString('base64').replace(/=+$/, '')), false, 'base64 seed in the database');
    const row = sql(ctx.server, `SELECT secret FROM mfa_factors WHERE id = '${totp.id}'`)[0];
    assert.ok(row?.secret, 'a sealed secret is stored');
  });

  test('password → mfa_required and no session yet; current code → signed_in at AAL2; the same code in a new sign-in is refused; the next step\'s code (drift +1) works; a code from 3 steps ago does not (SECURITY.md #15, #16)', async () => {
    const user = await signUp(ctx, 'signin');
    const totp = await enrolTotp(user.browser);

    const { b, r } = await passwordSignIn(ctx, user, { return_to: '/account?tab=security' });
    assert.equal(r.json.status, 'mfa_required');
    assert.ok(r.json.methods.includes('totp'), JSON.stringify(r.json.methods));
    assert.ok(r.json.methods.includes('recovery_code'), JSON.stringify(r.json.methods));
    assert.match(r.json.next, /^\/signin\/mfa\?return_to=/);
    assert.equal(b.jar.has('gh_session'), false, 'no session cookie before the second factor');
    assert.equal((await b.session()).authenticated, false);
    assert.equal((await b.get('/api/v1/mfa')).status, 401);
    const info = await b.get('/api/v1/signin/mfa');
    assert.equal(info.status, 200, info.text);
    assert.equal(info.json.context, 'signin');
    assert.equal(info.json.recovery_codes_remaining, 10);
    assert.ok(info.json.methods.includes('totp'));

    await awayFromStepEdge();
    const base = currentStep();
    const code = codeAt(totp.secret, base);
    const m = await b.post('/api/v1/signin/mfa', { code });
    assert.equal(m.status, 200, m.text);
    assert.equal(m.json.status, 'signed_in');
    assert.equal(m.json.acr, AAL2);
    assert.equal(m.json.return_to, '/account?tab=security');
    assert.ok(m.json.csrf_token);
    assert.equal(m.json.recovery_codes_remaining, 10);
    assert.ok(b.jar.has('gh_session'));
    const s = await b.session();
    assert.equal(s.authenticated, true);
    assert.equal(s.user.email, user.email);

    // replay: the same code in another sign-in
    const again = await passwordSignIn(ctx, user);
    assert.equal(again.r.json.status, 'mfa_required');
    const replay = await again.b.post('/api/v1/signin/mfa', { code });
    assert.equal(replay.status, 401, `replayed code: ${replay.text}`);
    assert.equal(replay.json.error, 'invalid_code');
    assert.equal(replay.json.error_description, 'That code is wrong or has expired.');
    assert.equal((await again.b.session()).authenticated, false);

    // drift +1: the next step's code, typed with a space, in the same pending step
    const next = codeAt(totp.secret, base + 1);
    const ahead = await again.b.post('/api/v1/signin/mfa', { code: `${next.slice(0, 3)} ${next.slice(3)}` });
    assert.equal(ahead.status, 200, ahead.text);
    assert.equal(ahead.json.acr, AAL2);

    // three steps ago is outside the window
    const third = await passwordSignIn(ctx, user);
    const old = await third.b.post('/api/v1/signin/mfa', { code: codeAt(totp.secret, base - 3) });
    assert.equal(old.status, 401, old.text);
    const far = await third.b.post('/api/v1/signin/mfa', { code: codeAt(totp.secret, base + 3) });
    assert.equal(far.status, 401, far.text);
    assert.equal((await third.b.session()).authenticated, false);
  });

  test('five wrong codes end the pending sign-in: flow_expired, and then even the right code does not sign in (SECURITY.md #13)', async () => {
    const user = await signUp(ctx, 'five');
    const totp = await enrolTotp(user.browser);
    const { b, r } = await passwordSignIn(ctx, user);
    assert.equal(r.json.status, 'mfa_required');
    const bad = wrongCode(totp.secret);
    for (let i = 1; i <= 4; i++) {
      const w = await b.post('/api/v1/signin/mfa', { code: bad });
      assert.equal(w.status, 401, `wrong code ${i}: ${w.text}`);
      assert.equal(w.json.error, 'invalid_code');
    }
    const fifth = await b.post('/api/v1/signin/mfa', { code: bad });
    assert.equal(fifth.status, 400, fifth.text);
    assert.equal(fifth.json.error, 'flow_expired');
    const sixth = await b.post('/api/v1/signin/mfa', { code: bad });
    assert.ok(sixth.status >= 400 && sixth.status < 500, sixth.text);
    const right = await b.post('/api/v1/signin/mfa', { code: codeAt(totp.secret, currentStep()) });
    assert.notEqual(right.status, 200, `the right code after five wrong ones must not sign in: ${right.text}`);
    assert.notEqual(right.json?.status, 'signed_in');
    assert.equal(b.jar.has('gh_session'), false);
    assert.equal((await b.session()).authenticated, false);
    const failures = auditRows(ctx.server, user.id, 'signin.second_factor_failed');
    assert.ok(failures.length >= 5, `audited failures: ${failures.length} (SECURITY.md #47)`);
  });

  test('GET /api/v1/signin/mfa without a pending step or a session → 401 unauthenticated', async () => {
    const b = new Browser(ctx.server);
    const r = await b.get('/api/v1/signin/mfa');
    assert.equal(r.status, 401, r.text);
    assert.equal(r.json.error, 'unauthenticated');
    const p = await b.post('/api/v1/signin/mfa', { code: '123456' });
    assert.equal(p.status, 401, p.text);
  });

  test('the pending second step lives GATEHOUSE_CODE_TTL seconds (=1 here); after that the right code does not sign in', async () => {
    const server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url, GATEHOUSE_CODE_TTL: '1' } });
    try {
      const sctx = { server, mail: ctx.mail };
      const user = await signUp(sctx, 'ttl'); // the mailed code is used at once, within the 1 s
      const totp = await enrolTotp(user.browser);
      const { b, r } = await passwordSignIn(sctx, user);
      assert.equal(r.json.status, 'mfa_required');
      await sleep(1500);
      const late = await b.post('/api/v1/signin/mfa', { code: codeAt(totp.secret, currentStep()) });
      assert.notEqual(late.status, 200, late.text);
      assert.equal((await b.session()).authenticated, false);
    } finally {
      await server.stop();
    }
  });
});

// =====================================================================
// 2. Recovery codes
// =====================================================================

describe('MFA API: wrong second-factor codes are capped per account (issue 15 item 3; SECURITY.md #11, #13)', () => {
  const ctx = {};
  const LOCKED = 'Wrong sign-in codes on your account';
  before(async () => {
    ctx.mail = await startMailSink();
    ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url } });
  });
  after(async () => { await ctx.server?.stop(); });

  test('someone with the password gets 10 wrong codes across pending steps, then one per fresh password; the owner gets one notice, keeps a known device, and the right code after the password works', async () => {
    const user = await signUp(ctx, 'cap'); // user.browser is now a device known to the account
    const totp = await enrolTotp(user.browser);
    const bad = wrongCode(totp.secret);
    const mailsBefore = ctx.mail.messages.length;
    // 4 + 4 + 2 wrong codes over three pending steps (a step ends at 5)
    let last;
    for (const tries of [4, 4, 2]) {
      const { b, r } = await passwordSignIn(ctx, user);
      assert.equal(r.json.status, 'mfa_required', r.text);
      for (let i = 0; i < tries; i++) last = { b, w: await b.post('/api/v1/signin/mfa', { code: bad }) };
    }
    assert.equal(last.w.status, 400, last.w.text);
    assert.equal(last.w.json.error, 'flow_expired', 'the 10th wrong code drops the step');
    assert.match(last.w.json.error_description, /Sign in again/);
    const dropped = await last.b.post('/api/v1/signin/mfa', { code: codeAt(totp.secret, currentStep()) });
    assert.notEqual(dropped.json?.status, 'signed_in', 'even the right code needs the password again');
    const notice = await mailAfter(ctx, mailsBefore, user.email, LOCKED);
    assert.match(notice.text, /10 wrong codes/);
    assert.equal(auditRows(ctx.server, user.id, 'mfa.locked').length, 1);

    // Past the cap a fresh password gives one try: a wrong code ends it.
    const one = await passwordSignIn(ctx, user);
    assert.equal(one.r.json.status, 'mfa_required');
    const w = await one.b.post('/api/v1/signin/mfa', { code: bad });
    assert.equal(w.status, 400, w.text);
    assert.equal(w.json.error, 'flow_expired');
    const after1 = await one.b.post('/api/v1/signin/mfa', { code: codeAt(totp.secret, currentStep()) });
    assert.notEqual(after1.json?.status, 'signed_in');

    // The owner on the device the account knows is judged on its own record.
    const own = await user.browser.post('/api/v1/signin', { email: user.email, password: user.password });
    assert.equal(own.json.status, 'mfa_required', own.text);
    await awayFromStepEdge(3);
    const base = currentStep();
    const ownWrong = await user.browser.post('/api/v1/signin/mfa', { code: bad });
    assert.equal(ownWrong.status, 401, 'a known device has its own budget');
    const ownOk = await user.browser.post('/api/v1/signin/mfa', { code: codeAt(totp.secret, base) });
    assert.equal(ownOk.status, 200, ownOk.text);
    assert.equal(ownOk.json.status, 'signed_in');

    // Anyone who enters the password again and then the right code gets in.
    const again = await passwordSignIn(ctx, user);
    const ok = await again.b.post('/api/v1/signin/mfa', { code: codeAt(totp.secret, base + 1) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.status, 'signed_in');
    // one notice per lock
    const notices = ctx.mail.messages.slice(mailsBefore).filter((m) => to(user.email)(m) && m.subject === LOCKED);
    assert.equal(notices.length, 1);
  });

  test('recovery codes share the cap; a signed-in session past the cap takes no codes for step-up', async () => {
    const user = await signUp(ctx, 'caprc');
    const totp = await enrolTotp(user.browser);
    for (const tries of [4, 4, 2]) {
      const { b } = await passwordSignIn(ctx, user);
      for (let i = 0; i < tries; i++) await b.post('/api/v1/signin/mfa', { recovery_code: 'AAAA-BBBB-CC' });
    }
    const { b, r } = await passwordSignIn(ctx, user);
    assert.equal(r.json.status, 'mfa_required');
    const used = await b.post('/api/v1/signin/mfa', { recovery_code: totp.recoveryCodes[0] });
    assert.equal(used.status, 200, 'the one try of a fresh step: a right recovery code signs in');
    assert.equal(used.json.status, 'signed_in');
    // b is now a known device with its own count: ten wrong step-up codes
    // from this session, then not even the right one is compared.
    for (let i = 1; i <= 10; i++) {
      const w = await b.post('/api/v1/signin/mfa', { code: wrongCode(totp.secret) });
      assert.equal(w.status, i < 10 ? 401 : 400, `step-up try ${i}: ${w.text}`);
    }
    await awayFromStepEdge(3);
    const right = await b.post('/api/v1/signin/mfa', { code: codeAt(totp.secret, currentStep()) });
    assert.equal(right.status, 400, right.text);
    assert.equal(right.json.error, 'flow_expired');
    assert.equal((await b.session()).authenticated, true, 'the session itself stays');
  });
});

describe('MFA API: recovery codes', () => {
  const ctx = {};
  before(async () => {
    ctx.mail = await startMailSink();
    ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url } });
  });
  after(async () => { await ctx.server?.stop(); });

  test('a recovery code signs in once (AAL2), the count goes 10 → 9, each use is audited; stored hashed only (SECURITY.md #17, #47)', async () => {
    const user = await signUp(ctx, 'rc');
    const { recoveryCodes: codes } = await enrolTotp(user.browser);
    for (const c of codes) {
      assert.equal(databaseContains(ctx.server, c), false, `recovery code ${c} stored in plaintext`);
      assert.equal(databaseContains(ctx.server, c.replace(/-/g, '')), false, `recovery code ${c} stored in plaintext`);
    }

    const first = await passwordSignIn(ctx, user);
    assert.equal(first.r.json.status, 'mfa_required');
    assert.equal((await first.b.get('/api/v1/signin/mfa')).json.recovery_codes_remaining, 10);
    const ok = await first.b.post('/api/v1/signin/mfa', { recovery_code: codes[0] });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.status, 'signed_in');
    assert.equal(ok.json.acr, AAL2);
    assert.equal(ok.json.recovery_codes_remaining, 9);
    const list = await first.b.get('/api/v1/mfa');
    assert.equal(list.json.recovery_codes.remaining, 9);

    const second = await passwordSignIn(ctx, user);
    const reuse = await second.b.post('/api/v1/signin/mfa', { recovery_code: codes[0] });
    assert.equal(reuse.status, 401, `a used recovery code: ${reuse.text}`);
    assert.equal(reuse.json.error, 'invalid_code');
    assert.equal((await second.b.session()).authenticated, false);

    // case, spaces and dashes do not count
    const typed = codes[1].replace(/-/g, ' ').toLowerCase();
    const ok2 = await second.b.post('/api/v1/signin/mfa', { recovery_code: typed });
    assert.equal(ok2.status, 200, ok2.text);
    assert.equal(ok2.json.recovery_codes_remaining, 8);

    const uses = auditRows(ctx.server, user.id, 'signin.succeeded')
      .filter((a) => JSON.parse(a.details || '{}').method === 'recovery_code');
    assert.equal(uses.length, 2, 'one audit event per recovery-code use');
    const failed = auditRows(ctx.server, user.id, 'signin.second_factor_failed');
    assert.ok(failed.length >= 1, 'the refused reuse is audited');
  });

  test('regeneration replaces every code: old ones stop working, new ones work; a notice is mailed (SECURITY.md #17, #33)', async () => {
    const user = await userWithTotp(ctx, 'regen');
    const old = user.totp.recoveryCodes;
    const since = ctx.mail.messages.length;
    const r = await user.browser.post('/api/v1/mfa/recovery-codes', {});
    assert.equal(r.status, 200, r.text);
    const fresh = r.json.recovery_codes;
    assert.equal(fresh.length, 10);
    assert.equal(new Set(fresh).size, 10);
    assert.equal(fresh.filter((c) => old.includes(c)).length, 0, 'all new');
    assert.equal((await user.browser.get('/api/v1/mfa')).json.recovery_codes.remaining, 10);
    await mailAfter(ctx, since, user.email, NOTICE);

    const a = await passwordSignIn(ctx, user);
    const stale = await a.b.post('/api/v1/signin/mfa', { recovery_code: old[3] });
    assert.equal(stale.status, 401, `an old code after regeneration: ${stale.text}`);
    const good = await a.b.post('/api/v1/signin/mfa', { recovery_code: fresh[3] });
    assert.equal(good.status, 200, good.text);
    assert.equal(good.json.recovery_codes_remaining, 9);
    assert.ok(auditRows(ctx.server, user.id, 'mfa.recovery_codes_generated').length >= 1);
  });

  test('regeneration without an authenticator app or passkey → 409 no_second_factor', async () => {
    const user = await signUp(ctx, 'norc');
    const r = await user.browser.post('/api/v1/mfa/recovery-codes', {});
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.error, 'no_second_factor');
    assert.equal(sql(ctx.server, `SELECT count(*) AS n FROM recovery_codes WHERE user_id = '${user.id}'`)[0].n, 0);
  });
});

// =====================================================================
// 3. Managing authenticators
// =====================================================================

describe('MFA API: managing authenticators', () => {
  const ctx = {};
  before(async () => {
    ctx.mail = await startMailSink();
    ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url } });
  });
  after(async () => { await ctx.server?.stop(); });

  test('list, rename and remove; each change mails "Your sign-in methods changed"; removing the last second factor deletes the recovery codes (SECURITY.md #24, #33)', async () => {
    const user = await signUp(ctx, 'manage');
    let since = ctx.mail.messages.length;
    const totp = await enrolTotp(user.browser, { name: 'Phone' });
    await mailAfter(ctx, since, user.email, NOTICE); // adding is a change too

    // the enrolling session is only AAL1: with a second factor now, changes need AAL2
    const stale = await user.browser.patch(`/api/v1/mfa/factors/${totp.id}`, { name: 'x' });
    assert.equal(stale.status, 403, stale.text);
    assert.equal(stale.json.error, 'reauthentication_required');

    const b = await signInTotp(ctx, user, totp.secret);
    const list = await b.get('/api/v1/mfa');
    assert.equal(list.status, 200, list.text);
    assert.equal(list.json.factors.length, 1);
    const f = list.json.factors[0];
    assert.equal(f.id, totp.id);
    assert.equal(f.kind, 'totp');
    assert.equal(f.name, 'Phone');
    assert.ok(!Number.isNaN(Date.parse(f.created_at)), `created_at: ${f.created_at}`);
    assert.ok(f.last_used_at === undefined || !Number.isNaN(Date.parse(f.last_used_at)));
    assert.equal(list.json.recovery_codes.remaining, 10);
    assert.equal(list.json.passwordless_email, false);
    assert.equal(list.json.reachable_acr, AAL2);
    assert.equal(list.json.reauth_required, false);

    since = ctx.mail.messages.length;
    const ren = await b.patch(`/api/v1/mfa/factors/${totp.id}`, { name: 'Work phone' });
    assert.equal(ren.status, 200, ren.text);
    assert.equal(ren.json.status, 'renamed');
    assert.equal((await b.get('/api/v1/mfa')).json.factors[0].name, 'Work phone');
    const renMail = await mailAfter(ctx, since, user.email, NOTICE);
    assert.match(renMail.text, /renamed/i);

    since = ctx.mail.messages.length;
    const del = await b.del(`/api/v1/mfa/factors/${totp.id}`);
    assert.equal(del.status, 200, del.text);
    assert.equal(del.json.status, 'removed');
    const after = await b.get('/api/v1/mfa');
    assert.equal(after.json.factors.length, 0);
    assert.equal(after.json.recovery_codes.remaining, 0, 'recovery codes go with the last second factor');
    assert.equal(after.json.reachable_acr, AAL1);
    const delMail = await mailAfter(ctx, since, user.email, NOTICE);
    assert.match(delMail.text, /removed/i);
    const types = auditRows(ctx.server, user.id).map((a) => a.type);
    for (const t of ['mfa.totp_added', 'mfa.factor_renamed', 'mfa.factor_removed']) assert.ok(types.includes(t), `audit ${t}: ${types}`);

    // and a password alone signs in again
    const plain = await passwordSignIn(ctx, user);
    assert.equal(plain.r.json.status, 'signed_in');
  });

  test('another user\'s factor id → 404 for rename and removal, and that factor is untouched', async () => {
    const owner = await signUp(ctx, 'owner');
    const totp = await enrolTotp(owner.browser, { name: 'Owner phone' });
    const other = await signUp(ctx, 'intruder');
    const ren = await other.browser.patch(`/api/v1/mfa/factors/${totp.id}`, { name: 'mine now' });
    assert.equal(ren.status, 404, ren.text);
    const del = await other.browser.del(`/api/v1/mfa/factors/${totp.id}`);
    assert.equal(del.status, 404, del.text);
    const unknown = await other.browser.del('/api/v1/mfa/factors/00000000-0000-4000-8000-000000000000');
    assert.equal(unknown.status, 404, unknown.text);
    const rows = factorRows(ctx.server, owner.id);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].name, 'Owner phone');
  });

  test('adding a factor does not end the user\'s other sessions (docs/mfa.md; SECURITY.md #30)', async () => {
    const user = await signUp(ctx, 'twosess');
    const one = (await passwordSignIn(ctx, user)).b;
    const two = (await passwordSignIn(ctx, user)).b;
    assert.equal((await two.session()).authenticated, true);
    await enrolTotp(one);
    const s = await two.session();
    assert.equal(s.authenticated, true, 'the other session is still signed in');
    assert.equal(s.user.email, user.email);
    assert.equal((await one.session()).authenticated, true, 'so is the one that added it');
    assert.equal((await user.browser.session()).authenticated, true, 'and the sign-up session');
  });

  test('a passkey is listed with backup_eligible and cloned, and can be renamed and removed', async () => {
    const user = await userWithPasskey(ctx, 'pkmanage');
    const b = (await passkeySignIn(ctx, user.auth)).b;
    const list = await b.get('/api/v1/mfa');
    const pk = list.json.factors.find((f) => f.kind === 'passkey');
    assert.ok(pk, JSON.stringify(list.json));
    assert.equal(pk.name, 'Laptop');
    assert.equal(pk.backup_eligible, false);
    assert.equal(pk.cloned, false);
    assert.ok(pk.last_used_at, 'last_used_at after a sign-in');
    assert.equal(list.json.reachable_acr, AAL2, 'no attestation, so no AAL3');
    const since = ctx.mail.messages.length;
    assert.equal((await b.patch(`/api/v1/mfa/factors/${pk.id}`, { name: 'Desk key' })).status, 200);
    await mailAfter(ctx, since, user.email, NOTICE);
    const del = await b.del(`/api/v1/mfa/factors/${pk.id}`);
    assert.equal(del.status, 200, del.text);
    assert.equal(factorRows(ctx.server, user.id).length, 0);
    const gone = await passkeySignIn(ctx, user.auth);
    assert.equal(gone.r.status, 401, 'a removed passkey no longer signs in');
  });
});

describe('sessions: a user ends other sessions (ASVS 7.5.2, SECURITY.md #30, #31)', () => {
  const ctx = {};
  before(async () => {
    ctx.mail = await startMailSink();
    ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url } });
  });
  after(async () => { await ctx.server?.stop(); });

  test('one other session, then all others; never the current one; another user\'s session is not found', async () => {
    const user = await signUp(ctx, 'sess');
    const a = user.browser;
    const { b } = await passwordSignIn(ctx, user);
    const { b: c } = await passwordSignIn(ctx, user);
    const bId = (await b.session()).session.id;
    const aId = (await a.session()).session.id;
    const list = await a.get('/api/v1/sessions');
    assert.equal(list.json.sessions.length, 3);

    // without the CSRF token nothing ends
    let r = await a.del(`/api/v1/sessions/${bId}`, { csrf: false });
    assert.equal(r.status, 403);
    assert.equal((await b.session()).authenticated, true);

    r = await a.del(`/api/v1/sessions/${bId}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.ended, 1);
    assert.equal((await b.session()).authenticated, false);
    assert.equal((await c.session()).authenticated, true);

    r = await a.del(`/api/v1/sessions/${aId}`);
    assert.equal(r.status, 400, 'the current session ends by signing out');
    r = await a.del(`/api/v1/sessions/${bId}`);
    assert.equal(r.status, 404, 'an ended session is gone');

    const other = await signUp(ctx, 'sess-other');
    const otherId = (await other.browser.session()).session.id;
    r = await a.del(`/api/v1/sessions/${otherId}`);
    assert.equal(r.status, 404);
    assert.equal((await other.browser.session()).authenticated, true);

    r = await a.del('/api/v1/sessions');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.ended, 1);
    assert.equal((await c.session()).authenticated, false);
    assert.equal((await a.session()).authenticated, true);
    const ended = sql(ctx.server, `SELECT count(*) AS n FROM audit_events WHERE type = 'session.ended' AND subject = '${user.id}'`);
    assert.equal(Number(ended[0].n), 2);
  });
});

describe('MFA API: GATEHOUSE_MFA_REQUIRED=on', () => {
  const ctx = {};
  before(async () => {
    ctx.mail = await startMailSink();
    ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url, GATEHOUSE_MFA_REQUIRED: 'on' } });
  });
  after(async () => { await ctx.server?.stop(); });

  test('the last second factor cannot be removed (409 factor_required); with a passkey added, the app can go', async () => {
    const user = await userWithTotp(ctx, 'required');
    const del = await user.browser.del(`/api/v1/mfa/factors/${user.totp.id}`);
    assert.equal(del.status, 409, del.text);
    assert.equal(del.json.error, 'factor_required');
    assert.equal(factorRows(ctx.server, user.id).length, 1, 'still there');
    assert.equal((await user.browser.get('/api/v1/mfa')).json.recovery_codes.remaining, 10, 'recovery codes kept');

    const auth = new SoftAuthenticator({ origin: new URL(ctx.server.issuer).origin });
    const added = await addPasskey(user.browser, auth);
    assert.equal(added.r.status, 200, added.r.text);
    assert.equal(added.r.json.recovery_codes, undefined, 'not the first second factor: no new codes');
    const ok = await user.browser.del(`/api/v1/mfa/factors/${user.totp.id}`);
    assert.equal(ok.status, 200, ok.text);
    const last = await user.browser.del(`/api/v1/mfa/factors/${added.r.json.id}`);
    assert.equal(last.status, 409, last.text);
    assert.equal(last.json.error, 'factor_required');
  });
});

describe('MFA API: reauthentication window (GATEHOUSE_REAUTH_WINDOW=30)', () => {
  const ctx = {};
  before(async () => {
    ctx.mail = await startMailSink();
    ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url, GATEHOUSE_REAUTH_WINDOW: '30' } });
  });
  after(async () => { await ctx.server?.stop(); });

  test('(slow, ~32 s) sessions older than the window cannot change sign-in methods → 403 reauthentication_required; a fresh sign-in with the previous step\'s unused code (drift −1) can (SECURITY.md #24, #16)', async () => {
    // A: password only. C: password + app, at AAL2. D: an app, confirmed with the
    // previous step's code and never used since.
    const a = await signUp(ctx, 'stale-a');
    const c = await userWithTotp(ctx, 'stale-c');
    const d = await signUp(ctx, 'stale-d');
    const dTotp = await enrolTotp(d.browser, { offset: -1 });
    assert.equal((await a.browser.get('/api/v1/mfa')).json.reauth_required, false);

    await sleep(31_500);

    const listA = await a.browser.get('/api/v1/mfa');
    assert.equal(listA.status, 200);
    assert.equal(listA.json.reauth_required, true);
    const addA = await a.browser.post('/api/v1/mfa/totp', {});
    assert.equal(addA.status, 403, addA.text);
    assert.equal(addA.json.error, 'reauthentication_required');
    const emailA = await a.browser.put('/api/v1/mfa/email', { enabled: true });
    assert.equal(emailA.status, 403, emailA.text);
    const pkA = await a.browser.post('/api/v1/mfa/passkeys/options', {});
    assert.equal(pkA.status, 403, pkA.text);
    assert.equal(factorRows(ctx.server, a.id).length, 0, 'nothing was added');

    const renC = await c.browser.patch(`/api/v1/mfa/factors/${c.totp.id}`, { name: 'late' });
    assert.equal(renC.status, 403, `an AAL2 session past the window: ${renC.text}`);
    assert.equal(renC.json.error, 'reauthentication_required');
    const delC = await c.browser.del(`/api/v1/mfa/factors/${c.totp.id}`);
    assert.equal(delC.status, 403, delC.text);
    const regenC = await c.browser.post('/api/v1/mfa/recovery-codes', {});
    assert.equal(regenC.status, 403, regenC.text);
    assert.equal(factorRows(ctx.server, c.id)[0].name, 'Authenticator app');

    // a new sign-in is recent again
    const freshA = (await passwordSignIn(ctx, a)).b;
    const addFresh = await freshA.post('/api/v1/mfa/totp', {});
    assert.equal(addFresh.status, 200, addFresh.text);

    // drift −1 at sign-in: the previous step's code, unused so far, is accepted
    const { b: bD, r: rD } = await passwordSignIn(ctx, d);
    assert.equal(rD.json.status, 'mfa_required');
    await awayFromStepEdge();
    const prev = await bD.post('/api/v1/signin/mfa', { code: codeAt(dTotp.secret, currentStep() - 1) });
    assert.equal(prev.status, 200, `previous step's code: ${prev.text}`);
    assert.equal(prev.json.acr, AAL2);
  });
});

// =====================================================================
// 4. Passwordless email
// =====================================================================

describe('MFA API: passwordless email', () => {
  const ctx = {};
  before(async () => {
    ctx.mail = await startMailSink();
    ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url } });
  });
  after(async () => { await ctx.server?.stop(); });

  /** A user who turned on "Sign in with an emailed code", then signed out. */
  async function emailUser(tag) {
    const user = await signUp(ctx, tag);
    const since = ctx.mail.messages.length;
    const on = await user.browser.put('/api/v1/mfa/email', { enabled: true });
    assert.equal(on.status, 200, on.text);
    assert.deepEqual(on.json, { passwordless_email: true });
    await mailAfter(ctx, since, user.email, NOTICE);
    const list = await user.browser.get('/api/v1/mfa');
    assert.equal(list.json.passwordless_email, true);
    return user;
  }

  async function askCode(b, email) {
    const since = ctx.mail.messages.length;
    const r = await b.post('/api/v1/signin/email', { email });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'code_sent');
    return { r, since };
  }

  test('an emailed code signs in at AAL1 after sign-out (SECURITY.md #16)', async () => {
    const user = await emailUser('pwless');
    const out = await user.browser.post('/api/v1/signout', {});
    assert.equal(out.status, 200, out.text);
    assert.equal((await user.browser.session()).authenticated, false);

    const { r, since } = await askCode(user.browser, user.email);
    assert.equal(r.json.email, user.email);
    assert.ok(r.json.flow_id);
    const msg = await mailAfter(ctx, since, user.email);
    assert.equal(msg.subject, 'Your sign-in code');
    const code = codeFrom(msg);
    assert.equal(databaseContains(ctx.server, `"${code}"`), false);
    const v = await user.browser.post('/api/v1/verify', { flow_id: r.json.flow_id, code });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.status, 'signed_in');
    assert.equal(v.json.acr, AAL1);
    const s = await user.browser.session();
    assert.equal(s.authenticated, true);
    assert.equal(s.user.email, user.email);
    const again = await user.browser.post('/api/v1/verify', { flow_id: r.json.flow_id, code });
    assert.equal(again.status, 400, 'the code works once');
  });

  test('with an authenticator app too, the emailed code answers mfa_required and the app code completes, at AAL1: two possession factors are no AAL2 (NIST SP 800-63B 5.1.3.1; SECURITY.md #22)', async () => {
    const user = await emailUser('pwless-totp');
    const totp = await enrolTotp(user.browser); // allowed: no second factor yet, session recent
    await user.browser.post('/api/v1/signout', {});

    const b = new Browser(ctx.server);
    const { r, since } = await askCode(b, user.email);
    const code = codeFrom(await mailAfter(ctx, since, user.email, 'Your sign-in code'));
    const v = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.status, 'mfa_required');
    assert.ok(v.json.methods.includes('totp'));
    assert.equal((await b.session()).authenticated, false, 'no session before the second factor');
    const m = await b.post('/api/v1/signin/mfa', { code: codeAt(totp.secret, currentStep()) });
    assert.equal(m.status, 200, m.text);
    assert.equal(m.json.status, 'signed_in');
    assert.equal(m.json.acr, AAL1, 'an emailed code + an app is AAL1 (docs/mfa.md)');
    const s = await b.session();
    assert.equal(s.session.acr, AAL1);
    assert.ok(!s.session.amr.includes('mfa'), `no mfa claimed: ${s.session.amr}`);
  });

  test('five wrong codes expire the flow; the right code is then refused (SECURITY.md #13)', async () => {
    const user = await emailUser('pwless-five');
    const b = new Browser(ctx.server);
    const { r, since } = await askCode(b, user.email);
    const good = codeFrom(await mailAfter(ctx, since, user.email, 'Your sign-in code'));
    const bad = good === '000000' ? '111111' : '000000';
    for (let i = 1; i <= 4; i++) {
      const w = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code: bad });
      assert.equal(w.status, 400, w.text);
      assert.equal(w.json.error, 'invalid_code');
    }
    const fifth = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code: bad });
    assert.equal(fifth.status, 400);
    assert.equal(fifth.json.error, 'flow_expired');
    const late = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code: good });
    assert.equal(late.status, 400, late.text);
    assert.equal(late.json.error, 'flow_expired');
    assert.equal((await b.session()).authenticated, false);
    // Each refused code is a failed sign-in in the audit trail, with its reason.
    assert.deepEqual(auditRows(ctx.server, user.id, 'signin.failed').map((e) => e.reason),
      [...Array(5).fill('wrong code'), 'too many wrong codes']);
  });

  test('an address without the choice and an unknown one get the same answer and no mail (SECURITY.md #14)', async () => {
    const chosen = await emailUser('pwless-yes');
    const plain = await signUp(ctx, 'pwless-no');
    const unknown = `ghost-${randomHex(5)}@example.com`;
    const since = ctx.mail.messages.length;
    const answers = [];
    for (const email of [plain.email, unknown, chosen.email]) {
      const r = await new Browser(ctx.server).post('/api/v1/signin/email', { email });
      answers.push(r);
    }
    for (const [i, r] of answers.entries()) {
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.status, 'code_sent');
      assert.deepEqual(Object.keys(r.json).sort(), Object.keys(answers[2].json).sort(), `answer ${i}`);
      assert.equal(r.json.flow_id.length, answers[2].json.flow_id.length);
    }
    assert.equal(answers[0].json.email, plain.email);
    assert.equal(answers[1].json.email, unknown);
    await mailAfter(ctx, since, chosen.email, 'Your sign-in code');
    await sleep(1000);
    const strays = ctx.mail.messages.slice(since).filter((m) => to(plain.email)(m) || to(unknown)(m));
    assert.deepEqual(strays.map((m) => m.subject), [], 'no mail to an address without the choice');
    // a decoy flow never signs in
    const decoy = await new Browser(ctx.server).post('/api/v1/verify', { flow_id: answers[0].json.flow_id, code: '123456' });
    assert.equal(decoy.status, 400);
  });

  test('the link in the mail signs in from another browser, once (SECURITY.md #20, #34)', async () => {
    const user = await emailUser('pwless-link');
    const asker = new Browser(ctx.server);
    const { r, since } = await askCode(asker, user.email);
    const link = linkFrom(await mailAfter(ctx, since, user.email, 'Your sign-in code'));
    assert.equal(link.searchParams.get('flow'), r.json.flow_id);
    const other = new Browser(ctx.server);
    const v = await other.post('/api/v1/verify', { flow_id: link.searchParams.get('flow'), token: link.searchParams.get('token') });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.status, 'signed_in');
    assert.equal(v.json.acr, AAL1);
    assert.equal((await other.session()).user.email, user.email);
    assert.equal((await asker.session()).authenticated, false, 'the asking browser is not signed in by the link');
    const third = new Browser(ctx.server);
    const again = await third.post('/api/v1/verify', { flow_id: link.searchParams.get('flow'), token: link.searchParams.get('token') });
    assert.equal(again.status, 400, 'the link works once');
    // the sign-in is audited (SECURITY.md #47)
    const ok = auditRows(ctx.server, user.id, 'signin.succeeded');
    assert.equal(ok.at(-1).reason, 'emailed code', JSON.stringify(ok));
  });

  test('requests per address are throttled with 429 + Retry-After (SECURITY.md #12)', async () => {
    const email = `flood-${randomHex(5)}@example.com`;
    let limited = null;
    for (let i = 0; i < 8 && !limited; i++) {
      const r = await new Browser(ctx.server).post('/api/v1/signin/email', { email });
      if (r.status === 429) limited = r;
      else assert.equal(r.status, 200, r.text);
    }
    assert.ok(limited, 'no 429 after 8 requests for one address');
    assert.equal(limited.json.error, 'too_many_requests');
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
  });

  test('turning the choice off stops the codes', async () => {
    const user = await emailUser('pwless-off');
    const since = ctx.mail.messages.length;
    const off = await user.browser.put('/api/v1/mfa/email', { enabled: false });
    assert.equal(off.status, 200, off.text);
    assert.deepEqual(off.json, { passwordless_email: false });
    await mailAfter(ctx, since, user.email, NOTICE);
    const mark = ctx.mail.messages.length;
    const r = await new Browser(ctx.server).post('/api/v1/signin/email', { email: user.email });
    assert.equal(r.status, 200);
    await sleep(800);
    assert.equal(ctx.mail.messages.slice(mark).filter((m) => to(user.email)(m)).length, 0);
  });
});

// =====================================================================
// 5. WebAuthn with a software authenticator
// =====================================================================

describe('MFA API: passkeys (software ES256 authenticator, "none" attestation)', () => {
  const ctx = {};
  before(async () => {
    ctx.mail = await startMailSink();
    ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url } });
  });
  after(async () => { await ctx.server?.stop(); });

  test('creation options: rp id is the issuer host, attestation none, ES256/EdDSA/RS256, user handle; registration answers added + ten recovery codes', async () => {
    const user = await userWithPasskey(ctx, 'pkreg');
    const o = user.added.options;
    assert.equal(o.rp.id, new URL(ctx.server.issuer).hostname);
    assert.equal(o.rp.id, 'localhost');
    assert.equal(o.attestation, 'none');
    const algs = o.pubKeyCredParams.map((p) => p.alg);
    for (const a of [-7, -8, -257]) assert.ok(algs.includes(a), `alg ${a} in ${algs}`);
    assert.equal(o.authenticatorSelection.residentKey, 'preferred');
    assert.equal(o.authenticatorSelection.userVerification, 'preferred');
    assert.ok(fromB64url(o.challenge).length >= 8, 'challenge of at least 64 bits (SECURITY.md #21)');
    assert.ok(o.user.id && o.user.name === user.email);
    assert.equal(user.added.r.json.status, 'added');
    assert.equal(user.added.r.json.recovery_codes.length, 10);
    const row = sql(ctx.server, `SELECT credential_id, attestation FROM mfa_factors WHERE id = '${user.factorId}'`)[0];
    assert.equal(row.credential_id, user.cred.idB64);
    assert.equal(row.attestation, 'none');
    await ctx.mail.waitFor((m) => to(user.email)(m) && m.subject === NOTICE && /passkey/i.test(m.text), 10_000);
    assert.ok(auditRows(ctx.server, user.id, 'mfa.passkey_added').length === 1);
    // the account now has a second factor: its AAL1 session must reauthenticate to change more
    const again = await user.browser.post('/api/v1/mfa/passkeys/options', {});
    assert.equal(again.status, 403, again.text);
    assert.equal(again.json.error, 'reauthentication_required');
  });

  test('username-less sign-in with UV: AAL2 whether device-bound or backup-eligible; never AAL3 on the authenticator\'s own word (SECURITY.md #21, #23)', async () => {
    const user = await userWithPasskey(ctx, 'pkaal');
    const { b, r, options } = await passkeySignIn(ctx, user.auth);
    assert.equal(options.userVerification, 'required');
    assert.ok(!options.allowCredentials || options.allowCredentials.length === 0, 'no allowCredentials');
    assert.equal(options.rpId, 'localhost');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'signed_in');
    assert.equal(r.json.acr, AAL2);
    const s = await b.session();
    assert.equal(s.authenticated, true);
    assert.equal(s.user.email, user.email);
    // audited with the method (SECURITY.md #47)
    const ok = auditRows(ctx.server, user.id, 'signin.succeeded');
    assert.equal(JSON.parse(ok.at(-1).details).method, 'passkey', JSON.stringify(ok));

    // from that AAL2 session, a synced passkey (BE set)
    const synced = await addPasskey(b, user.auth, { backupEligible: true, name: 'Synced' });
    assert.ok(synced.options.excludeCredentials.some((c) => c.id === user.cred.idB64), 'the user\'s passkeys are excluded');
    assert.equal(synced.r.status, 200, synced.r.text);
    assert.equal(synced.r.json.recovery_codes, undefined);
    const list = await b.get('/api/v1/mfa');
    const syncedRow = list.json.factors.find((f) => f.id === synced.r.json.id);
    assert.equal(syncedRow.backup_eligible, true);
    assert.equal(list.json.factors.find((f) => f.id === user.factorId).backup_eligible, false);

    const viaSynced = await passkeySignIn(ctx, user.auth, { cred: synced.cred });
    assert.equal(viaSynced.r.status, 200, viaSynced.r.text);
    assert.equal(viaSynced.r.json.acr, AAL2);
    const viaBound = await passkeySignIn(ctx, user.auth, { cred: user.cred });
    assert.equal(viaBound.r.json.acr, AAL2);
  });

  test('refused assertions: wrong origin, wrong rp id, wrong type, cross-origin, other challenge, bad signature, no UV → 401; then a good one works (SECURITY.md #21)', async () => {
    const user = await userWithPasskey(ctx, 'pkbad');
    const cases = [
      ['origin https://evil.example', { origin: 'https://evil.example' }],
      ['rp id evil.example', { rpId: 'evil.example' }],
      ['type webauthn.create', { type: 'webauthn.create' }],
      ['crossOrigin true', { crossOrigin: true }],
      ['another challenge', { challenge: Buffer.alloc(32, 7).toString('base64url') }],
      ['tampered signature', { tamper: true }],
      ['UV clear on username-less sign-in', { uv: false }],
      ['UP clear', { up: false }],
    ];
    for (const [what, opts] of cases) {
      const { b, r } = await passkeySignIn(ctx, user.auth, opts);
      assert.equal(r.status, 401, `${what}: ${r.text}`);
      assert.equal(r.json.error, 'invalid_credentials', what);
      assert.equal(b.jar.has('gh_session'), false, what);
      assert.equal((await b.session()).authenticated, false, what);
    }
    const good = await passkeySignIn(ctx, user.auth);
    assert.equal(good.r.status, 200, good.r.text);
    const audited = auditRows(ctx.server, user.id, 'signin.failed');
    assert.ok(audited.some((a) => /origin/i.test(a.reason ?? '')), `audit reasons: ${audited.map((a) => a.reason)}`);
  });

  test('a consumed challenge cannot be used again: the same assertion replayed, or a new one over the same challenge → 401 (SECURITY.md #21)', async () => {
    const user = await userWithPasskey(ctx, 'pkreplay');
    const { b, r, options, credential } = await passkeySignIn(ctx, user.auth);
    assert.equal(r.status, 200, r.text);
    const replay = await b.post('/api/v1/signin/passkey', { credential });
    assert.equal(replay.status, 401, `replayed assertion: ${replay.text}`);
    const sameChallenge = user.auth.get(options); // counter goes up, challenge is the spent one
    const other = new Browser(ctx.server);
    await other.post('/api/v1/signin/passkey/options', {}); // a live challenge of its own
    const r2 = await b.post('/api/v1/signin/passkey', { credential: sameChallenge });
    assert.equal(r2.status, 401, r2.text);
    const r3 = await other.post('/api/v1/signin/passkey', { credential: sameChallenge });
    assert.equal(r3.status, 401, `a challenge is bound to its browser: ${r3.text}`);
    // a failed attempt spends the challenge too: one try per ceremony
    const o = await b.post('/api/v1/signin/passkey/options', {});
    const bad = await b.post('/api/v1/signin/passkey', { credential: user.auth.get(o.json.publicKey, { origin: 'https://evil.example' }) });
    assert.equal(bad.status, 401);
    const retry = await b.post('/api/v1/signin/passkey', { credential: user.auth.get(o.json.publicKey) });
    assert.equal(retry.status, 401, 'the challenge of a failed attempt is spent');
  });

  test('a sign count that does not grow → 401, the passkey is flagged cloned: true and audited passkey.clone_suspected', async () => {
    const user = await userWithPasskey(ctx, 'pkclone');
    const first = await passkeySignIn(ctx, user.auth, { signCount: 5 });
    assert.equal(first.r.status, 200, first.r.text);
    const same = await passkeySignIn(ctx, user.auth, { signCount: 5 });
    assert.equal(same.r.status, 401, `same counter: ${same.r.text}`);
    const lower = await passkeySignIn(ctx, user.auth, { signCount: 3 });
    assert.equal(lower.r.status, 401, `lower counter: ${lower.r.text}`);
    const list = await first.b.get('/api/v1/mfa');
    assert.equal(list.status, 200, list.text);
    const pk = list.json.factors.find((f) => f.id === user.factorId);
    assert.equal(pk.cloned, true, JSON.stringify(pk));
    assert.ok(auditRows(ctx.server, user.id, 'passkey.clone_suspected').length >= 1);
  });

  test('password + passkey as the second factor: allowCredentials lists it; AAL2 even without UV (never AAL3 without attestation)', async () => {
    const user = await userWithPasskey(ctx, 'pk2fa');
    const { b, r } = await passwordSignIn(ctx, user);
    assert.equal(r.json.status, 'mfa_required');
    assert.ok(r.json.methods.includes('passkey'), JSON.stringify(r.json.methods));
    const o = await b.post('/api/v1/signin/mfa/passkey/options', {});
    assert.equal(o.status, 200, o.text);
    assert.ok(o.json.publicKey.allowCredentials.some((c) => c.id === user.cred.idB64));
    const wrongOrigin = await b.post('/api/v1/signin/mfa', { passkey: user.auth.get(o.json.publicKey, { origin: 'https://evil.example' }) });
    assert.equal(wrongOrigin.status, 401, wrongOrigin.text);
    // someone else's passkey is not this account's second factor
    const stranger = await userWithPasskey(ctx, 'pkstranger');
    const o1 = await b.post('/api/v1/signin/mfa/passkey/options', {});
    const foreign = await b.post('/api/v1/signin/mfa', { passkey: stranger.auth.get(o1.json.publicKey, { cred: stranger.cred }) });
    assert.equal(foreign.status, 401, `another user's passkey: ${foreign.text}`);
    assert.equal((await b.session()).authenticated, false);
    const o2 = await b.post('/api/v1/signin/mfa/passkey/options', {});
    const m = await b.post('/api/v1/signin/mfa', { passkey: user.auth.get(o2.json.publicKey, { uv: false }) });
    assert.equal(m.status, 200, m.text);
    assert.equal(m.json.status, 'signed_in');
    assert.equal(m.json.acr, AAL2);
  });

  test('registration is refused with a wrong origin, rp id or type, and over a challenge already spent; nothing is stored', async () => {
    const user = await signUp(ctx, 'pkregbad');
    const auth = new SoftAuthenticator({ origin: new URL(ctx.server.issuer).origin });
    for (const [what, createOpts] of [
      ['wrong origin', { origin: 'https://evil.example' }],
      ['wrong rp id', { rpId: 'evil.example' }],
      ['wrong type', { type: 'webauthn.get' }],
      ['another challenge', { challenge: Buffer.alloc(32, 9).toString('base64url') }],
    ]) {
      const { r } = await addPasskey(user.browser, auth, { createOpts: { ...createOpts, keep: false } });
      assert.equal(r.status, 400, `${what}: ${r.text}`);
      assert.equal(r.json.error, 'invalid_credential', what);
    }
    // the refused attempt spent its challenge: a good credential over it fails too
    const o = await user.browser.post('/api/v1/mfa/passkeys/options', {});
    const bad = auth.create(o.json.publicKey, { origin: 'https://evil.example', keep: false });
    assert.equal((await user.browser.post('/api/v1/mfa/passkeys', { credential: bad.credential })).status, 400);
    const late = auth.create(o.json.publicKey, { keep: false });
    const r = await user.browser.post('/api/v1/mfa/passkeys', { credential: late.credential });
    assert.equal(r.status, 400, `a spent challenge: ${r.text}`);
    assert.equal(factorRows(ctx.server, user.id).length, 0);
    const refused = auditRows(ctx.server, user.id, 'mfa.passkey_refused');
    assert.ok(refused.length >= 4, `audited refusals: ${refused.length}`);
    // a fresh ceremony still works
    const ok = await addPasskey(user.browser, auth);
    assert.equal(ok.r.status, 200, ok.r.text);
    assert.equal(factorRows(ctx.server, user.id).length, 1);
  });
});

// =====================================================================
// 6. Step-up through openid-client
// =====================================================================

describe('MFA API: step-up with openid-client (acr_values, claims, minimum_acr_value, max_age)', () => {
  const ctx = {};
  let reg;
  let config;
  before(async () => {
    ctx.mail = await startMailSink();
    ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url } });
    reg = await registerClient(ctx.server, { client_name: 'Shop', redirect_uris: [REDIRECT] });
    config = await configFor(ctx.server, reg);
  });
  after(async () => { await ctx.server?.stop(); });

  test('discovery lists the three acr values and claims_parameter_supported', () => {
    const meta = config.serverMetadata();
    assert.deepEqual([...meta.acr_values_supported].sort(), [AAL1, AAL2, AAL3]);
    assert.equal(meta.claims_parameter_supported, true);
  });

  test('password + app, acr_values=aal2 → ID token acr aal2, amr pwd otp mfa (SECURITY.md #22)', async () => {
    const user = await userWithTotp(ctx, 'oidc2');
    const flow = await startFlow(config, user.browser, { acr_values: AAL2 });
    const tokens = await redeem(config, flow);
    const claims = tokens.claims();
    assert.equal(claims.acr, AAL2);
    for (const m of ['pwd', 'otp', 'mfa']) assert.ok(claims.amr.includes(m), `amr ${claims.amr}`);
    assert.equal(claims.sub, user.id);
  });

  test('password only, no factors: acr_values=aal2 is voluntary → acr aal1, stated truthfully (SECURITY.md #22)', async () => {
    const user = await signUp(ctx, 'oidc1');
    const flow = await startFlow(config, user.browser, { acr_values: AAL2 });
    const claims = (await redeem(config, flow)).claims();
    assert.equal(claims.acr, AAL1);
    assert.deepEqual(claims.amr, ['pwd']);
  });

  test('password only: an essential acr in claims, or a client\'s minimum_acr_value → error=unmet_authentication_requirements', async () => {
    const user = await signUp(ctx, 'oidcunmet');
    const claimsParam = JSON.stringify({ id_token: { acr: { essential: true, values: [AAL2] } } });
    const flow = await startFlow(config, user.browser, { claims: claimsParam });
    assert.equal(flow.url.origin + flow.url.pathname, REDIRECT);
    assert.equal(flow.url.searchParams.get('error'), 'unmet_authentication_requirements');
    assert.equal(flow.url.searchParams.get('state'), flow.state);
    assert.equal(flow.url.searchParams.get('code'), null);

    const strict = await registerClient(ctx.server, { client_name: 'Bank', redirect_uris: [REDIRECT], minimum_acr_value: AAL2 });
    const strictConfig = await configFor(ctx.server, strict);
    const f2 = await startFlow(strictConfig, user.browser);
    assert.equal(f2.url.origin + f2.url.pathname, REDIRECT);
    assert.equal(f2.url.searchParams.get('error'), 'unmet_authentication_requirements');
    assert.equal(f2.url.searchParams.get('code'), null);
  });

  test('a client\'s default_acr_values are voluntary: a password-only user gets acr aal1; a user with an app is stepped up', async () => {
    const dflt = await registerClient(ctx.server, { client_name: 'Default AAL2', redirect_uris: [REDIRECT], default_acr_values: [AAL2] });
    const dfltConfig = await configFor(ctx.server, dflt);
    const plain = await signUp(ctx, 'oidcdefault');
    const claims = (await redeem(dfltConfig, await startFlow(dfltConfig, plain.browser))).claims();
    assert.equal(claims.acr, AAL1);
    const withApp = await signUp(ctx, 'oidcdefault2');
    await enrolTotp(withApp.browser);
    const flow = await startFlow(dfltConfig, withApp.browser);
    assert.equal(flow.url.pathname, '/signin/mfa', `${flow.url}`);
  });

  test('an AAL1 session of a user who then added an app: acr_values=aal2 → /signin/mfa (stepup) → code with acr aal2 and a newer auth_time; the session id changes (SECURITY.md #22, #27)', async () => {
    const user = await signUp(ctx, 'stepup'); // the session predates the app
    const totp = await enrolTotp(user.browser);
    const plain = await startFlow(config, user.browser);
    const first = (await redeem(config, plain)).claims();
    assert.equal(first.acr, AAL1);
    await sleep(1100);

    const flow = await startFlow(config, user.browser, { acr_values: AAL2 });
    assert.equal(flow.url.pathname, '/signin/mfa', `step-up goes to /signin/mfa, not /signin: ${flow.url}`);
    const back = flow.url.searchParams.get('return_to');
    assert.ok(back?.startsWith('/authorize?'), `return_to: ${back}`);
    const info = await user.browser.get('/api/v1/signin/mfa');
    assert.equal(info.status, 200, info.text);
    assert.equal(info.json.context, 'stepup');
    assert.ok(info.json.methods.includes('totp'));

    const cookieBefore = user.browser.jar.get('gh_session');
    const m = await user.browser.post('/api/v1/signin/mfa', { code: codeAt(totp.secret, currentStep()), return_to: back });
    assert.equal(m.status, 200, m.text);
    assert.equal(m.json.status, 'signed_in');
    assert.equal(m.json.acr, AAL2);
    assert.equal(m.json.return_to, back);
    assert.notEqual(user.browser.jar.get('gh_session'), cookieBefore, 'a new session id at step-up');

    const done = await user.browser.authorize(new URL(m.json.return_to, ctx.server.issuer));
    assert.ok(done.url?.searchParams.get('code'), `a code after the step-up: ${done.url ?? done.res?.status}`);
    const claims = (await redeem(config, flow, done.url)).claims();
    assert.equal(claims.acr, AAL2);
    for (const x of ['pwd', 'otp', 'mfa']) assert.ok(claims.amr.includes(x), `amr ${claims.amr}`);
    assert.ok(claims.auth_time > first.auth_time, `auth_time ${claims.auth_time} after ${first.auth_time}`);
    assert.equal(claims.sid, first.sid, 'the same session, stepped up');
  });

  test('max_age=0 sends a signed-in user to /signin; a user with an app gives password and code again (SECURITY.md #22)', async () => {
    const user = await userWithTotp(ctx, 'maxage');
    const b = user.browser;
    await sleep(1100);
    const flow = await startFlow(config, b, { max_age: '0' });
    assert.equal(flow.url.pathname, '/signin', `max_age=0: ${flow.url}`);
    const back = flow.url.searchParams.get('return_to');
    const r = await b.post('/api/v1/signin', { email: user.email, password: user.password, return_to: back });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'mfa_required', 'the fresh sign-in asks for the second factor too');
    const m = await b.post('/api/v1/signin/mfa', { code: codeAt(user.totp.secret, currentStep() + 1) });
    assert.equal(m.status, 200, m.text);
    assert.equal(m.json.return_to, back);
    const done = await b.authorize(new URL(back, ctx.server.issuer));
    const claims = (await redeem(config, flow, done.url)).claims();
    assert.ok(Date.now() / 1000 - claims.auth_time < 5, 'auth_time is the fresh sign-in');
    assert.equal(claims.acr, AAL2);
  });

  test('a passkey sign-in: ID token acr aal2, amr pop user mfa (no attestation: neither aal3 nor hwk); a synced one aal2 with swk (docs/mfa.md table)', async () => {
    const user = await userWithPasskey(ctx, 'oidcpk');
    const { b, r } = await passkeySignIn(ctx, user.auth);
    assert.equal(r.status, 200, r.text);
    const claims = (await redeem(config, await startFlow(config, b, { acr_values: AAL3 }))).claims();
    assert.equal(claims.acr, AAL2, 'aal3 asked as a preference: the truthful level is given');
    assert.deepEqual([...claims.amr].sort(), ['mfa', 'pop', 'user']);
    // aal3 as an essential claim cannot be met by an unattested passkey
    const essential = JSON.stringify({ id_token: { acr: { essential: true, values: [AAL3] } } });
    const refused = await startFlow(config, b, { claims: essential });
    assert.equal(refused.url.searchParams.get('error'), 'unmet_authentication_requirements');
    assert.equal(refused.url.searchParams.get('code'), null);

    const synced = await addPasskey(b, user.auth, { backupEligible: true });
    assert.equal(synced.r.status, 200, synced.r.text);
    const s2 = await passkeySignIn(ctx, user.auth, { cred: synced.cred });
    const c2 = (await redeem(config, await startFlow(config, s2.b))).claims();
    assert.equal(c2.acr, AAL2);
    assert.deepEqual([...c2.amr].sort(), ['mfa', 'swk', 'user']);
  });

  test('an emailed code (passwordless) → ID token acr aal1, amr otp', async () => {
    const user = await signUp(ctx, 'oidcmail');
    assert.equal((await user.browser.put('/api/v1/mfa/email', { enabled: true })).status, 200);
    const b = new Browser(ctx.server);
    const since = ctx.mail.messages.length;
    const r = await b.post('/api/v1/signin/email', { email: user.email });
    const code = codeFrom(await mailAfter(ctx, since, user.email, 'Your sign-in code'));
    const v = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code });
    assert.equal(v.json.status, 'signed_in', v.text);
    const ok = auditRows(ctx.server, user.id, 'signin.succeeded');
    assert.equal(ok.at(-1).reason, 'emailed code', 'the sign-in is audited (SECURITY.md #47)');
    const claims = (await redeem(config, await startFlow(config, b))).claims();
    assert.equal(claims.acr, AAL1);
    assert.deepEqual(claims.amr, ['otp']);
  });

  test('password + recovery code → ID token acr aal2, amr pwd otp mfa', async () => {
    const user = await signUp(ctx, 'oidcrc');
    const totp = await enrolTotp(user.browser);
    const { b } = await passwordSignIn(ctx, user);
    const m = await b.post('/api/v1/signin/mfa', { recovery_code: totp.recoveryCodes[9] });
    assert.equal(m.status, 200, m.text);
    const claims = (await redeem(config, await startFlow(config, b))).claims();
    assert.equal(claims.acr, AAL2);
    assert.deepEqual([...claims.amr].sort(), ['mfa', 'otp', 'pwd']);
  });
});

// =====================================================================
// 7. Bad input
// =====================================================================

describe('MFA API: bad input changes nothing', () => {
  const ctx = {};
  before(async () => {
    ctx.mail = await startMailSink();
    ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url } });
  });
  after(async () => { await ctx.server?.stop(); });

  /** Sends a body as it is (string or Buffer) with the CSRF token. */
  function rawSend(b, method, path, body, type = 'application/json') {
    return b.raw(method, path, {
      body, headers: { 'content-type': type, 'x-csrf-token': b.csrf, origin: b.origin },
    });
  }

  test('missing or wrong CSRF token, foreign Origin → 403 csrf and no factor created', async () => {
    const user = await signUp(ctx, 'csrf');
    const b = user.browser;
    const cases = [
      ['no token', () => b.post('/api/v1/mfa/totp', {}, { csrf: false })],
      ['forged token', () => b.post('/api/v1/mfa/totp', {}, { headers: { 'x-csrf-token': 'forged' } })],
      ['foreign origin', () => b.post('/api/v1/mfa/totp', {}, { headers: { origin: 'https://evil.example' } })],
      ['passkey options, no token', () => b.post('/api/v1/mfa/passkeys/options', {}, { csrf: false })],
      ['email choice, no token', () => b.put('/api/v1/mfa/email', { enabled: true }, { csrf: false })],
      ['recovery codes, no token', () => b.post('/api/v1/mfa/recovery-codes', {}, { csrf: false })],
    ];
    for (const [what, send] of cases) {
      const r = await send();
      assert.equal(r.status, 403, `${what}: ${r.text}`);
      assert.equal(r.json?.error, 'csrf', what);
    }
    assert.equal(factorRows(ctx.server, user.id).length, 0);
    assert.equal((await b.get('/api/v1/mfa')).json.passwordless_email, false);

    const totp = await enrolTotp(b);
    const b2 = await signInTotp(ctx, user, totp.secret);
    const del = await b2.del(`/api/v1/mfa/factors/${totp.id}`, { csrf: false });
    assert.equal(del.status, 403, del.text);
    const ren = await b2.patch(`/api/v1/mfa/factors/${totp.id}`, { name: 'x' }, { csrf: false });
    assert.equal(ren.status, 403, ren.text);
    const rows = factorRows(ctx.server, user.id);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].name, 'Authenticator app');
  });

  test('malformed JSON, wrong content type, oversized fields and bodies → 4xx; the set-up stays unconfirmed', async () => {
    const user = await signUp(ctx, 'badjson');
    const b = user.browser;
    const setup = await b.post('/api/v1/mfa/totp', {});
    assert.equal(setup.status, 200, setup.text);
    const confirm = `/api/v1/mfa/totp/${setup.json.id}/confirm`;
    const code = codeAt(setup.json.secret, currentStep());

    const malformed = await rawSend(b, 'POST', confirm, `{"code": "${code}"`);
    assert.equal(malformed.status, 400, malformed.text);
    assert.equal(malformed.json.error, 'invalid_request');
    const form = await rawSend(b, 'POST', confirm, `code=${code}`, 'application/x-www-form-urlencoded');
    assert.equal(form.status, 415, form.text);
    const text = await rawSend(b, 'POST', confirm, JSON.stringify({ code }), 'text/plain');
    assert.equal(text.status, 415, text.text);
    const notObject = await rawSend(b, 'POST', confirm, JSON.stringify([code]));
    assert.equal(notObject.status, 400, notObject.text);
    const wrongType = await rawSend(b, 'POST', confirm, JSON.stringify({ code: Number(code) }));
    assert.equal(wrongType.status, 400, wrongType.text);
    const longName = await b.post(confirm, { code, name: 'n'.repeat(5000) });
    assert.equal(longName.status, 400, longName.text);
    const longCode = await b.post(confirm, { code: '1'.repeat(5000) });
    assert.equal(longCode.status, 400, longCode.text);
    const control = await b.post(confirm, { code, name: 'bad\u0000name' });
    assert.equal(control.status, 400, control.text);

    // a body over 16 KiB, announced with Expect: 100-continue
    const huge = await new Promise((resolve, reject) => {
      const body = JSON.stringify({ code, name: 'x'.repeat(20 * 1024) });
      const req = http.request(`${ctx.server.url}${confirm}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue',
          cookie: b.cookieHeader(), 'x-csrf-token': b.csrf, origin: b.origin,
        },
      }, (res) => { res.resume(); resolve({ status: res.statusCode }); });
      req.on('continue', () => req.end(body));
      req.on('error', reject);
    });
    assert.equal(huge.status, 413);

    const rows = factorRows(ctx.server, user.id);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].confirmed, 0, 'no bad request confirmed the set-up');
    assert.equal((await b.get('/api/v1/mfa')).json.factors.length, 0);
    // and the right request still works afterwards
    const ok = await b.post(confirm, { code });
    assert.equal(ok.status, 200, ok.text);
  });

  test('bad values for the email choice, rename, sign-in steps and passkeys → 4xx and no change', async () => {
    const user = await userWithTotp(ctx, 'badvals');
    const b = user.browser;
    for (const body of [{ enabled: 'yes' }, { enabled: 1 }, {}, { enabled: null }]) {
      const r = await b.put('/api/v1/mfa/email', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    }
    assert.equal((await b.get('/api/v1/mfa')).json.passwordless_email, false);
    const wrongTypeEmail = await rawSend(b, 'PUT', '/api/v1/mfa/email', 'enabled=true', 'application/x-www-form-urlencoded');
    assert.equal(wrongTypeEmail.status, 415, wrongTypeEmail.text);

    for (const body of [{ name: '' }, { name: 'n'.repeat(500) }, { name: 7 }, {}]) {
      const r = await b.patch(`/api/v1/mfa/factors/${user.totp.id}`, body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    }
    const malformedPatch = await rawSend(b, 'PATCH', `/api/v1/mfa/factors/${user.totp.id}`, '{"name":');
    assert.equal(malformedPatch.status, 400);
    assert.equal(factorRows(ctx.server, user.id)[0].name, 'Authenticator app');

    const { b: pending } = await passwordSignIn(ctx, user);
    const both = await pending.post('/api/v1/signin/mfa', { code: '123456', recovery_code: user.totp.recoveryCodes[0] });
    assert.equal(both.status, 400, both.text);
    assert.equal(both.json.error, 'invalid_request');
    const none = await pending.post('/api/v1/signin/mfa', {});
    assert.equal(none.status, 400, none.text);
    const malformedMfa = await rawSend(pending, 'POST', '/api/v1/signin/mfa', '{"code":');
    assert.equal(malformedMfa.status, 400);
    assert.equal((await pending.session()).authenticated, false);
    assert.equal((await pending.get('/api/v1/signin/mfa')).json.recovery_codes_remaining, 10, 'no recovery code spent');

    const garbage = await b.post('/api/v1/mfa/passkeys', { credential: { id: 'x', response: { clientDataJSON: '!!', attestationObject: 'AAAA' } } });
    assert.equal(garbage.status, 400, garbage.text);
    assert.equal(garbage.json.error, 'invalid_credential');
    const noCred = await new Browser(ctx.server).post('/api/v1/signin/passkey', { credential: 'x' });
    assert.equal(noCred.status, 400, noCred.text);
    const junkAssertion = await (async () => {
      const nb = new Browser(ctx.server);
      await nb.post('/api/v1/signin/passkey/options', {});
      return nb.post('/api/v1/signin/passkey', { credential: { id: 'AAAA', type: 'public-key', response: { clientDataJSON: 'e30', authenticatorData: 'AAAA', signature: 'AAAA' } } });
    })();
    assert.equal(junkAssertion.status, 401, junkAssertion.text);
    assert.equal(factorRows(ctx.server, user.id).length, 1, 'no factor created');
  });
});
