// Email verification, the parts of the accounts issue ("a 6-digit code and a
// link, single-use, expiring, with a bounded number of attempts; resend with
// a cool-down. Codes are stored hashed.") that the other accounts tests leave
// open: the link used twice or late, the exact words the Verify page shows
// for a used, expired or exhausted code, resend once the cool-down
// (GATEHOUSE_RESEND_COOLDOWN) has passed, and the link token in the database.
//
// The hosted pages run in Chromium (playwright-core), the JSON API is called
// through lib/browser.mjs, mail is caught by a real SMTP sink. Messages are
// compared word for word: the server's error_description
// (src/handlers/gh_accounts.c, docs/accounts-api.md), which the Verify page shows as
// it is, and the page's own sentences (web/assets/gatehouse.js).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import { launchChromium, pageSession } from './lib/chromium.mjs';

import { startServer, stopAll, sql, databaseContains, randomHex, sleep } from './lib/server.mjs';
import { startMailSink, codeFrom, linkFrom, sentTo } from './lib/mail.mjs';
import { Browser } from './lib/browser.mjs';

const MAIL_TIMEOUT_MS = 15_000;
/** Tries per code (MAX_FLOW_ATTEMPTS in src/handlers/gh_accounts.c; docs/accounts-api.md). */
const MAX_ATTEMPTS = 5;

// The server's words (error_description).
const WRONG_CODE = 'That code is wrong or has expired.';
const CODE_USED = 'This code or link was already used.';
const TOO_MANY_TRIES = 'Too many wrong codes. Use the link in the email, or start again.';
const CODE_EXPIRED = 'That code has expired. Ask for a new code.';
const RESEND_WAIT = 'A code was sent moments ago. Wait a little before asking again.';
// The Verify page's own words.
const VERIFIED = 'Your email is verified. Sign in to continue.';
const RESENT = 'We sent a new code. It replaces the previous one.';

let browser;
let mail;

before(async () => {
  mail = await startMailSink();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stopAll();
  await mail?.stop();
});

// ---------------------------------------------------------------- helpers

const strongPassword = () => `Lantern ${randomHex(6)} river ${randomHex(4)}`;
const newEmail = (tag) => `${tag}-${randomHex(5)}@example.com`;
const onPath = (p) => (url) => url.pathname === p;

/** The next mail to email that no earlier call returned. */
const seenMail = new Set();
async function nextMail(email) {
  const m = await mail.waitFor((x) => sentTo(email)(x) && !seenMail.has(x), MAIL_TIMEOUT_MS);
  seenMail.add(m);
  return m;
}

function userRow(srv, email) {
  return sql(srv, `SELECT id, email_verified, version, updated_at FROM users WHERE email = '${email}'`)[0];
}

function flowRow(srv, flowId) {
  return sql(srv, 'SELECT attempts, sends, created_at, last_sent_at, expires_at, consumed_at, code_hash, link_hash ' +
    `FROM email_flows WHERE id = '${flowId}'`)[0];
}

function countOf(srv, query) {
  return Number(sql(srv, query)[0].n);
}

const sessionsOf = (srv, userId) => countOf(srv, `SELECT count(*) AS n FROM sessions WHERE user_id = '${userId}'`);
const verifiedEvents = (srv, userId) =>
  countOf(srv, `SELECT count(*) AS n FROM audit_events WHERE type = 'email.verified' AND subject = '${userId}'`);

/** A fresh browser context whose pages talk to srv's issuer origin. */
async function newPage(srv) {
  const ctx = await browser.newContext({ baseURL: srv.issuer });
  return { ctx, page: await ctx.newPage() };
}

/** Signs up on /signup; resolves the flow id once the Verify page is up. */
async function signUpOnPage(page, email) {
  await page.goto('/signup');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(strongPassword());
  await page.getByRole('button', { name: 'Create account', exact: true }).click();
  await page.waitForURL(onPath('/verify'));
  await page.getByLabel('Code', { exact: true }).waitFor();
  const flow = new URL(page.url()).searchParams.get('flow');
  assert.ok(flow, 'the Verify page knows its flow');
  return flow;
}

/** Enters code on the Verify page and submits it; resolves the API's status. */
async function submitCode(page, code) {
  await page.getByLabel('Code', { exact: true }).fill(code);
  const answer = page.waitForResponse((res) => new URL(res.url()).pathname === '/api/v1/verify');
  await page.getByRole('button', { name: 'Verify', exact: true }).click();
  return (await answer).status();
}

/** Clicks "Resend code"; resolves the API's answer. */
async function clickResend(page) {
  const answer = page.waitForResponse((res) => new URL(res.url()).pathname === '/api/v1/verify/resend');
  await page.getByRole('button', { name: 'Resend code', exact: true }).click();
  return answer;
}

/**
 * Waits until the element shows exactly `expected`, then checks it (so a
 * wrong text fails with what is shown instead).
 */
async function expectShown(page, selector, expected) {
  await page.waitForFunction(([sel, want]) => {
    const el = document.querySelector(sel);
    return el && !el.hidden && el.textContent.trim() === want;
  }, [selector, expected], { timeout: 10_000 }).catch(() => {});
  const el = page.locator(selector);
  const shown = { visible: await el.isVisible(), text: ((await el.textContent()) ?? '').trim() };
  assert.deepEqual(shown, { visible: true, text: expected }, `${selector} on ${page.url()}`);
}

const expectAlert = (page, text) => expectShown(page, '[role="alert"]', text);
const expectStatus = (page, text) => expectShown(page, '[role="status"]', text);

/** Resolves once the wall clock is past ms (a server time, same machine). */
async function sleepUntil(ms) {
  const wait = ms - Date.now();
  if (wait > 0) await sleep(wait);
}

// ---------------------------------------------------------------- tests

describe('verification: the link, used codes, attempts, resend, storage (GATEHOUSE_RESEND_COOLDOWN=1)', () => {
  let server;
  before(async () => {
    server = await startServer({ env: { GATEHOUSE_SMTP_URL: mail.url, GATEHOUSE_RESEND_COOLDOWN: 1 } });
  });
  after(async () => { await server?.stop(); });

  test('the code and the link token never reach the database in plain: at sign-up, after a resend, after use (accounts issue "codes are stored hashed"; cf. SECURITY.md #17, #25)', async () => {
    const b = new Browser(server);
    const email = newEmail('hashed');
    const r = await b.post('/api/v1/signup', { email, password: strongPassword() });
    const signedUpAt = Date.now();
    assert.equal(r.status, 200, r.text);
    const flow = r.json.flow_id;
    const first = await nextMail(email);
    const secrets = [codeFrom(first), linkFrom(first).searchParams.get('token')];
    assert.match(secrets[1], /^[\w-]{43}$/, 'a 256-bit base64url link token');
    const row = flowRow(server, flow);
    assert.match(row.code_hash, /^[0-9a-f]{64}$/);
    assert.match(row.link_hash, /^[0-9a-f]{64}$/);
    for (const s of secrets) assert.equal(databaseContains(server, s), false, `${s} stored in plain after sign-up`);
    // A 6-digit code has only 10^6 values: an unkeyed hash of it (with or
    // without its flow id) is reversed by trying them all. The stored hash
    // is keyed with the master key, so the attempt finds nothing.
    const found = [];
    for (let n = 0; n < 1_000_000; n++) {
      const c = String(n).padStart(6, '0');
      for (const text of [`${flow}:${c}`, c]) {
        if (createHash('sha256').update(text).digest('hex') === row.code_hash) found.push(c);
      }
    }
    assert.deepEqual(found, [], 'the code was recovered from its stored hash');

    await sleepUntil(signedUpAt + 1100);
    const again = await b.post('/api/v1/verify/resend', { flow_id: flow });
    assert.equal(again.status, 200, again.text);
    const second = await nextMail(email);
    const token = linkFrom(second).searchParams.get('token');
    secrets.push(codeFrom(second), token);
    const renewed = flowRow(server, flow);
    assert.notEqual(renewed.code_hash, row.code_hash, 'a new code, a new hash');
    assert.notEqual(renewed.link_hash, row.link_hash, 'a new link, a new hash');
    for (const s of secrets) assert.equal(databaseContains(server, s), false, `${s} stored in plain after a resend`);

    const v = await b.post('/api/v1/verify', { flow_id: flow, token });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.status, 'signed_in');
    for (const s of secrets) assert.equal(databaseContains(server, s), false, `${s} stored in plain after use`);
  });

  test('the link works once: the first visit verifies; a second visit, in either browser, is refused with its message and changes nothing (SECURITY.md #34)', async () => {
    const email = newEmail('link-once');
    const a = await newPage(server);
    const b = await newPage(server);
    try {
      const flow = await signUpOnPage(a.page, email);
      const link = linkFrom(await nextMail(email));
      assert.equal(link.searchParams.get('flow'), flow);
      const user = userRow(server, email);
      assert.equal(user.email_verified, 0);

      // First visit, in another browser: verified there, nobody signed in.
      await b.page.goto(link.href);
      await expectStatus(b.page, VERIFIED);
      assert.equal((await pageSession(b.page)).authenticated, false);
      const verified = userRow(server, email);
      assert.equal(verified.email_verified, 1, 'the first visit verifies the address');
      assert.ok(flowRow(server, flow).consumed_at, 'the flow is used up');
      assert.equal(verifiedEvents(server, user.id), 1);

      // Second visit, same browser: refused as used; no code form, a way to sign in.
      await b.page.goto(link.href);
      await expectAlert(b.page, CODE_USED);
      assert.equal(await b.page.locator('[role="status"]').isVisible(), false, 'no "verified" beside the refusal');
      assert.equal(await b.page.getByLabel('Code', { exact: true }).isVisible(), false, 'nothing left to enter');
      assert.equal(await b.page.getByRole('link', { name: 'Sign in', exact: true }).isVisible(), true);
      assert.equal(new URL(b.page.url()).searchParams.has('token'), false, 'the token leaves the address bar');
      assert.equal((await pageSession(b.page)).authenticated, false);

      // The browser that signed up would be signed in by a live link; not by a used one.
      await a.page.goto(link.href);
      await expectAlert(a.page, CODE_USED);
      assert.equal(new URL(a.page.url()).pathname, '/verify');
      assert.equal((await pageSession(a.page)).authenticated, false, 'a used link signs nobody in');

      assert.deepEqual(userRow(server, email), verified, 'the user row is untouched by the refused visits');
      assert.equal(sessionsOf(server, user.id), 0);
      assert.equal(verifiedEvents(server, user.id), 1, 'no second email.verified event');
    } finally {
      await a.ctx.close();
      await b.ctx.close();
    }
  });

  test('a used code on the Verify page: refused with its message, signs nobody in, changes nothing (SECURITY.md #15, #34)', async () => {
    const email = newEmail('code-once');
    const a = await newPage(server);
    const b = await newPage(server);
    try {
      const flow = await signUpOnPage(a.page, email);
      const code = codeFrom(await nextMail(email));
      assert.equal(await submitCode(a.page, code), 200);
      await a.page.waitForURL(onPath('/account'));
      const verified = userRow(server, email);
      assert.equal(verified.email_verified, 1);
      assert.equal(sessionsOf(server, verified.id), 1);

      await b.page.goto(`/verify?flow=${encodeURIComponent(flow)}`);
      assert.equal(await submitCode(b.page, code), 400);
      await expectAlert(b.page, CODE_USED);
      assert.equal(new URL(b.page.url()).pathname, '/verify');
      assert.equal((await pageSession(b.page)).authenticated, false);
      assert.deepEqual(userRow(server, email), verified);
      assert.equal(sessionsOf(server, verified.id), 1, 'only the first use made a session');
    } finally {
      await a.ctx.close();
      await b.ctx.close();
    }
  });

  test(`after ${MAX_ATTEMPTS} wrong codes the flow takes no more codes, even the right one, with its message; its link (256-bit, not guessable) still verifies (SECURITY.md #13, issue 15)`, async () => {
    const email = newEmail('guess');
    const a = await newPage(server);
    const b = await newPage(server);
    try {
      const flow = await signUpOnPage(a.page, email);
      const m = await nextMail(email);
      const good = codeFrom(m);
      const link = linkFrom(m);
      const wrong = good === '000000' ? '111111' : '000000';
      for (let i = 1; i <= MAX_ATTEMPTS; i++) {
        assert.equal(await submitCode(a.page, wrong), 400, `wrong code ${i}`);
        // The last allowed try already says the flow is over.
        await expectAlert(a.page, i < MAX_ATTEMPTS ? WRONG_CODE : TOO_MANY_TRIES);
      }
      assert.equal(await submitCode(a.page, good), 400, 'the right code after the limit');
      await expectAlert(a.page, TOO_MANY_TRIES);
      assert.equal(new URL(a.page.url()).pathname, '/verify');
      assert.equal((await pageSession(a.page)).authenticated, false);

      const before = userRow(server, email);
      assert.equal(before.email_verified, 0, 'no code verified it');
      assert.equal(sessionsOf(server, before.id), 0);
      const row = flowRow(server, flow);
      assert.equal(Number(row.attempts), MAX_ATTEMPTS, 'tries past the limit are not even counted');
      assert.equal(row.consumed_at, null);
      // Every refusal is an audit event with its reason.
      const refused = sql(server, `SELECT reason FROM audit_events WHERE type = 'email.verify_failed' AND subject = '${before.id}' ORDER BY seq`)
        .map((e) => e.reason);
      assert.deepEqual(refused, [...Array(MAX_ATTEMPTS).fill('wrong code'), 'too many wrong codes']);

      // The owner's link works whatever was typed (another browser: verified, not signed in).
      await b.page.goto(link.href);
      await expectStatus(b.page, VERIFIED);
      assert.equal((await pageSession(b.page)).authenticated, false);
      assert.equal(userRow(server, email).email_verified, 1);
    } finally {
      await a.ctx.close();
      await b.ctx.close();
    }
  });

  test('a flow mails at most 5 codes: the 5th send is the last, the next resend is refused for good with its message; a new sign-in starts a new flow (SECURITY.md #12, #13)', async () => {
    const b = new Browser(server);
    const email = newEmail('sendcap');
    const password = strongPassword();
    const r = await b.post('/api/v1/signup', { email, password });
    assert.equal(r.status, 200, r.text);
    const flow = r.json.flow_id;
    let code = codeFrom(await nextMail(email));
    for (let send = 2; send <= 5; send++) {
      await sleep(1100);
      const again = await b.post('/api/v1/verify/resend', { flow_id: flow });
      assert.equal(again.status, 200, `send ${send}: ${again.text}`);
      code = codeFrom(await nextMail(email));
    }
    await sleep(1100);
    const capped = await b.post('/api/v1/verify/resend', { flow_id: flow });
    assert.equal(capped.status, 429, capped.text);
    assert.equal(capped.headers.get('retry-after'), '3600');
    assert.equal(capped.json.error_description,
      'No more codes can be sent for this request. Sign in again to get a new one.');
    assert.equal(Number(flowRow(server, flow).sends), 5);
    await sleep(300);
    assert.equal(mail.messages.filter(sentTo(email)).length, 5, 'no 6th mail');
    // The 5th code still works; a new sign-in would have started a new flow.
    const fresh = new Browser(server);
    const signin = await fresh.post('/api/v1/signin', { email, password });
    assert.equal(signin.status, 200, signin.text);
    assert.equal(signin.json.status, 'verification_required');
    assert.notEqual(signin.json.flow_id, flow, 'a new flow');
    const v = await b.post('/api/v1/verify', { flow_id: flow, code });
    assert.equal(v.status, 200, v.text);
  });

  test('resend: refused with Retry-After inside the cool-down; after it a new mail whose code works, while the old code and link are dead (GATEHOUSE_RESEND_COOLDOWN=1; SECURITY.md #12, #34)', async () => {
    const b = new Browser(server);
    const email = newEmail('resend');
    const r = await b.post('/api/v1/signup', { email, password: strongPassword() });
    const signedUpAt = Date.now();
    assert.equal(r.status, 200, r.text);
    const flow = r.json.flow_id;
    const early = await b.post('/api/v1/verify/resend', { flow_id: flow });
    assert.equal(early.status, 429, early.text);
    assert.equal(early.headers.get('retry-after'), '1', 'the wait is the 1 s cool-down');
    assert.equal(early.json.error, 'too_many_requests');
    assert.equal(early.json.error_description, RESEND_WAIT);
    const first = await nextMail(email);
    const oldCode = codeFrom(first);
    const oldLink = linkFrom(first);
    assert.equal(Number(flowRow(server, flow).sends), 1, 'the refused resend sent nothing');

    await sleepUntil(signedUpAt + 1100);
    const ok = await b.post('/api/v1/verify/resend', { flow_id: flow });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.status, 'sent');
    // The cool-down starts again from this send: asked at once, before
    // waiting for the mail (which under load can take longer than the 1 s).
    const tooSoon = await b.post('/api/v1/verify/resend', { flow_id: flow });
    assert.equal(tooSoon.status, 429, tooSoon.text);
    assert.equal(tooSoon.headers.get('retry-after'), '1');

    const second = await nextMail(email);
    const newCode = codeFrom(second);
    const newLink = linkFrom(second);
    assert.equal(newLink.searchParams.get('flow'), flow, 'the same flow');
    assert.notEqual(newLink.searchParams.get('token'), oldLink.searchParams.get('token'), 'a new link');
    assert.equal(Number(flowRow(server, flow).sends), 2);

    if (oldCode !== newCode) { // one chance in a million that the digits repeat
      const old = await b.post('/api/v1/verify', { flow_id: flow, code: oldCode });
      assert.equal(old.status, 400, old.text);
      assert.deepEqual(old.json, { error: 'invalid_code', error_description: WRONG_CODE });
    }
    const viaOldLink = await new Browser(server).post('/api/v1/verify', {
      flow_id: flow, token: oldLink.searchParams.get('token'),
    });
    assert.equal(viaOldLink.status, 400, viaOldLink.text);
    assert.deepEqual(viaOldLink.json, { error: 'invalid_code', error_description: WRONG_CODE });
    assert.equal(userRow(server, email).email_verified, 0, 'the old code and link verified nothing');

    const v = await b.post('/api/v1/verify', { flow_id: flow, code: newCode });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.status, 'signed_in');
    const s = await b.session();
    assert.equal(s.authenticated, true);
    assert.equal(s.user.email, email);
    assert.equal(userRow(server, email).email_verified, 1);
    assert.equal(mail.messages.filter(sentTo(email)).length, 2, 'one mail per send, none for the refused resends');
  });

  test('"Resend code" on the Verify page after the cool-down: the page says a new code was sent; the old code is refused with its message, the new one signs in (SECURITY.md #12)', async () => {
    const email = newEmail('resend-page');
    const { ctx, page } = await newPage(server);
    try {
      await signUpOnPage(page, email);
      const onVerifyAt = Date.now(); // the flow was made before the page loaded
      const oldCode = codeFrom(await nextMail(email));
      await sleepUntil(onVerifyAt + 1100);
      const res = await clickResend(page);
      assert.equal(res.status(), 200);
      await expectStatus(page, RESENT);
      const newCode = codeFrom(await nextMail(email));

      if (oldCode !== newCode) {
        assert.equal(await submitCode(page, oldCode), 400);
        await expectAlert(page, WRONG_CODE);
        assert.equal(await page.locator('[role="status"]').isVisible(), false);
      }
      assert.equal(await submitCode(page, newCode), 200);
      await page.waitForURL(onPath('/account'));
      await page.locator('main').getByText(email, { exact: true }).waitFor();
      assert.equal(userRow(server, email).email_verified, 1);
    } finally {
      await ctx.close();
    }
  });
});

describe('verification expires (GATEHOUSE_CODE_TTL=1; the default resend cool-down)', () => {
  let server;
  before(async () => {
    server = await startServer({ env: { GATEHOUSE_SMTP_URL: mail.url, GATEHOUSE_CODE_TTL: 1 } });
  });
  after(async () => { await server?.stop(); });

  test('an expired link is refused with its message, even in the browser that signed up; the account stays unverified (SECURITY.md #16, #34)', async () => {
    const email = newEmail('late-link');
    const { ctx, page } = await newPage(server);
    try {
      const flow = await signUpOnPage(page, email);
      const link = linkFrom(await nextMail(email));
      const row = flowRow(server, flow);
      assert.equal(Number(row.expires_at) - Number(row.created_at), 1000, 'the flow lives GATEHOUSE_CODE_TTL seconds');
      await sleepUntil(Number(row.expires_at) + 300);

      await page.goto(link.href);
      await expectAlert(page, CODE_EXPIRED);
      assert.equal(await page.locator('[role="status"]').isVisible(), false);
      assert.equal(new URL(page.url()).pathname, '/verify');
      assert.equal((await pageSession(page)).authenticated, false, 'an expired link signs nobody in');

      const user = userRow(server, email);
      assert.equal(user.email_verified, 0);
      assert.equal(sessionsOf(server, user.id), 0);
      assert.equal(flowRow(server, flow).consumed_at, null);
    } finally {
      await ctx.close();
    }
  });

  test('an expired code on the Verify page is refused with its message; the account stays unverified (SECURITY.md #16)', async () => {
    const email = newEmail('late-code');
    const { ctx, page } = await newPage(server);
    try {
      const flow = await signUpOnPage(page, email);
      const code = codeFrom(await nextMail(email));
      await sleepUntil(Number(flowRow(server, flow).expires_at) + 300);

      assert.equal(await submitCode(page, code), 400);
      await expectAlert(page, CODE_EXPIRED);
      assert.equal(new URL(page.url()).pathname, '/verify');
      assert.equal((await pageSession(page)).authenticated, false);
      assert.equal(userRow(server, email).email_verified, 0);
    } finally {
      await ctx.close();
    }
  });

  test('without GATEHOUSE_RESEND_COOLDOWN the cool-down is 60 s: "Resend code" right after sign-up is refused with Retry-After and its message (SECURITY.md #12)', async () => {
    const email = newEmail('resend-default');
    const { ctx, page } = await newPage(server);
    try {
      const flow = await signUpOnPage(page, email);
      await nextMail(email);
      const sentAt = Number(flowRow(server, flow).last_sent_at);
      const asked = Date.now();
      const res = await clickResend(page);
      const answered = Date.now();
      assert.equal(res.status(), 429);
      // Retry-After is what is left of 60 s since the mail, rounded up.
      const left = (t) => Math.ceil((sentAt + 60_000 - t) / 1000);
      const wait = Number(res.headers()['retry-after']);
      assert.ok(wait >= left(answered) && wait <= left(asked),
        `Retry-After ${res.headers()['retry-after']}, expected ${left(answered)}..${left(asked)}`);
      await expectAlert(page, RESEND_WAIT);
      assert.equal(Number(flowRow(server, flow).sends), 1, 'nothing was sent');
    } finally {
      await ctx.close();
    }
  });
});
