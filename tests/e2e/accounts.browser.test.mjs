// The accounts journey in a real browser: the hosted pages (/signin,
// /signup, /verify, /account, /error) against the real binary, Chromium
// driven by playwright-core, mail caught by a real SMTP sink, accessibility
// checked with axe-core. Requests a browser cannot make (no CSRF header, a
// foreign Origin, broken bytes) go over node:http.
//
// Pages are driven by accessible name only (BRIEF.md: visible labels "Email",
// "Password", "Code"; buttons and links by their text). Tests cite the
// SECURITY.md ids they check.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { launchChromium, alertText, pageSession, assertAccessible } from './lib/chromium.mjs';

import * as lib from './lib/server.mjs';
import { startServer, stopAll, scim, userBody, randomHex, rawRequest, sleep, REPO_ROOT } from './lib/server.mjs';
import { startMailSink, codeFrom } from './lib/mail.mjs';

const SHOTS_DIR = '/tmp/gatehouse-shots';
const MAIL_TIMEOUT_MS = 15_000;
const PAGES = ['signin', 'signup', 'verify', 'account', 'error'];

let browser;
let mail;
let server; // default settings

// ---------------------------------------------------------------- helpers

/** A password no policy should refuse: long, random, no context words. */
function strongPassword() {
  return `Lantern ${randomHex(6)} river ${randomHex(4)}`;
}

function newEmail(tag) {
  return `${tag}-${randomHex(5)}@example.com`;
}

/** Rows of a query on the server's database (SQLite file or PostgreSQL). */
function sqlRows(srv, q) {
  return typeof lib.sql === 'function' ? lib.sql(srv, q) : lib.sqlite(srv.dbPath, q);
}

function counts(srv) {
  const out = {};
  for (const t of ['users', 'credentials', 'sessions', 'email_flows', 'mail_outbox']) {
    out[t] = Number(sqlRows(srv, `SELECT count(*) AS n FROM ${t}`)[0].n);
  }
  return out;
}

async function startGatehouse(env = {}) {
  return startServer({ env: { GATEHOUSE_SMTP_URL: mail.url, ...env } });
}

/** A fresh browser context whose pages talk to srv's issuer origin. */
async function newPage(srv, options = {}) {
  const ctx = await browser.newContext({ baseURL: srv.issuer, ...options });
  const page = await ctx.newPage();
  page.cspErrors = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) page.cspErrors.push(m.text());
  });
  return { ctx, page };
}

function addressedTo(m, email) {
  const to = typeof m.to === 'string' ? m.to : JSON.stringify(m.to ?? '');
  return to.toLowerCase().includes(email.toLowerCase());
}

/** The next mail to email that has not been returned before. */
const seenMail = new Set();
async function nextMail(email) {
  const m = await mail.waitFor((x) => addressedTo(x, email) && !seenMail.has(x), MAIL_TIMEOUT_MS);
  assert.ok(m, `no mail to ${email} within ${MAIL_TIMEOUT_MS} ms`);
  seenMail.add(m);
  return m;
}

const LINK_RE = /https?:\/\/[^\s<>"')]+\/verify\?[^\s<>"')]+/;

function linkFrom(m) {
  const found = (m.text ?? '').match(LINK_RE) ?? (m.html ?? '').replaceAll('&amp;', '&').match(LINK_RE);
  assert.ok(found, `no /verify link in the mail: ${m.text}`);
  return found[0];
}

const onPath = (p) => (url) => url.pathname === p;

/** Fills the sign-up form by accessible name and submits it. */
async function fillSignUp(page, email, password, { given, family } = {}) {
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  if (given) await page.getByLabel('First name', { exact: true }).fill(given);
  if (family) await page.getByLabel('Last name', { exact: true }).fill(family);
  await page.getByRole('button', { name: 'Create account', exact: true }).click();
}

async function fillSignIn(page, email, password) {
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** A SCIM-created user who can sign in at once (BRIEF.md). */
async function scimUser(srv, tag) {
  const email = newEmail(tag);
  const password = strongPassword();
  const r = await scim(srv, 'POST', '/Users', userBody(email, { password }));
  assert.equal(r.status, 201, `SCIM create: ${r.status} ${r.text}`);
  return { email, password, id: r.body.id };
}

/**
 * A cookie-keeping API client over node:http, for requests a browser would
 * not make. Sends Origin: the issuer unless told otherwise (origin: false
 * sends none).
 */
function apiClient(srv) {
  const jar = new Map();
  const c = {
    jar,
    async send(method, p, { body, headers = {}, origin = srv.issuer } = {}) {
      const h = { accept: 'application/json', ...headers };
      if (origin) h.origin = origin;
      if (jar.size) h.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      let payload;
      if (body !== undefined) {
        payload = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
        h['content-type'] ??= 'application/json';
        h['content-length'] = String(payload.length);
      }
      // A large body waits for "100 Continue": a server that refuses it
      // early (413) may close before reading it all, and a reset socket can
      // lose the answer.
      const large = payload && payload.length > 64 * 1024;
      if (large) h.expect = '100-continue';
      const r = await rawRequest(srv, {
        method, path: p, headers: h, timeoutMs: 30_000,
        write: (req) => {
          if (!large) return req.end(payload);
          req.on('continue', () => req.end(payload));
          req.on('response', (res) => res.on('end', () => req.destroy()));
          return undefined;
        },
      });
      r.setCookies = [].concat(r.headers['set-cookie'] ?? []);
      for (const sc of r.setCookies) {
        const [pair, ...attrs] = sc.split(';');
        const i = pair.indexOf('=');
        const name = pair.slice(0, i).trim();
        const value = pair.slice(i + 1).trim();
        const gone = value === '' || attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a));
        if (gone) jar.delete(name);
        else jar.set(name, value);
      }
      return r;
    },
    async session() {
      const r = await c.send('GET', '/api/v1/session');
      assert.equal(r.status, 200, `GET /api/v1/session: ${r.status} ${r.text}`);
      return r.body;
    },
    /** A POST with a fresh CSRF token unless csrf: false. */
    async post(p, body, { csrf = true, headers = {}, origin } = {}) {
      const token = csrf ? (await c.session()).csrf_token : null;
      return c.send('POST', p, { body, headers: { ...(token ? { 'x-csrf-token': token } : {}), ...headers }, origin });
    },
  };
  return c;
}

function assertJsonError(r, what) {
  assert.ok(r.status >= 400 && r.status < 500, `${what}: expected a 4xx, got ${r.status}: ${r.text.slice(0, 300)}`);
  assert.match(String(r.headers['content-type']), /^application\/json\b/, `${what}: errors are JSON`);
  assert.ok(r.body && typeof r.body.error === 'string', `${what}: {"error": ...} expected: ${r.text.slice(0, 300)}`);
}

// ---------------------------------------------------------------- setup

before(async () => {
  mail = await startMailSink();
  server = await startGatehouse();
  browser = await launchChromium();
  fs.mkdirSync(SHOTS_DIR, { recursive: true });
});

after(async () => {
  await browser?.close();
  await stopAll();
  await mail?.stop();
});

// ---------------------------------------------------------------- serving

describe('hosted pages are served from the binary', () => {
  test('pages: text/html, no-store, the page CSP; GET / → 302 /account', async () => {
    for (const p of PAGES) {
      const r = await lib.request(server, 'GET', `/${p}`);
      assert.equal(r.status, 200, `/${p}`);
      assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.match(r.headers.get('cache-control') ?? '', /no-store/);
      const csp = r.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.match(r.text, /<html lang="en">/);
    }
    const root = await rawRequest(server, { path: '/' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.location, '/account');
  });

  test('assets: right types, public for 300 s, an ETag that answers 304; unknown names and traversal → 404', async () => {
    for (const [file, type] of [['gatehouse.css', 'text/css; charset=utf-8'], ['gatehouse.js', 'text/javascript; charset=utf-8']]) {
      const r = await lib.request(server, 'GET', `/assets/${file}`);
      assert.equal(r.status, 200, file);
      assert.equal(r.headers.get('content-type'), type);
      assert.equal(r.headers.get('cache-control'), 'public, max-age=300');
      const etag = r.headers.get('etag');
      assert.match(etag ?? '', /^"[0-9a-f]{64}"$/, 'the ETag is the quoted hex of a hash');
      const again = await lib.request(server, 'GET', `/assets/${file}`);
      assert.equal(again.headers.get('etag'), etag, 'the ETag is stable');
      const cached = await lib.request(server, 'GET', `/assets/${file}`, { headers: { 'if-none-match': etag } });
      assert.equal(cached.status, 304);
      assert.equal(cached.text, '');
    }
    for (const p of ['/assets/nope.css', '/assets/..%2fsignin.html', '/assets/%2e%2e%2fsignin.html',
      '/assets/signin.html', '/assets/', '/assets/gatehouse.css/x', '/signin.html', '/web/signin.html']) {
      const r = await rawRequest(server, { path: p });
      assert.ok(r.status === 404 || r.status === 400, `${p} → ${r.status}`);
      assert.doesNotMatch(r.text, /<html/i, `${p} must not serve a page`);
    }
  });

  test('the page sources keep to the CSP: no inline script or style, no style attributes, no external URLs', () => {
    for (const p of PAGES) {
      const html = fs.readFileSync(path.join(REPO_ROOT, 'web', `${p}.html`), 'utf8');
      assert.doesNotMatch(html, /<style/i, `${p}: inline <style>`);
      assert.doesNotMatch(html, /\sstyle\s*=/i, `${p}: style attribute`);
      assert.doesNotMatch(html, /\son[a-z]+\s*=/i, `${p}: inline event handler`);
      assert.doesNotMatch(html, /https?:\/\//i, `${p}: external URL`);
      for (const tag of html.match(/<script\b[^>]*>/gi) ?? []) {
        assert.match(tag, /\ssrc="\/assets\/[^"]+"/, `${p}: inline script ${tag}`);
      }
    }
    const css = fs.readFileSync(path.join(REPO_ROOT, 'web', 'assets', 'gatehouse.css'), 'utf8');
    assert.doesNotMatch(css, /@import|url\(\s*['"]?https?:/i, 'no external fonts or imports');
    assert.match(css, /:focus-visible/, 'visible focus styles');
  });
});

// ---------------------------------------------------------------- journeys

describe('accounts journey in the browser', () => {
  test('sign-up → 6-digit code from the mail → signed in → account shows the email → Sign out → signed out (SECURITY.md #16, #29; return_to survives the journey)', async () => {
    const email = newEmail('journey');
    const password = strongPassword();
    const { ctx, page } = await newPage(server);
    try {
      // Start from sign-in with a return_to and follow "Create account".
      await page.goto(`/signin?return_to=${encodeURIComponent('/account?journey=1')}`);
      await page.getByRole('link', { name: 'Create account', exact: true }).click();
      await page.waitForURL(onPath('/signup'));
      assert.equal(new URL(page.url()).searchParams.get('return_to'), '/account?journey=1', 'the link keeps return_to');

      // A refused password is explained in the alert (SECURITY.md #5: contains the local part).
      await fillSignUp(page, email, `${email.split('@')[0]} is my password`);
      const refusal = await alertText(page);
      assert.ok(refusal.length > 5, 'the refusal says why');
      assert.equal(new URL(page.url()).pathname, '/signup');

      await fillSignUp(page, email, password, { given: 'Journey', family: 'Tester' });
      await page.waitForURL(onPath('/verify'));
      const verifyUrl = new URL(page.url());
      assert.ok(verifyUrl.searchParams.get('flow'), 'the verify page knows the flow');
      assert.equal(verifyUrl.searchParams.get('return_to'), '/account?journey=1', 'return_to is passed on to /verify');

      const m = await nextMail(email);
      const code = codeFrom(m);
      assert.match(code, /^\d{6}$/);
      assert.ok(!(m.text ?? '').includes(password), 'the mail never carries the password');

      const before = await pageSession(page);
      assert.equal(before.authenticated, false, 'not signed in before verification');

      await page.getByLabel('Code', { exact: true }).fill(code);
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      await page.waitForURL((u) => u.pathname === '/account');
      assert.equal(new URL(page.url()).search, '?journey=1', 'the return_to from sign-up is followed after verification');

      await page.locator('main').getByText(email, { exact: true }).waitFor();
      const s = await pageSession(page);
      assert.equal(s.authenticated, true);
      assert.equal(s.user.email, email);
      assert.equal(s.user.email_verified, true);

      // The session list shows this browser.
      await page.getByText('This browser').waitFor();
      const oldCookies = await ctx.cookies(server.issuer);

      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await page.waitForURL(onPath('/signin'));
      assert.equal((await pageSession(page)).authenticated, false);
      await page.goto('/account');
      await page.waitForURL(onPath('/signin'));

      // SECURITY.md #29: the old session cookie is dead on the server.
      const old = oldCookies.find((c) => c.name.endsWith('gh_session'));
      assert.ok(old, 'there was a session cookie');
      const r = await rawRequest(server, { path: '/api/v1/sessions', headers: { cookie: `${old.name}=${old.value}` } });
      assert.equal(r.status, 401, `the old session after sign-out: ${r.status} ${r.text}`);
      assert.deepEqual(page.cspErrors, []);
    } finally {
      await ctx.close();
    }
  });

  test('verification by the emailed link: same browser → signed in; another browser → verified, then sign in', async () => {
    // Same browser.
    {
      const email = newEmail('link-same');
      const { ctx, page } = await newPage(server);
      try {
        await page.goto('/signup');
        await fillSignUp(page, email, strongPassword());
        await page.waitForURL(onPath('/verify'));
        const link = linkFrom(await nextMail(email));
        assert.equal(new URL(link).origin, server.issuer, 'the link points at the issuer');
        await page.goto(link);
        await page.waitForURL(onPath('/account'));
        await page.locator('main').getByText(email, { exact: true }).waitFor();
      } finally {
        await ctx.close();
      }
    }
    // Another browser: the link verifies the address; the user then signs in.
    {
      const email = newEmail('link-other');
      const password = strongPassword();
      const a = await newPage(server);
      const b = await newPage(server);
      try {
        await a.page.goto('/signup');
        await fillSignUp(a.page, email, password);
        await a.page.waitForURL(onPath('/verify'));
        const link = linkFrom(await nextMail(email));
        await b.page.goto(link);
        await b.page.getByRole('status').filter({ hasText: /verified/i }).waitFor();
        assert.equal((await pageSession(b.page)).authenticated, false, 'another browser is not signed in by the link');
        assert.ok(!new URL(b.page.url()).searchParams.has('token'), 'the token is dropped from the address bar');
        await b.page.getByRole('link', { name: 'Sign in', exact: true }).click();
        await b.page.waitForURL(onPath('/signin'));
        await fillSignIn(b.page, email, password);
        await b.page.waitForURL(onPath('/account'));
        await b.page.locator('main').getByText(email, { exact: true }).waitFor();
      } finally {
        await a.ctx.close();
        await b.ctx.close();
      }
    }
  });

  test('a SCIM-created user signs in on the page', async () => {
    const u = await scimUser(server, 'scim');
    const { ctx, page } = await newPage(server);
    try {
      await page.goto('/signin');
      await fillSignIn(page, u.email, u.password);
      await page.waitForURL(onPath('/account'));
      await page.locator('main').getByText(u.email, { exact: true }).waitFor();
      const s = await pageSession(page);
      assert.equal(s.authenticated, true);
      assert.equal(s.user.id, u.id, 'the session belongs to the SCIM user');
    } finally {
      await ctx.close();
    }
  });

  test('an unverified account signing in is sent to /verify, gets a code by mail, and lands on its return_to', async () => {
    const email = newEmail('unverified');
    const password = strongPassword();
    const a = await newPage(server);
    try {
      await a.page.goto('/signup');
      await fillSignUp(a.page, email, password);
      await a.page.waitForURL(onPath('/verify'));
      await nextMail(email); // the sign-up code, never used
    } finally {
      await a.ctx.close();
    }
    const { ctx, page } = await newPage(server);
    try {
      await page.goto(`/signin?return_to=${encodeURIComponent('/account?u=1')}`);
      await fillSignIn(page, email, password);
      await page.waitForURL(onPath('/verify'));
      assert.equal(new URL(page.url()).searchParams.get('return_to'), '/account?u=1');
      await page.getByText(email).waitFor();
      const code = codeFrom(await nextMail(email));
      await page.getByLabel('Code', { exact: true }).fill(code);
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      await page.waitForURL(onPath('/account'));
      assert.equal(new URL(page.url()).search, '?u=1', 'the return_to given to sign-in survives verification');
      await page.locator('main').getByText(email, { exact: true }).waitFor();
    } finally {
      await ctx.close();
    }
  });

  test('a wrong password and an unknown email show the identical message (SECURITY.md #14)', async () => {
    const u = await scimUser(server, 'enum');
    const { ctx, page } = await newPage(server);
    try {
      await page.goto('/signin');
      await fillSignIn(page, u.email, `${u.password}x`);
      const wrong = await alertText(page);
      await page.goto('/signin');
      await fillSignIn(page, newEmail('nobody'), u.password);
      const unknown = await alertText(page);
      assert.equal(wrong, unknown, 'the two messages differ');
      assert.ok(wrong.length > 0);
      assert.equal(new URL(page.url()).pathname, '/signin');
      assert.equal((await pageSession(page)).authenticated, false);
    } finally {
      await ctx.close();
    }
    // The API answers are the same too (status and body).
    const c = apiClient(server);
    const r1 = await c.post('/api/v1/signin', { email: u.email, password: `${u.password}y` });
    const r2 = await c.post('/api/v1/signin', { email: newEmail('nobody'), password: u.password });
    assert.equal(r1.status, 401, r1.text);
    assert.equal(r2.status, r1.status);
    assert.deepEqual(r2.body, r1.body);
  });

  test('signing up with an address that has an account looks the same on the page; the owner gets a notice, not a code (SECURITY.md #14)', async () => {
    const u = await scimUser(server, 'taken');
    const { ctx, page } = await newPage(server);
    try {
      await page.goto('/signup');
      await fillSignUp(page, u.email, strongPassword());
      await page.waitForURL(onPath('/verify'));
      await page.getByLabel('Code', { exact: true }).waitFor();
      assert.equal(await page.getByRole('alert').isVisible(), false, 'no error shown');
      const m = await nextMail(u.email);
      assert.doesNotMatch((m.text ?? '').replace(/https?:\/\/\S+/g, ' '), /(?<!\d)\d{6}(?!\d)/, 'the notice carries no code');
      assert.equal((await pageSession(page)).authenticated, false);
    } finally {
      await ctx.close();
    }
  });

  test('a used code is refused the second time (SECURITY.md #15, #34)', async () => {
    const email = newEmail('reuse');
    const first = await newPage(server);
    let flow;
    let code;
    try {
      await first.page.goto('/signup');
      await fillSignUp(first.page, email, strongPassword());
      await first.page.waitForURL(onPath('/verify'));
      flow = new URL(first.page.url()).searchParams.get('flow');
      code = codeFrom(await nextMail(email));
      await first.page.getByLabel('Code', { exact: true }).fill(code);
      await first.page.getByRole('button', { name: 'Verify', exact: true }).click();
      await first.page.waitForURL(onPath('/account'));
    } finally {
      await first.ctx.close();
    }
    const second = await newPage(server);
    try {
      await second.page.goto(`/verify?flow=${encodeURIComponent(flow)}`);
      await second.page.getByLabel('Code', { exact: true }).fill(code);
      await second.page.getByRole('button', { name: 'Verify', exact: true }).click();
      assert.ok((await alertText(second.page)).length > 0, 'the reused code is refused with a message');
      assert.equal(new URL(second.page.url()).pathname, '/verify');
      assert.equal((await pageSession(second.page)).authenticated, false, 'a reused code signs nobody in');
    } finally {
      await second.ctx.close();
    }
  });

  test('"Resend code" right after sign-up is refused with a visible message (60 s cool-down, SECURITY.md #12)', async () => {
    const email = newEmail('resend');
    const { ctx, page } = await newPage(server);
    try {
      await page.goto('/signup');
      await fillSignUp(page, email, strongPassword());
      await page.waitForURL(onPath('/verify'));
      await nextMail(email);
      const answer = page.waitForResponse((res) => res.url().endsWith('/api/v1/verify/resend'));
      await page.getByRole('button', { name: 'Resend code', exact: true }).click();
      const res = await answer;
      assert.equal(res.status(), 429, 'a resend within the cool-down → 429');
      assert.ok(res.headers()['retry-after'], '429 carries Retry-After');
      assert.ok((await alertText(page)).length > 0);
    } finally {
      await ctx.close();
    }
  });

  test('the session cookie is HttpOnly, SameSite=Lax, Path=/, not Secure on http, and new at sign-in (SECURITY.md #25, #26, #27)', async () => {
    const u = await scimUser(server, 'cookie');
    const { ctx, page } = await newPage(server);
    try {
      await page.goto('/signin');
      await fillSignIn(page, u.email, u.password);
      await page.waitForURL(onPath('/account'));
      const cookies = await ctx.cookies(server.issuer);
      const sessionCookie = cookies.find((c) => c.name === 'gh_session');
      assert.ok(sessionCookie, `no gh_session cookie in ${cookies.map((c) => c.name).join(', ')}`);
      for (const c of cookies.filter((x) => x.name.startsWith('gh_'))) {
        assert.equal(c.httpOnly, true, `${c.name} HttpOnly`);
        assert.equal(c.sameSite, 'Lax', `${c.name} SameSite=Lax`);
        assert.equal(c.path, '/', `${c.name} Path=/`);
        assert.equal(c.secure, false, `${c.name} has no Secure on http`);
        assert.ok(!c.name.startsWith('__Host-'), 'no __Host- prefix on http');
      }
      assert.ok(sessionCookie.value.length >= 43, 'the session token carries ≥256 bits');
      const pre = cookies.find((c) => c.name === 'gh_pre');
      if (pre) assert.notEqual(pre.value, sessionCookie.value, 'the session id is not the pre-session id');
      assert.equal(await page.evaluate(() => document.cookie.includes('gh_session')), false, 'script cannot read the session cookie');

      // A second sign-in in the same browser gets a new session id.
      await page.goto('/signin');
      await fillSignIn(page, u.email, u.password);
      await page.waitForURL(onPath('/account'));
      const again = (await ctx.cookies(server.issuer)).find((c) => c.name === 'gh_session');
      assert.notEqual(again.value, sessionCookie.value, 'a new session id on sign-in');
    } finally {
      await ctx.close();
    }
  });

  test('CSRF: a sign-in POST without X-CSRF-Token → 403 and no session; a foreign Origin → 403; Sec-Fetch-Site cross-site → 403', async () => {
    const u = await scimUser(server, 'csrf');
    const creds = { email: u.email, password: u.password };
    const c = apiClient(server);
    await c.session();

    const noToken = await c.post('/api/v1/signin', creds, { csrf: false });
    assert.equal(noToken.status, 403, `no token: ${noToken.status} ${noToken.text}`);
    assert.equal(noToken.body?.error, 'csrf');
    assert.ok(!noToken.setCookies.some((s) => /gh_session=[^;]/.test(s)), 'no session cookie after a refused POST');
    assert.equal((await c.session()).authenticated, false);

    const foreign = await c.post('/api/v1/signin', creds, { origin: 'https://evil.example' });
    assert.equal(foreign.status, 403, `foreign Origin: ${foreign.status} ${foreign.text}`);
    assert.equal(foreign.body?.error, 'csrf');
    assert.equal((await c.session()).authenticated, false);

    const crossSite = await c.post('/api/v1/signin', creds, { origin: false, headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(crossSite.status, 403, `Sec-Fetch-Site cross-site: ${crossSite.status} ${crossSite.text}`);
    assert.equal((await c.session()).authenticated, false);

    const wrongToken = await c.post('/api/v1/signin', creds, { csrf: false, headers: { 'x-csrf-token': 'A'.repeat(43) } });
    assert.equal(wrongToken.status, 403, `a made-up token: ${wrongToken.status} ${wrongToken.text}`);

    // Control: the same request with the token and our own origin signs in.
    const ok = await c.post('/api/v1/signin', creds);
    assert.equal(ok.status, 200, `with the token: ${ok.status} ${ok.text}`);
    assert.equal((await c.session()).authenticated, true);
  });

  test('open redirect refused: return_to=https://evil.example/ ends on /account; return_to=/account?x=1 is followed', async () => {
    const u = await scimUser(server, 'redirect');
    const cases = [
      ['https://evil.example/', '/account', ''],
      ['//evil.example/account', '/account', ''],
      ['/account?x=1', '/account', '?x=1'],
    ];
    for (const [returnTo, wantPath, wantSearch] of cases) {
      const { ctx, page } = await newPage(server);
      try {
        await page.goto(`/signin?return_to=${encodeURIComponent(returnTo)}`);
        await fillSignIn(page, u.email, u.password);
        await page.waitForURL((url) => url.pathname === wantPath && url.origin === server.issuer);
        const url = new URL(page.url());
        assert.equal(url.origin, server.issuer, `${returnTo}: stays on Gatehouse`);
        assert.equal(url.search, wantSearch, `${returnTo}: ends on ${wantPath}${wantSearch}`);
      } finally {
        await ctx.close();
      }
    }
  });

  test('keyboard only: Tab and Enter sign in, with a visible focus ring', async () => {
    const u = await scimUser(server, 'keys');
    const { ctx, page } = await newPage(server);
    try {
      await page.goto('/signin');
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'email', 'Tab reaches Email first');
      const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
      assert.notEqual(ring, 'none', 'the focused field shows a focus ring');
      await page.keyboard.type(u.email);
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.getAttribute('type')), 'password');
      await page.keyboard.type(u.password);
      // the show-password toggle sits between the field and the button (docs/branding.md)
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Show password');
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => [document.activeElement.tagName, document.activeElement.textContent.trim(),
        getComputedStyle(document.activeElement).outlineStyle]);
      assert.deepEqual(focused.slice(0, 2), ['BUTTON', 'Sign in']);
      assert.notEqual(focused[2], 'none', 'the focused button shows a focus ring');
      await page.keyboard.press('Enter');
      await page.waitForURL(onPath('/account'));
      // Tab from the top of the account page reaches "Sign out"; Enter signs out.
      await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
      let name = '';
      for (let i = 0; i < 10 && name !== 'Sign out'; i++) {
        await page.keyboard.press('Tab');
        name = await page.evaluate(() => document.activeElement.textContent.trim());
      }
      assert.equal(name, 'Sign out');
      await page.keyboard.press('Enter');
      await page.waitForURL(onPath('/signin'));
    } finally {
      await ctx.close();
    }
  });

  test('password fields: masked, autocomplete current-password / new-password, paste allowed (SECURITY.md #6)', async () => {
    const { ctx, page } = await newPage(server);
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.issuer });
    try {
      for (const [p, auto] of [['signin', 'current-password'], ['signup', 'new-password']]) {
        await page.goto(`/${p}`);
        const pw = page.getByLabel('Password', { exact: true });
        assert.equal(await pw.getAttribute('type'), 'password');
        assert.equal(await pw.getAttribute('autocomplete'), auto);
        const em = page.getByLabel('Email', { exact: true });
        assert.equal(await em.getAttribute('type'), 'email');
        assert.equal(await em.getAttribute('autocomplete'), 'email');
        const secret = `pasted ${randomHex(8)} secret`;
        await page.evaluate((s) => navigator.clipboard.writeText(s), secret);
        await pw.focus();
        await page.keyboard.press('Control+V');
        assert.equal(await pw.inputValue(), secret, `${p}: paste into the password field works`);
      }
    } finally {
      await ctx.close();
    }
  });
});

describe('verification codes expire', () => {
  let shortTtl;
  before(async () => { shortTtl = await startGatehouse({ GATEHOUSE_CODE_TTL: 1 }); });

  test('an expired code is refused (GATEHOUSE_CODE_TTL=1; SECURITY.md #16, #34)', async () => {
    const email = newEmail('expired');
    const { ctx, page } = await newPage(shortTtl);
    try {
      await page.goto('/signup');
      await fillSignUp(page, email, strongPassword());
      await page.waitForURL(onPath('/verify'));
      const code = codeFrom(await nextMail(email));
      await sleep(2000);
      await page.getByLabel('Code', { exact: true }).fill(code);
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      assert.ok((await alertText(page)).length > 0, 'the expired code is refused with a message');
      assert.equal(new URL(page.url()).pathname, '/verify');
      assert.equal((await pageSession(page)).authenticated, false);
    } finally {
      await ctx.close();
    }
  });
});

describe('session timeouts (SECURITY.md #28)', () => {
  async function signedInClient(srv) {
    const u = await scimUser(srv, 'timeout');
    const c = apiClient(srv);
    const r = await c.post('/api/v1/signin', { email: u.email, password: u.password });
    assert.equal(r.status, 200, `sign-in: ${r.status} ${r.text}`);
    assert.equal((await c.session()).authenticated, true);
    return c;
  }

  test('idle: GATEHOUSE_SESSION_IDLE=2 — activity keeps the session, 2 s without ends it', async () => {
    const srv = await startGatehouse({ GATEHOUSE_SESSION_IDLE: 2 });
    const c = await signedInClient(srv);
    for (let i = 0; i < 3; i++) {
      await sleep(1200);
      assert.equal((await c.session()).authenticated, true, `still signed in after ${(i + 1) * 1.2} s of activity`);
    }
    await sleep(2600);
    assert.equal((await c.session()).authenticated, false, 'signed out after 2 s idle');
    const list = await c.send('GET', '/api/v1/sessions');
    assert.equal(list.status, 401);
  });

  test('absolute: GATEHOUSE_SESSION_ABSOLUTE=3 — ends after 3 s however active', async () => {
    const srv = await startGatehouse({ GATEHOUSE_SESSION_ABSOLUTE: 3 });
    const c = await signedInClient(srv);
    const t0 = Date.now();
    while (Date.now() - t0 < 1600) {
      await sleep(500);
      assert.equal((await c.session()).authenticated, true, 'signed in before the absolute limit');
    }
    await sleep(3300 - (Date.now() - t0));
    assert.equal((await c.session()).authenticated, false, 'signed out after the absolute limit despite activity');
  });
});

describe('malformed posts to the API change nothing', () => {
  test('a 1 MB password, a 10 kB email, broken UTF-8 and malformed JSON → 4xx JSON errors, no rows, no mail, no session', async () => {
    const c = apiClient(server);
    await c.session();
    const email = newEmail('malformed');
    const bodies = [
      ['1 MB password', JSON.stringify({ email, password: 'p'.repeat(1 << 20) })],
      ['10 kB email', JSON.stringify({ email: `${'a'.repeat(10_000)}@example.com`, password: strongPassword() })],
      ['broken UTF-8', Buffer.concat([Buffer.from(`{"email":"${email}","password":"bad `), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from(' bytes long enough"}')])],
      ['malformed JSON', `{"email": "${email}", "password": `],
      ['JSON not an object', '["a", "b"]'],
      ['wrong types', JSON.stringify({ email: 42, password: { a: 1 } })],
    ];
    const mailsBefore = mail.messages.length;
    const rowsBefore = counts(server);
    for (const endpoint of ['/api/v1/signup', '/api/v1/signin']) {
      for (const [what, body] of bodies) {
        const r = await c.post(endpoint, Buffer.isBuffer(body) ? body : Buffer.from(body));
        assertJsonError(r, `${endpoint} ${what}`);
        assert.ok(!r.setCookies.some((s) => /gh_session=[^;]/.test(s)), `${endpoint} ${what}: no session cookie`);
      }
    }
    assert.deepEqual(counts(server), rowsBefore, 'no rows were written');
    await sleep(500);
    assert.equal(mail.messages.length, mailsBefore, 'no mail was sent');
    assert.equal((await c.session()).authenticated, false);
    // The server is still well.
    assert.equal((await lib.request(server, 'GET', '/healthz/ready')).status, 200);
  });
});

// ---------------------------------------------------------------- look and accessibility

describe('pages look right and are accessible', () => {
  /** Brings page to each state worth checking; calls visit(name) at each. */
  async function tour(srv, page, visit) {
    await page.goto('/signin');
    await visit('signin');
    await fillSignIn(page, newEmail('nobody'), strongPassword());
    await alertText(page);
    await visit('signin-error');
    await page.goto('/signup');
    await visit('signup');
    await page.goto('/verify?flow=not-a-real-flow');
    await visit('verify');
    await page.goto('/verify');
    await alertText(page);
    await visit('verify-no-flow');
    await page.goto('/error?error=csrf');
    await visit('error');
    await page.goto(`/error?error=${encodeURIComponent('<img src=x onerror=alert(1)>')}`);
    await visit('error-unknown');
  }

  test('at 320 px no page scrolls sideways; screenshots of every page', async () => {
    const u = await scimUser(server, 'narrow');
    for (const [width, tag] of [[320, 'narrow'], [1024, 'wide']]) {
      const { ctx, page } = await newPage(server, { viewport: { width, height: 720 } });
      try {
        const visit = async (name) => {
          const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
          if (width === 320) assert.ok(scroll <= 320, `${name}: scrollWidth ${scroll} > 320`);
          await page.screenshot({ path: path.join(SHOTS_DIR, `${tag}-${name}.png`), fullPage: true });
        };
        await tour(server, page, visit);
        await page.goto('/signin');
        await fillSignIn(page, u.email, u.password);
        await page.waitForURL(onPath('/account'));
        await page.getByText('This browser').waitFor();
        await visit('account');
        assert.deepEqual(page.cspErrors, [], 'no CSP violations');
      } finally {
        await ctx.close();
      }
    }
  });

  test('error page shows a fixed message and never echoes its input', async () => {
    const { ctx, page } = await newPage(server);
    try {
      await page.goto(`/error?error=${encodeURIComponent('<img src=x onerror="window.pwned=1">')}`);
      await page.getByRole('heading', { level: 1 }).waitFor();
      const text = await page.locator('main').textContent();
      assert.doesNotMatch(text, /img|onerror/);
      assert.equal(await page.evaluate(() => document.querySelectorAll('main img').length), 0);
      assert.equal(await page.evaluate(() => window.pwned), undefined);
      await page.goto('/error?error=csrf');
      assert.match(await page.locator('#message').textContent(), /another site/);
    } finally {
      await ctx.close();
    }
  });

  test('axe-core: no serious or critical violations on any page (bypassCSP only for the axe run)', async () => {
    const u = await scimUser(server, 'axe');
    const { ctx, page } = await newPage(server, { bypassCSP: true });
    try {
      await tour(server, page, (name) => assertAccessible(page, name));
      await page.goto('/signin');
      await fillSignIn(page, u.email, u.password);
      await page.waitForURL(onPath('/account'));
      await page.getByText('This browser').waitFor();
      await assertAccessible(page, 'account');
    } finally {
      await ctx.close();
    }
  });
});
