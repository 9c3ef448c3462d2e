// The password rules (NIST SP 800-63B §5.1.1.2; SECURITY.md #1-#5) end to
// end: the real binary, the JSON sign-up and sign-in API (docs/accounts-api.md)
// and, for the messages a person reads, the hosted "Create account" page in
// Chromium. The rules themselves live in src/proto/gh_pwpolicy.c (unit-tested in
// tests/unit); here we show that the server applies them.
//
// What the server does, as read from the source:
// - passwords are NFKC-normalised (not just NFC) before they are counted,
//   checked, hashed or verified, at sign-up and at sign-in alike;
// - length counts code points of the normalised form: at least
//   GATEHOUSE_PASSWORD_MIN_LENGTH (8..64, default 15 since NIST SP 800-63B-4;
//   the shared server here runs at 8, the floor, to reach the lists with
//   short passwords; the default and the rule with a second factor are
//   accounts.pwlength.test.mjs's), at most 256;
// - the common list (share/common-passwords.txt, embedded) matches the
//   ASCII-lower-cased password exactly;
// - a password containing the email's local part (3+ characters) or the
//   service name is refused;
// - GATEHOUSE_BREACHED_PASSWORDS_FILE is a Have I Been Pwned "SHA-1, ordered
//   by hash" file (LF or CRLF lines; a count of 0 means "not breached").
//
// Re-hashing of hashes made with older argon2id parameters is not tested
// here: accounts.api.test.mjs ("a hash made with older argon2id parameters
// is re-hashed at the next sign-in") already checks exactly that
// (m=8192,t=1 → m=19456,t=2 after a restart on the same data).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { launchChromium, alertText } from './lib/chromium.mjs';

import { startServer, stopAll, sql, scim, userBody, makeTempDir, randomHex, sleep, REPO_ROOT } from './lib/server.mjs';
import { startMailSink, codeFrom, sentTo } from './lib/mail.mjs';
import { Browser } from './lib/browser.mjs';

const MAIL_TIMEOUT_MS = 15_000;
const MAX_LENGTH = 256; // GH_PWPOLICY_MAX_LENGTH: not a setting

// The plain-words reasons of src/proto/gh_pwpolicy.c, as the page must show them.
const REASON = {
  short: (n) => `Use at least ${n} characters.`,
  long: (n) => `Use at most ${n} characters.`,
  common: 'This password is too common; choose another.',
  breached: 'This password has appeared in a data breach; choose another.',
  email: "Don't use your email address in your password.",
  service: "Don't use the name of this service in your password.",
  invalid: "Use only printable characters; tabs and other control characters aren't allowed.",
};

// The embedded common list, read the same way the server uses it: a password
// is common when its ASCII-lower-cased NFKC form is a line of the file.
const COMMON_LIST = fs.readFileSync(path.join(REPO_ROOT, 'share', 'common-passwords.txt'), 'utf8')
  .split('\n').filter((l) => l.length > 0);
const COMMON_SET = new Set(COMMON_LIST);
const asciiLower = (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
const isCommon = (pw) => COMMON_SET.has(asciiLower(pw.normalize('NFKC')));

let browser;
let mail;
let server; // default settings, shared by the describes that need nothing else

// ---------------------------------------------------------------- helpers

function newEmail(tag) {
  return `${tag}-${randomHex(5)}@example.com`;
}

/** A password of exactly n ASCII characters that no rule refuses but length. */
function pwOfLength(n) {
  let s = '';
  while (s.length < n) s += `Wren~${randomHex(6)}_`;
  const pw = s.slice(0, n);
  assert.ok(n < 8 || !isCommon(pw), `${pw} is on the common list`);
  return pw;
}

function rowCounts(srv) {
  const out = {};
  for (const t of ['users', 'credentials', 'email_flows', 'mail_outbox']) {
    out[t] = Number(sql(srv, `SELECT count(*) AS n FROM ${t}`)[0].n);
  }
  return out;
}

function usersWithEmail(srv, email) {
  return Number(sql(srv, `SELECT count(*) AS n FROM users WHERE email = '${email.toLowerCase()}'`)[0].n);
}

/** POST /api/v1/signup from a fresh browser. */
async function signUp(srv, email, password) {
  return new Browser(srv).post('/api/v1/signup', { email, password });
}

/** Asserts a 400 weak_password with exactly this reason. */
function assertRefused(r, reason, what) {
  assert.equal(r.status, 400, `${what}: expected 400, got ${r.status} ${r.text}`);
  assert.equal(r.json?.error, 'weak_password', `${what}: ${r.text}`);
  assert.equal(r.json.error_description, reason, what);
}

/** Asserts the password is refused with reason and that nothing was written. */
async function assertSignUpRefused(srv, email, password, reason, what) {
  const before = rowCounts(srv);
  assertRefused(await signUp(srv, email, password), reason, what);
  assert.deepEqual(rowCounts(srv), before, `${what}: no user, credential, flow or mail is written`);
  assert.equal(usersWithEmail(srv, email), 0, `${what}: no user row`);
}

async function assertSignUpAccepted(srv, email, password, what) {
  const r = await signUp(srv, email, password);
  assert.equal(r.status, 200, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.json.status, 'verification_required', what);
  assert.equal(usersWithEmail(srv, email), 1, `${what}: the user row exists`);
}

/** Signs up through the API and verifies with the mailed code. */
async function signUpVerified(srv, email, password, what = email) {
  const b = new Browser(srv);
  const r = await b.post('/api/v1/signup', { email, password });
  assert.equal(r.status, 200, `${what}: sign-up ${r.status} ${r.text}`);
  assert.equal(r.json.status, 'verification_required', what);
  const code = codeFrom(await mail.waitFor(sentTo(email), MAIL_TIMEOUT_MS));
  const v = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code });
  assert.equal(v.status, 200, `${what}: verify ${v.status} ${v.text}`);
  assert.equal(v.json.status, 'signed_in', what);
}

/** POST /api/v1/signin from a fresh browser; resolves {r, b}. */
async function signIn(srv, email, password) {
  const b = new Browser(srv);
  const r = await b.post('/api/v1/signin', { email, password });
  return { r, b };
}

async function assertSignsIn(srv, email, password, what) {
  const { r, b } = await signIn(srv, email, password);
  assert.equal(r.status, 200, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.json.status, 'signed_in', what);
  const s = await b.session();
  assert.equal(s.authenticated, true, what);
  assert.equal(s.user.email, email.toLowerCase(), what);
}

async function assertSignInFails(srv, email, password, what) {
  const { r, b } = await signIn(srv, email, password);
  assert.equal(r.status, 401, `${what}: expected 401, got ${r.status} ${r.text}`);
  assert.equal(r.json.error, 'invalid_credentials', what);
  assert.equal((await b.session()).authenticated, false, what);
}

/** The Have I Been Pwned key of a password: upper-case hex SHA-1 of its UTF-8 bytes. */
function hibpHash(pw) {
  return createHash('sha1').update(pw, 'utf8').digest('hex').toUpperCase();
}

/**
 * Writes a file in the HIBP "SHA-1, ordered by hash" format: random filler
 * lines plus one line per [password, count], sorted by hash, eol-terminated.
 */
async function writeHibpFile(entries, { eol = '\n', filler = 5000 } = {}) {
  const lines = [];
  for (let i = 0; i < filler; i++) {
    lines.push(`${randomBytes(20).toString('hex').toUpperCase()}:${1 + randomInt(250_000)}`);
  }
  for (const [pw, count] of entries) lines.push(`${hibpHash(pw)}:${count}`);
  lines.sort(); // 40 upper-case hex digits first: code unit order is byte order
  const file = path.join(await makeTempDir(), `pwned-passwords-sha1-ordered-by-hash${eol === '\r\n' ? '-crlf' : ''}.txt`);
  fs.writeFileSync(file, lines.join(eol) + eol);
  return file;
}

/** Full-width forms (U+FF01..U+FF5E) of printable ASCII: NFKC maps them back. */
function fullWidth(s) {
  return [...s].map((c) => (c > ' ' && c <= '~' ? String.fromCodePoint(c.codePointAt(0) + 0xFEE0) : c)).join('');
}

// ---------------------------------------------------------------- page helpers

const onPath = (p) => (url) => url.pathname === p;

async function newPage(srv) {
  const ctx = await browser.newContext({ baseURL: srv.issuer });
  const page = await ctx.newPage();
  return { ctx, page };
}

/**
 * Opens /signup, fills Email and Password by their labels, presses
 * "Create account" and resolves with the answer to the POST it makes.
 */
async function submitSignUpPage(page, email, password) {
  await page.goto('/signup');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  const answer = page.waitForResponse(
    (res) => res.request().method() === 'POST' && new URL(res.url()).pathname === '/api/v1/signup',
    { timeout: 10_000 },
  );
  await page.getByRole('button', { name: 'Create account', exact: true }).click();
  const res = await answer;
  assert.equal(res.request().postDataJSON().password, password, 'the page sends the password as typed');
  return res;
}

/** The page refuses the password with exactly this reason and stays put. */
async function assertPageRefuses(srv, email, password, reason, what) {
  const before = rowCounts(srv);
  const { ctx, page } = await newPage(srv);
  try {
    const res = await submitSignUpPage(page, email, password);
    assert.equal(res.status(), 400, what);
    assert.equal(await alertText(page), reason, `${what}: the reason on the page`);
    assert.equal(new URL(page.url()).pathname, '/signup', `${what}: stays on /signup`);
  } finally {
    await ctx.close();
  }
  assert.deepEqual(rowCounts(srv), before, `${what}: nothing written`);
  assert.equal(usersWithEmail(srv, email), 0, `${what}: no user row`);
}

/** The page accepts the password and moves on to /verify. */
async function assertPageAccepts(srv, email, password, what) {
  const { ctx, page } = await newPage(srv);
  try {
    const res = await submitSignUpPage(page, email, password);
    if (res.status() !== 200) assert.fail(`${what}: ${res.status()} ${await res.text()}`);
    await page.waitForURL(onPath('/verify'));
  } finally {
    await ctx.close();
  }
  assert.equal(usersWithEmail(srv, email), 1, `${what}: the user row exists`);
}

/** Creates the account on the page and verifies it with the mailed code,
 * ending signed in on /account. */
async function signUpAndVerifyOnPage(srv, email, password) {
  const { ctx, page } = await newPage(srv);
  try {
    const res = await submitSignUpPage(page, email, password);
    if (res.status() !== 200) assert.fail(`sign-up page: ${res.status()} ${await res.text()}`);
    await page.waitForURL(onPath('/verify'));
    const code = codeFrom(await mail.waitFor(sentTo(email), MAIL_TIMEOUT_MS));
    await page.getByLabel('Code', { exact: true }).fill(code);
    await page.getByRole('button', { name: 'Verify', exact: true }).click();
    await page.waitForURL(onPath('/account'));
  } finally {
    await ctx.close();
  }
}

// ---------------------------------------------------------------- setup

/** The shipped risk policy without its sign-up velocity rules: this file
 * signs up dozens of accounts from one address to test password rules, and
 * the velocity rules (tests/e2e/risk.journeys.test.mjs tests them) would
 * answer the later ones with the decoy of a refused sign-up. */
async function policyWithoutSignupVelocity() {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'share/risk-policy.txt'), 'utf8')
    .split('\n')
    .filter((l) => !/^rule signup_(address|network)_velocity /.test(l))
    .map((l) => (l.startsWith('version ') ? 'version test-no-signup-velocity' : l))
    .join('\n');
  const file = path.join(await makeTempDir(), 'risk-policy.txt');
  fs.writeFileSync(file, text);
  return file;
}

before(async () => {
  mail = await startMailSink();
  server = await startServer({
    env: { GATEHOUSE_SMTP_URL: mail.url, GATEHOUSE_PASSWORD_MIN_LENGTH: '8', GATEHOUSE_RISK_POLICY_FILE: await policyWithoutSignupVelocity() },
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stopAll();
  await mail?.stop();
});

// ---------------------------------------------------------------- length

describe('minimum length (SECURITY.md #1)', () => {
  let min12;
  before(async () => {
    min12 = await startServer({ env: { GATEHOUSE_SMTP_URL: mail.url, GATEHOUSE_PASSWORD_MIN_LENGTH: '12' } });
  });
  after(async () => { await min12?.stop(); });

  test('at 8: 7 characters → 400 "Use at least 8 characters." and no user; 8 characters → accepted (SECURITY.md #1)', async () => {
    const email = newEmail('min8');
    await assertSignUpRefused(server, email, pwOfLength(7), REASON.short(8), '7 characters');
    await assertSignUpAccepted(server, email, pwOfLength(8), '8 characters');
  });

  test('Create account page, at 8: 7 characters get the server\'s exact reason on the page (no minlength in the page, so a configured minimum is the one that counts); 7 code points in 8 UTF-16 units too; 8 characters go on to /verify (SECURITY.md #1, #2)', async () => {
    await assertPageRefuses(server, newEmail('page7'), pwOfLength(7), REASON.short(8), '7 characters on the page');
    // 'Kit🔑Sky' is 7 code points but 8 UTF-16 code units: a browser-side length check would let it
    // through and the server, counting code points, refuses it in plain words.
    const sevenCodePoints = 'Kit\u{1F511}Sky';
    assert.equal([...sevenCodePoints].length, 7);
    assert.equal(sevenCodePoints.length, 8);
    await assertPageRefuses(server, newEmail('page7cp'), sevenCodePoints, REASON.short(8), '7 code points on the page');
    await assertPageAccepts(server, newEmail('page8'), pwOfLength(8), '8 characters on the page');
  });

  test('GATEHOUSE_PASSWORD_MIN_LENGTH=12: 11 characters refused with "Use at least 12 characters." (API and page); 12 accepted (SECURITY.md #1)', async () => {
    const email = newEmail('min12');
    await assertSignUpRefused(min12, email, pwOfLength(8), REASON.short(12), '8 characters under min 12');
    await assertSignUpRefused(min12, email, pwOfLength(11), REASON.short(12), '11 characters under min 12');
    await assertPageRefuses(min12, email, pwOfLength(11), REASON.short(12), '11 characters on the page under min 12');
    await assertSignUpAccepted(min12, email, pwOfLength(12), '12 characters under min 12');
    await assertPageAccepts(min12, newEmail('min12page'), pwOfLength(12), '12 characters on the page under min 12');
  });

  test('GATEHOUSE_PASSWORD_MIN_LENGTH below 8 is refused at start (SECURITY.md #1: never below 8)', async () => {
    await assert.rejects(
      startServer({ env: { GATEHOUSE_PASSWORD_MIN_LENGTH: '7' } }),
      (err) => /exited/.test(err.message) && /GATEHOUSE_PASSWORD_MIN_LENGTH/.test(err.message),
    );
  });
});

describe('long passwords (SECURITY.md #2)', () => {
  test('64, 200 and 256 (the maximum) characters are accepted and sign in; 257 → "Use at most 256 characters." (SECURITY.md #2)', async () => {
    for (const n of [64, 200, MAX_LENGTH]) {
      const email = newEmail(`long${n}`);
      const password = pwOfLength(n);
      await signUpVerified(server, email, password, `${n} characters`);
      await assertSignsIn(server, email, password, `sign-in with ${n} characters`);
    }
    await assertSignUpRefused(server, newEmail('long257'), pwOfLength(MAX_LENGTH + 1), REASON.long(MAX_LENGTH), '257 characters');
  });

  test('never truncated: changing only the last character of a 100-character password fails sign-in (SECURITY.md #2)', async () => {
    const email = newEmail('last-char');
    const password = `${pwOfLength(99)}A`;
    await signUpVerified(server, email, password);
    await assertSignInFails(server, email, `${password.slice(0, -1)}B`, 'the last character changed');
    await assertSignInFails(server, email, password.slice(0, 72), 'the first 72 characters only');
    await assertSignsIn(server, email, password, 'the whole password');
  });

  test('length counts code points: 256 four-byte emoji (1 KiB of UTF-8) are accepted and sign in; 257 are refused (SECURITY.md #2)', async () => {
    const emoji = ['\u{1F511}', '\u{1F30A}', '\u{1F98A}', '\u{1F388}', '\u{1F6B2}', '\u{1F335}', '\u{1F34B}', '\u{1F419}'];
    const many = (n) => Array.from({ length: n }, (_, i) => emoji[(i * 5 + (i >> 3)) % emoji.length]).join('');
    const password = many(MAX_LENGTH);
    assert.equal(Buffer.byteLength(password), 4 * MAX_LENGTH);
    const email = newEmail('emoji256');
    await signUpVerified(server, email, password, '256 emoji');
    await assertSignsIn(server, email, password, '256 emoji');
    await assertSignUpRefused(server, newEmail('emoji257'), many(MAX_LENGTH + 1), REASON.long(MAX_LENGTH), '257 emoji');
  });

  test('the Create account page takes a 200-character password whole: signed up on the page, it signs in through the API (SECURITY.md #2, #6)', async () => {
    const email = newEmail('page200');
    const password = pwOfLength(200);
    await signUpAndVerifyOnPage(server, email, password);
    await assertSignsIn(server, email, password, '200 characters from the page');
  });

  // A maxlength on the field would count UTF-16 code units, while the server
  // allows 256 code points: a password of more than 128 astral characters
  // (emoji, many CJK extension letters) would be cut short by the browser
  // without a word. The page has none; the server alone bounds the length.
  test('the Create account page does not truncate 200 emoji (within the server\'s 256 code points) (SECURITY.md #2: never truncate)', async () => {
    const password = '\u{1F511}'.repeat(200);
    const { ctx, page } = await newPage(server);
    try {
      await page.goto('/signup');
      await page.getByLabel('Password', { exact: true }).fill(password);
      const kept = await page.getByLabel('Password', { exact: true }).inputValue();
      assert.equal([...kept].length, 200, `the field kept ${[...kept].length} of 200 emoji`);
      const res = await submitSignUpPage(page, newEmail('page-emoji200'), password);
      assert.equal(res.status(), 200);
    } finally {
      await ctx.close();
    }
  });
});

// ---------------------------------------------------------------- composition

describe('no composition rules (SECURITY.md #3)', () => {
  test('an all-lower-case passphrase of words, and a 16-letter lower-case one without spaces, are accepted and sign in (SECURITY.md #3)', async () => {
    for (const password of ['amber otters paddle under quiet lanterns', 'quietmeadowotter']) {
      assert.ok(!isCommon(password), `${password} is on the common list`);
      assert.match(password, /^[a-z ]+$/, 'lower-case letters (and spaces) only');
      const email = newEmail('phrase');
      await signUpVerified(server, email, password, password);
      await assertSignsIn(server, email, password, password);
    }
  });

  test('every printable ASCII character, spaces included (leading and trailing too), is accepted and must be typed exactly; a tab is refused in plain words (SECURITY.md #3)', async () => {
    let ascii = '';
    for (let c = 0x20; c <= 0x7e; c++) ascii += String.fromCharCode(c);
    const email = newEmail('printable');
    await signUpVerified(server, email, ascii, 'all printable ASCII');
    await assertSignsIn(server, email, ascii, 'all printable ASCII');

    const spaced = `  ${pwOfLength(10)} with  spaces  `;
    const email2 = newEmail('spaces');
    await signUpVerified(server, email2, spaced, 'spaces');
    await assertSignsIn(server, email2, spaced, 'spaces kept as typed');
    await assertSignInFails(server, email2, spaced.trim(), 'spaces are not trimmed away');

    await assertSignUpRefused(server, newEmail('tab'), `${pwOfLength(10)}\t${pwOfLength(4)}`, REASON.invalid, 'a tab');
  });
});

// ---------------------------------------------------------------- unicode

describe('Unicode passwords are normalised (NFKC) before hashing (63B §5.1.1.2; SECURITY.md #2)', () => {
  const composed = '\u00dcn\u00efc\u00f6d\u00e9-P\u00e4ssw\u00f6rt-\u2713'; // 'Ünïcödé-Pässwört-✓' in NFC

  test('signed up in NFC, signs in with the NFD form and with NFC; a real character changed fails (SECURITY.md #2)', async () => {
    const nfd = composed.normalize('NFD');
    assert.equal(composed, composed.normalize('NFC'));
    assert.notEqual(nfd, composed, 'the NFD form is different code points');
    assert.ok([...nfd].length > [...composed].length);
    const email = newEmail('nfc');
    await signUpVerified(server, email, composed);
    await assertSignsIn(server, email, nfd, 'NFD form of an NFC sign-up');
    await assertSignsIn(server, email, composed, 'the same NFC form');
    await assertSignInFails(server, email, composed.replace('w\u00f6rt', 'wort'), 'ö → o');
    await assertSignInFails(server, email, composed.replace('\u2713', '\u2714'), '✓ → ✔');
  });

  test('signed up in NFD, signs in with the NFC form (SECURITY.md #2)', async () => {
    const nfc = 'Cr\u00e8me-Br\u00fbl\u00e9e-Fa\u00e7ade-\u00d1and\u00fa';
    const nfd = nfc.normalize('NFD');
    assert.notEqual(nfd, nfc);
    const email = newEmail('nfd');
    await signUpVerified(server, email, nfd);
    await assertSignsIn(server, email, nfc, 'NFC form of an NFD sign-up');
    await assertSignsIn(server, email, nfd, 'the same NFD form');
  });

  test('NFKC, not only NFC: signed up with full-width letters and a ligature, signs in with their plain forms (SECURITY.md #2)', async () => {
    const typed = `${fullWidth('Velvet')}-\ufb01re-Harbor-${randomHex(3)}`; // 'Ｖｅｌｖｅｔ-ﬁre-Harbor-…'
    const plain = typed.normalize('NFKC');
    assert.equal(plain.slice(0, 12), 'Velvet-fire-');
    assert.notEqual(typed.normalize('NFC'), plain, 'NFC alone would not make them equal');
    const email = newEmail('nfkc');
    await signUpVerified(server, email, typed);
    await assertSignsIn(server, email, plain, 'the NFKC form');
    await assertSignsIn(server, email, typed, 'as typed');
  });

  test('length is counted on the normalised form: "Ünïcödé" sent as NFD (11 code points) is still 7 characters; 7 emoji are 7 (SECURITY.md #1, #2)', async () => {
    const sevenNfd = 'Ünïcödé'.normalize('NFD');
    assert.equal([...sevenNfd].length, 11);
    await assertSignUpRefused(server, newEmail('nfd7'), sevenNfd, REASON.short(8), '7 letters in NFD');
    await assertPageRefuses(server, newEmail('nfd7page'), sevenNfd, REASON.short(8), '7 letters in NFD on the page');
    const seven = '\u{1F511}\u{1F30A}\u{1F98A}\u{1F388}\u{1F6B2}\u{1F335}\u{1F34B}';
    await assertSignUpRefused(server, newEmail('emoji7'), seven, REASON.short(8), '7 emoji (28 bytes)');
  });

  test('an emoji password works; a different emoji fails (SECURITY.md #2)', async () => {
    const password = '\u{1F511}\u{1F30A}\u{1F98A}\u{1F388}\u{1F6B2}\u{1F335}\u{1F34B}\u{1F419}';
    assert.equal([...password].length, 8);
    const email = newEmail('emoji');
    await signUpVerified(server, email, password);
    await assertSignsIn(server, email, password, 'emoji');
    await assertSignInFails(server, email, password.replace('\u{1F419}', '\u{1F991}'), 'the last emoji changed');
  });

  test('in the browser: Create account with the NFC password, then Sign in typing its NFD form lands on /account (SECURITY.md #2)', async () => {
    const email = newEmail('page-nfd');
    const nfd = composed.normalize('NFD');
    await signUpAndVerifyOnPage(server, email, composed);
    const { ctx, page } = await newPage(server);
    try {
      await page.goto('/signin');
      await page.getByLabel('Email', { exact: true }).fill(email);
      await page.getByLabel('Password', { exact: true }).fill(nfd);
      const sent = page.waitForRequest((req) => req.method() === 'POST' && new URL(req.url()).pathname === '/api/v1/signin');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      assert.equal((await sent).postDataJSON().password, nfd, 'the browser sends the NFD form as typed');
      await page.waitForURL(onPath('/account'));
      await page.locator('main').getByText(email, { exact: true }).waitFor();
    } finally {
      await ctx.close();
    }
  });
});

// ---------------------------------------------------------------- blocklist

describe('common passwords are refused (SECURITY.md #4)', () => {
  // Picked from the file at test time: letters and digits, 8 to 32 long.
  const candidates = COMMON_LIST.filter((l) => /^[a-z0-9]{8,32}$/.test(l) && /[a-z]/.test(l) && !l.includes('gatehouse'));
  const pick = candidates[randomInt(candidates.length)];

  test('a password picked from share/common-passwords.txt, its upper-case and capitalised variants and its full-width (NFKC) form → "This password is too common; choose another.", nothing created (SECURITY.md #4)', async () => {
    assert.ok(candidates.length > 1000, 'the list has plenty of 8+ character entries');
    const email = newEmail('common');
    const variants = [pick, pick.toUpperCase(), pick.charAt(0).toUpperCase() + pick.slice(1), fullWidth(pick)];
    for (const pw of variants) {
      await assertSignUpRefused(server, email, pw, REASON.common, `common password ${JSON.stringify(pw)}`);
    }
    // Control: the same shape of password, not on the list, is accepted.
    const fresh = `${pick.slice(0, 4)}-${randomHex(4)}-${pick.slice(4)}`;
    assert.ok(!isCommon(fresh));
    await assertSignUpAccepted(server, email, fresh, 'not on the list');
  });

  test('the Create account page shows the exact reason for a common password and its upper-case form (SECURITY.md #4)', async () => {
    await assertPageRefuses(server, newEmail('common-page'), pick, REASON.common, `common password "${pick}" on the page`);
    await assertPageRefuses(server, newEmail('common-page'), pick.toUpperCase(), REASON.common, 'upper-case common password on the page');
  });
});

describe('context words are refused (SECURITY.md #5)', () => {
  const email = 'marigold.fenwick@example.com';

  test('a password containing the email\'s local part, in any case → "Don\'t use your email address in your password."; the same password is fine for another address (SECURITY.md #5)', async () => {
    for (const pw of ['marigold.fenwick-2026', 'MARIGOLD.Fenwick-2026', 'my name is Marigold.Fenwick']) {
      await assertSignUpRefused(server, email, pw, REASON.email, JSON.stringify(pw));
    }
    await assertSignUpRefused(server, 'Marigold.Fenwick@Example.com', 'marigold.fenwick-2026', REASON.email, 'email typed with capitals');
    await assertSignUpAccepted(server, `rowan.ashby.${randomHex(3)}@example.com`, 'marigold.fenwick-2026', 'another address');
  });

  test('a password containing the service name → "Don\'t use the name of this service in your password." (SECURITY.md #5)', async () => {
    await assertSignUpRefused(server, newEmail('service'), `my-GateHouse-${randomHex(4)}`, REASON.service, 'the service name');
  });

  test('the Create account page shows the exact email-local-part reason (SECURITY.md #5)', async () => {
    await assertPageRefuses(server, email, 'Marigold.Fenwick-2026', REASON.email, 'local part on the page');
  });
});

// ---------------------------------------------------------------- breached

describe('GATEHOUSE_BREACHED_PASSWORDS_FILE: Have I Been Pwned SHA-1 file (SECURITY.md #4)', () => {
  const breached = 'Velvet-Harbor-Lantern-93';
  const breachedUnicode = 'Gr\u00f6\u00dfe-Flu\u00df-Kaffee-19'; // listed by the SHA-1 of its NFC (= NFKC) UTF-8
  const zeroCount = 'Quiet-Meadow-Compass-58'; // listed with count 0 (HIBP padding): not breached
  let lf;
  let crlf;

  before(async () => {
    assert.equal(breachedUnicode, breachedUnicode.normalize('NFKC'));
    const entries = [[breached, 52_113], [breachedUnicode, 7], [zeroCount, 0]];
    const lfFile = await writeHibpFile(entries);
    const crlfFile = await writeHibpFile(entries, { eol: '\r\n' });
    assert.match(fs.readFileSync(crlfFile, 'utf8').slice(0, 100), /^[0-9A-F]{40}:\d+\r\n/);
    lf = await startServer({ env: { GATEHOUSE_SMTP_URL: mail.url, GATEHOUSE_BREACHED_PASSWORDS_FILE: lfFile } });
    crlf = await startServer({ env: { GATEHOUSE_SMTP_URL: mail.url, GATEHOUSE_BREACHED_PASSWORDS_FILE: crlfFile } });
  });
  after(async () => { await lf?.stop(); await crlf?.stop(); });

  test('a listed password → "This password has appeared in a data breach; choose another.", nothing created; another strong password is accepted (LF and CRLF files) (SECURITY.md #4)', async () => {
    for (const [name, srv] of [['LF', lf], ['CRLF', crlf]]) {
      await assertSignUpRefused(srv, newEmail('breached'), breached, REASON.breached, `${name}: listed password`);
      await assertSignUpRefused(srv, newEmail('breached'), breachedUnicode, REASON.breached, `${name}: listed Unicode password`);
      await assertSignUpRefused(srv, newEmail('breached'), breachedUnicode.normalize('NFD'), REASON.breached,
        `${name}: listed Unicode password typed in NFD (looked up after normalising)`);
      await assertSignUpAccepted(srv, newEmail('strong'), 'Copper-Willow-Tides-47', `${name}: a strong password not in the file`);
      await assertSignUpAccepted(srv, newEmail('zero'), zeroCount, `${name}: a line with count 0 is not a breach`);
    }
    // Control: without the file the listed password is fine, so the file is what refuses it.
    await assertSignUpAccepted(server, newEmail('unlisted'), breached, 'no breached file configured');
  });

  test('the Create account page shows the exact breached reason (SECURITY.md #4)', async () => {
    await assertPageRefuses(lf, newEmail('breached-page'), breached, REASON.breached, 'breached on the page');
  });

  test('SCIM applies the same check to a password an administrator sets (SECURITY.md #4)', async () => {
    const email = newEmail('scim-breached');
    const r = await scim(lf, 'POST', '/Users', userBody(email, { password: breached }));
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.detail, `password: ${REASON.breached}`);
    assert.equal(usersWithEmail(lf, email), 0);
  });

  test('a missing or malformed file stops the server at start instead of skipping the check (fail closed; SECURITY.md #4)', async () => {
    const dir = await makeTempDir();
    const bad = path.join(dir, 'not-hibp.txt');
    fs.writeFileSync(bad, 'password123\nletmein\n');
    for (const file of [bad, path.join(dir, 'missing.txt')]) {
      await assert.rejects(
        startServer({ env: { GATEHOUSE_BREACHED_PASSWORDS_FILE: file } }),
        (err) => /exited/.test(err.message) && /GATEHOUSE_BREACHED_PASSWORDS_FILE/.test(err.message),
        file,
      );
    }
  });
});
