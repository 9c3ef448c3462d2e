// Abuse resistance of emailed codes and of sign-up (issue 15, items 4 and 5):
// guessing 6-digit codes across flows and resends, flooding a mailbox, other
// people blocking the owner's codes, and holding an address with an
// unverified sign-up (account pre-hijacking).
//
// Many client addresses: every request goes out from its own loopback
// address (Node http `localAddress: '127.x.y.z'`; the server listens on
// 127.0.0.1, and all of 127/8 is loopback on Linux), so the limits per
// client address (GATEHOUSE_MAIL_IP_HOURLY_LIMIT) are not what stops the
// attacks below: the limits per account and per email address are.
// Defaults under test: GATEHOUSE_CODE_DAILY_LIMIT 20, GATEHOUSE_MAIL_DAILY_LIMIT 10.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFileSync } from 'node:child_process';

import { startServer, stopAll, sql, randomHex, sleep, scim, userBody, BACKEND } from './lib/server.mjs';
import { startMailSink, codeFrom, linkFrom, sentTo } from './lib/mail.mjs';
import { Browser as BaseBrowser } from './lib/browser.mjs';

const CODE_DAILY_LIMIT = 20;
const MAIL_DAILY_LIMIT = 10;
const MAX_ATTEMPTS = 5; // per flow (src/handlers/gh_accounts.c)
const CODE_LIMIT = 'Too many codes were tried for this address today. Use the link in the email instead.';
const MAIL_TIMEOUT_MS = 15_000;

/** A browser (cookie jar, CSRF) whose every request leaves from localAddress. */
class Browser extends BaseBrowser {
  constructor(server, localAddress) {
    super(server);
    this.localAddress = localAddress;
  }

  raw(method, path, { body, headers = {} } = {}) {
    const url = new URL(this.server.url);
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: url.hostname,
        port: url.port,
        path,
        method,
        localAddress: this.localAddress,
        headers: { cookie: this.cookieHeader(), ...(body ? { 'content-length': Buffer.byteLength(body) } : {}), ...headers },
        timeout: 15_000,
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            for (const one of Array.isArray(v) ? v : [v]) h.append(k, one);
          }
          this.take({ headers: h });
          const text = Buffer.concat(chunks).toString('utf8');
          let json = null;
          try { json = JSON.parse(text); } catch { /* not JSON */ }
          if (json?.csrf_token) this.csrf = json.csrf_token;
          resolve({ status: res.statusCode, headers: h, json, text });
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      if (body) req.write(body);
      req.end();
    });
  }

  async send(method, path, data) {
    if (!this.csrf) await this.session();
    const h = { origin: this.origin, 'x-csrf-token': this.csrf, 'content-type': 'application/json' };
    return this.raw(method, path, { body: JSON.stringify(data ?? {}), headers: h });
  }

  post(path, data) { return this.send('POST', path, data); }
  put(path, data) { return this.send('PUT', path, data); }
}

let server;
let mail;
let net = 0;
/** A loopback address no other test used: 127.<n>.<n>.<n>. */
function freshAddress() {
  net += 1;
  return `127.${1 + (net >> 16)}.${(net >> 8) & 255}.${net & 255}`;
}
const browserFrom = (addr = freshAddress()) => new Browser(server, addr);

const strongPassword = () => `Lantern ${randomHex(6)} river ${randomHex(4)}`;
const newEmail = (tag) => `${tag}-${randomHex(5)}@example.com`;
const mailsTo = (email) => mail.messages.filter(sentTo(email));

/** Waits until no new mail to email has come for quietMs; resolves the count. */
async function settledMails(email, quietMs = 1500) {
  let n = mailsTo(email).length;
  for (let i = 0; i < 40; i++) {
    await sleep(quietMs);
    const now = mailsTo(email).length;
    if (now === n) return n;
    n = now;
  }
  return n;
}

async function nextMailAfter(email, seen) {
  return mail.waitFor((m) => sentTo(email)(m) && !mailsTo(email).slice(0, seen).includes(m), MAIL_TIMEOUT_MS);
}

const wrongTo = (code) => (code === '000000' ? '111111' : '000000');
const userRow = (email) => sql(server, `SELECT id, email_verified FROM users WHERE email = '${email}'`)[0];

before(async () => {
  mail = await startMailSink();
  server = await startServer({
    env: { GATEHOUSE_SMTP_URL: mail.url, GATEHOUSE_RESEND_COOLDOWN: 1 },
  });
});

after(async () => {
  await stopAll();
  await mail?.stop();
});

describe('emailed codes: guesses across flows, resends and sign-ins (issue 15 item 4)', () => {
  test('SECURITY.md #13, #20: 20 sign-ins to an unverified account with 5 wrong codes each get at most GATEHOUSE_CODE_DAILY_LIMIT guesses, then a clear 429, not 100', async () => {
    const email = newEmail('probe');
    const password = strongPassword();
    const up = await browserFrom().post('/api/v1/signup', { email, password });
    assert.equal(up.status, 200, up.text);
    let compared = 0; // answers that compared a code (invalid_code / flow_expired)
    let limited = 0;
    for (let i = 0; i < 20; i++) {
      const b = browserFrom();
      const s = await b.post('/api/v1/signin', { email, password });
      assert.equal(s.status, 200, s.text);
      assert.equal(s.json.status, 'verification_required', 'no 429: the same answer every time');
      for (let k = 0; k < MAX_ATTEMPTS; k++) {
        const v = await b.post('/api/v1/verify', { flow_id: s.json.flow_id, code: String(100000 + i * 10 + k) });
        assert.notEqual(v.status, 200, 'a guess never verifies here');
        if (v.status === 429) {
          limited += 1;
          assert.equal(v.json.error_description, CODE_LIMIT);
          assert.ok(v.headers.get('retry-after'));
        } else {
          assert.ok(['invalid_code', 'flow_expired'].includes(v.json.error), v.text);
          compared += 1;
        }
      }
    }
    assert.ok(compared <= CODE_DAILY_LIMIT, `${compared} codes were compared, at most ${CODE_DAILY_LIMIT}`);
    assert.equal(limited, 100 - compared, 'every other try was refused by the daily limit');
    assert.equal(userRow(email).email_verified, 0);
    // Mail: the sign-up's plus sign-ins, at most the address's daily limit.
    assert.ok(await settledMails(email) <= MAIL_DAILY_LIMIT, 'sign-ins mail at most the daily limit');
  });

  test('SECURITY.md #13: a resend does not reset the wrong-code count of its flow', async () => {
    const email = newEmail('resend');
    const b = browserFrom();
    const up = await b.post('/api/v1/signup', { email, password: strongPassword() });
    assert.equal(up.status, 200, up.text);
    const flow = up.json.flow_id;
    const first = codeFrom(await mail.waitFor(sentTo(email), MAIL_TIMEOUT_MS));
    for (let k = 1; k < MAX_ATTEMPTS; k++) {
      const v = await b.post('/api/v1/verify', { flow_id: flow, code: wrongTo(first) });
      assert.equal(v.json.error, 'invalid_code', `wrong code ${k}`);
    }
    await sleep(1100);
    const again = await b.post('/api/v1/verify/resend', { flow_id: flow });
    assert.equal(again.status, 200, again.text);
    const m = await nextMailAfter(email, 1);
    const code = codeFrom(m);
    const last = await b.post('/api/v1/verify', { flow_id: flow, code: wrongTo(code) });
    assert.equal(last.json.error, 'flow_expired', 'the 5th wrong code of the flow, resend or not');
    const right = await b.post('/api/v1/verify', { flow_id: flow, code });
    assert.equal(right.json.error, 'flow_expired', 'no more codes for this flow');
    assert.equal(Number(sql(server, `SELECT attempts FROM email_flows WHERE id = '${flow}'`)[0].attempts), MAX_ATTEMPTS);
    // The new mail's link still verifies (SECURITY.md #20: bound to its flow).
    const link = linkFrom(m);
    const byLink = await b.post('/api/v1/verify', { flow_id: link.searchParams.get('flow'), token: link.searchParams.get('token') });
    assert.equal(byLink.status, 200, byLink.text);
    assert.equal(userRow(email).email_verified, 1);
  });

  test('SECURITY.md #12, #14: 15 sign-ups for one address from 15 client addresses send at most GATEHOUSE_MAIL_DAILY_LIMIT mails, with the same answer every time', async () => {
    const email = newEmail('flood');
    const answers = [];
    for (let i = 0; i < 15; i++) {
      const r = await browserFrom().post('/api/v1/signup', { email, password: strongPassword() });
      assert.equal(r.status, 200, r.text);
      answers.push(r.json);
    }
    for (const a of answers) {
      assert.deepEqual(Object.keys(a).sort(), ['email', 'flow_id', 'status']);
      assert.equal(a.status, 'verification_required');
      assert.equal(a.email, email);
    }
    const n = await settledMails(email);
    assert.ok(n >= 1 && n <= MAIL_DAILY_LIMIT, `${n} mails, at most ${MAIL_DAILY_LIMIT}`);
  });

  test('SECURITY.md #13: past the daily code limit the owner\'s code is refused with a clear answer, but the link in the mail still verifies', async () => {
    const email = newEmail('owner');
    const owner = browserFrom();
    const up = await owner.post('/api/v1/signup', { email, password: strongPassword() });
    assert.equal(up.status, 200, up.text);
    const m = await mail.waitFor(sentTo(email), MAIL_TIMEOUT_MS);
    const code = codeFrom(m);
    // Others sign up to the same address and guess the codes of their flows.
    let limited = false;
    for (let i = 0; i < 10 && !limited; i++) {
      const b = browserFrom();
      const r = await b.post('/api/v1/signup', { email, password: strongPassword() });
      assert.equal(r.status, 200, r.text);
      for (let k = 0; k < MAX_ATTEMPTS && !limited; k++) {
        const v = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code: String(200000 + i * 10 + k) });
        limited = v.status === 429;
      }
    }
    assert.ok(limited, 'the guesses reached the daily limit');
    const byCode = await owner.post('/api/v1/verify', { flow_id: up.json.flow_id, code });
    assert.equal(byCode.status, 429, byCode.text);
    assert.equal(byCode.json.error_description, CODE_LIMIT);
    const link = linkFrom(m);
    const byLink = await owner.post('/api/v1/verify', { flow_id: link.searchParams.get('flow'), token: link.searchParams.get('token') });
    assert.equal(byLink.status, 200, byLink.text);
    assert.equal(byLink.json.status, 'signed_in');
    assert.equal(userRow(email).email_verified, 1);
  });
});

describe('/api/v1/signin/email: others cannot block the owner (issue 15 item 4)', () => {
  /** A passwordless-email user who signed in from `home`, then signed out. */
  async function passwordlessOwner(home) {
    const email = newEmail('pwless');
    const b = new Browser(server, home);
    const up = await b.post('/api/v1/signup', { email, password: strongPassword() });
    assert.equal(up.status, 200, up.text);
    const code = codeFrom(await mail.waitFor(sentTo(email), MAIL_TIMEOUT_MS));
    const v = await b.post('/api/v1/verify', { flow_id: up.json.flow_id, code });
    assert.equal(v.json.status, 'signed_in', v.text);
    const on = await b.put('/api/v1/mfa/email', { enabled: true });
    assert.equal(on.status, 200, on.text);
    assert.equal((await b.post('/api/v1/signout', {})).status, 200);
    await settledMails(email, 500);
    return email;
  }

  async function ownerSignsIn(home, email) {
    const b = new Browser(server, home);
    const seen = await settledMails(email, 700); // others' mails are in first
    const r = await b.post('/api/v1/signin/email', { email });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'code_sent');
    const code = codeFrom(await nextMailAfter(email, seen));
    const v = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.status, 'signed_in');
  }

  test('SECURITY.md #12, #14: five requests from another client address slow that client only; the owner still gets a working code', async () => {
    const home = freshAddress();
    const email = await passwordlessOwner(home);
    const other = browserFrom();
    for (let i = 0; i < 5; i++) {
      const r = await other.post('/api/v1/signin/email', { email });
      assert.equal(r.status, 200, r.text);
    }
    const sixth = await other.post('/api/v1/signin/email', { email });
    assert.equal(sixth.status, 429, 'the same client asking again waits');
    await ownerSignsIn(home, email);
  });

  test('SECURITY.md #12, #14: 40 requests from 40 client addresses neither flood the mailbox nor stop the owner\'s code; an unknown address gets the same answers', async () => {
    const home = freshAddress();
    const email = await passwordlessOwner(home);
    const before = mailsTo(email).length;
    const unknown = newEmail('nobody');
    for (let i = 0; i < 40; i++) {
      for (const addr of [email, unknown]) {
        const r = await browserFrom().post('/api/v1/signin/email', { email: addr });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(Object.keys(r.json).sort(), ['email', 'flow_id', 'status']);
        assert.equal(r.json.status, 'code_sent');
      }
    }
    const sent = (await settledMails(email)) - before;
    assert.ok(sent <= MAIL_DAILY_LIMIT, `${sent} code mails, at most ${MAIL_DAILY_LIMIT}`);
    await ownerSignsIn(home, email);
  });
});

// ------------------------------------------------ account pre-hijacking

/** Runs a statement that changes rows, on either backend. */
function write(srv, statement) {
  if (BACKEND === 'postgres') {
    execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', srv.dbPath, '-c', statement], { stdio: ['ignore', 'pipe', 'pipe'] });
  } else {
    execFileSync('sqlite3', ['-cmd', '.timeout 5000', srv.dbPath, statement], { stdio: ['ignore', 'pipe', 'pipe'] });
  }
}

const DAY_MS = 24 * 3600 * 1000;
const GH_URN = 'urn:ietf:params:scim:schemas:extension:gatehouse:2.0:User';
/** A SCIM user whose email the administrator does not vouch for. */
const unverifiedScimUser = (email) =>
  userBody(email, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', GH_URN], [GH_URN]: { emailVerified: false } });

async function signUpAndVerify(email, password, addr = freshAddress()) {
  const b = new Browser(server, addr);
  const seen = await settledMails(email, 500);
  const r = await b.post('/api/v1/signup', { email, password, given_name: 'Real' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.json).sort(), ['email', 'flow_id', 'status'], 'the answer every sign-up gets');
  assert.equal(r.json.status, 'verification_required');
  const m = await nextMailAfter(email, seen);
  const v = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code: codeFrom(m) });
  return { b, r, v };
}

describe('account pre-hijacking: an unverified sign-up does not hold an address (issue 15 item 5; ASVS 6.4, SECURITY.md #14)', () => {
  test('the owner who signs up later and verifies gets the address with their own password; the squatter\'s password, flow and data are gone, audited', async () => {
    const email = newEmail('victim');
    const squatterPassword = strongPassword();
    const squatter = browserFrom();
    const s = await squatter.post('/api/v1/signup', { email, password: squatterPassword, given_name: 'Squatter' });
    assert.equal(s.status, 200, s.text);
    const squatterMail = await mail.waitFor(sentTo(email), MAIL_TIMEOUT_MS);
    const old = userRow(email);

    const ownerPassword = strongPassword();
    const { v } = await signUpAndVerify(email, ownerPassword);
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.status, 'signed_in');

    const now = userRow(email);
    assert.notEqual(now.id, old.id, 'a new account, with a new id');
    assert.equal(now.email_verified, 1);
    assert.equal(sql(server, `SELECT given_name FROM users WHERE id = '${now.id}'`)[0].given_name, 'Real');
    assert.equal(sql(server, `SELECT count(*) AS n FROM users WHERE id = '${old.id}'`)[0].n, 0);
    assert.equal(sql(server, `SELECT count(*) AS n FROM email_flows WHERE user_id = '${old.id}'`)[0].n, 0);
    const ev = sql(server, `SELECT subject, details FROM audit_events WHERE type = 'account.unverified_replaced' AND details LIKE '%${now.id}%'`);
    assert.equal(ev.length, 1);
    assert.equal(JSON.parse(ev[0].details).new_user_id, now.id);
    // the removed account's trail keeps only its pseudonym, as for any removed account (issue 20 item 3)
    assert.match(ev[0].subject, /^pseud:/);
    assert.equal(sql(server, `SELECT count(*) AS n FROM audit_events WHERE subject = '${old.id}' OR actor = '${old.id}'`)[0].n, 0);
    assert.equal(sql(server, `SELECT count(*) AS n FROM audit_events WHERE subject = '${ev[0].subject}' AND (ip IS NOT NULL OR user_agent IS NOT NULL) AND type <> 'account.unverified_replaced'`)[0].n, 0);

    const ownerIn = await browserFrom().post('/api/v1/signin', { email, password: ownerPassword });
    assert.equal(ownerIn.status, 200, ownerIn.text);
    assert.equal(ownerIn.json.status, 'signed_in');
    const squatterIn = await browserFrom().post('/api/v1/signin', { email, password: squatterPassword });
    assert.equal(squatterIn.status, 401, 'the squatter\'s password no longer works');
    // The squatter's own verification flow died with the account.
    const link = linkFrom(squatterMail);
    const late = await squatter.post('/api/v1/verify', { flow_id: link.searchParams.get('flow'), token: link.searchParams.get('token') });
    assert.equal(late.status, 400, late.text);
    assert.equal(late.json.error, 'invalid_code');
  });

  test('a verified account, and an unverified SCIM user, are never replaced: the sign-up only mails a notice', async () => {
    const email = newEmail('scim');
    const created = await scim(server, 'POST', '/Users', unverifiedScimUser(email));
    assert.equal(created.status, 201, created.text);
    const row = userRow(email);
    assert.equal(row.email_verified, 0, 'SCIM made it unverified');
    const seen = await settledMails(email, 500);
    const r = await browserFrom().post('/api/v1/signup', { email, password: strongPassword() });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'verification_required');
    const m = await nextMailAfter(email, seen);
    assert.match(m.text, /already has an account/, 'a notice, no code');
    assert.equal(userRow(email).id, row.id);
    assert.equal(sql(server, `SELECT count(*) AS n FROM credentials WHERE user_id = '${row.id}'`)[0].n, 0);
  });
});

describe('account pre-hijacking: unverified sign-ups expire (GATEHOUSE_UNVERIFIED_ACCOUNT_TTL; REQUIRE_VERIFIED_EMAIL off)', () => {
  let srv;
  before(async () => {
    srv = await startServer({
      env: {
        GATEHOUSE_SMTP_URL: mail.url,
        GATEHOUSE_REQUIRE_VERIFIED_EMAIL: 'off',
        GATEHOUSE_UNVERIFIED_ACCOUNT_TTL: 3600,
        GATEHOUSE_PRUNE_INTERVAL: 1,
      },
    });
  });
  after(async () => { await srv?.stop(); });

  test('a squatter signed in without verifying: the owner\'s verified sign-up ends the squatter\'s session', async () => {
    const email = newEmail('sess');
    const squatterPassword = strongPassword();
    const squatter = new Browser(srv, freshAddress());
    assert.equal((await squatter.post('/api/v1/signup', { email, password: squatterPassword })).status, 200);
    const inside = await squatter.post('/api/v1/signin', { email, password: squatterPassword });
    assert.equal(inside.json.status, 'signed_in', inside.text);
    const cookie = squatter.cookieHeader();
    assert.equal((await squatter.session()).authenticated, true);

    const owner = new Browser(srv, freshAddress());
    const seen = await settledMails(email, 500);
    const r = await owner.post('/api/v1/signup', { email, password: strongPassword() });
    assert.equal(r.status, 200, r.text);
    const m = await nextMailAfter(email, seen);
    const v = await owner.post('/api/v1/verify', { flow_id: r.json.flow_id, code: codeFrom(m) });
    assert.equal(v.json.status, 'signed_in', v.text);

    const copy = new Browser(srv, freshAddress());
    const res = await copy.raw('GET', '/api/v1/session', { headers: { cookie } });
    assert.equal(res.json.authenticated, false, 'the squatter\'s old cookie is dead');
  });

  test('the janitor deletes a self-service sign-up unverified past the TTL, and never a young one, a verified one or a SCIM user', async () => {
    const old = newEmail('old');
    const young = newEmail('young');
    const scimUser = newEmail('scimold');
    for (const email of [old, young]) {
      assert.equal((await new Browser(srv, freshAddress()).post('/api/v1/signup', { email, password: strongPassword() })).status, 200);
    }
    assert.equal((await scim(srv, 'POST', '/Users', unverifiedScimUser(scimUser))).status, 201);
    assert.equal(sql(srv, `SELECT email_verified FROM users WHERE email = '${scimUser}'`)[0].email_verified, 0);
    const oldId = sql(srv, `SELECT id FROM users WHERE email = '${old}'`)[0].id;
    const back = Date.now() - 8 * DAY_MS;
    write(srv, `UPDATE users SET created_at = ${back} WHERE email IN ('${old}', '${scimUser}')`);
    let left = 1;
    for (let i = 0; i < 60 && left; i++) {
      await sleep(250);
      left = sql(srv, `SELECT count(*) AS n FROM users WHERE email = '${old}'`)[0].n;
    }
    assert.equal(left, 0, 'pruned');
    assert.equal(sql(srv, `SELECT count(*) AS n FROM credentials WHERE user_id = '${oldId}'`)[0].n, 0);
    assert.equal(sql(srv, `SELECT count(*) AS n FROM email_flows WHERE user_id = '${oldId}'`)[0].n, 0);
    assert.equal(sql(srv, `SELECT count(*) AS n FROM users WHERE email = '${young}'`)[0].n, 1);
    assert.equal(sql(srv, `SELECT count(*) AS n FROM users WHERE email = '${scimUser}'`)[0].n, 1, 'SCIM users are never pruned');
  });
});
