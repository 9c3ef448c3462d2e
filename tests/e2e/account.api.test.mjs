// The customer's own account over the API (issue 18; docs/accounts-api.md).
// Changing the password on /account (item 2):
// the current password or a recent sign-in, "Sign out everywhere else" on by
// default, a notice by mail, wrong current passwords limited. Sessions are
// checked dead with a COPY of their old cookie. SECURITY.md ids cited:
//   #30 re-authentication before sensitive changes, #33 notify on change.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, randomHex, sql } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, sentTo } from './lib/mail.mjs';
import { Browser, newUser, signedIn, copyOf } from './lib/browser.mjs';
import { registerClient, codeTokens } from './lib/oidc.mjs';
import { enrolTotp } from './lib/factors.mjs';

const NOTICE = 'Your password was changed';
const fresh = () => `Orchard-${randomHex(6)}-Lantern-${randomHex(3)}`;

const ctx = {};
before(async () => {
  ctx.mail = await startMailSink();
  ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url } });
});
after(async () => {
  await stopAll();
  await stopAllMailSinks();
});

async function signsIn(email, password) {
  return (await new Browser(ctx.server).post('/api/v1/signin', { email, password })).status === 200;
}

describe('change password (SECURITY.md #30, #33)', () => {
  test('with the current password: other sessions end (a copy of their cookie is refused), this one stays, the old password is dead, a notice is mailed', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'chpw');
    const here = await signedIn(server, user);
    const elsewhere = copyOf(server, await signedIn(server, user));
    const wrong = await here.post('/api/v1/password', { current_password: 'not-it-at-all', password: fresh() });
    assert.equal(wrong.status, 400, wrong.text);
    assert.equal(wrong.json.error, 'wrong_password');
    assert.equal(await signsIn(user.email, user.password), true, 'nothing changed');

    const since = ctx.mail.messages.length;
    const pw = fresh();
    const ok = await here.post('/api/v1/password', { current_password: user.password, password: pw });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.status, 'changed');
    assert.equal(ok.json.ended, 2, 'the other browser, and the sign-in that checked nothing changed');
    assert.equal((await here.session()).authenticated, true, 'this session stays');
    assert.equal((await elsewhere.session()).authenticated, false, 'the other session ended');
    assert.equal(await signsIn(user.email, user.password), false, 'the old password');
    assert.equal(await signsIn(user.email, pw), true, 'the new password');
    const notice = await ctx.mail.waitFor((m) => ctx.mail.messages.indexOf(m) >= since && sentTo(user.email)(m) && m.subject === NOTICE, 10_000);
    assert.doesNotMatch(notice.text, new RegExp(pw));
    assert.equal(sql(server, `SELECT count(*) AS n FROM audit_events WHERE subject = '${user.id}' AND type = 'password.changed'`)[0].n, 1);
  });

  test('a recent sign-in needs no current password; "Sign out everywhere else" may be turned off', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'chpw2');
    const here = await signedIn(server, user);
    const elsewhere = copyOf(server, await signedIn(server, user));
    const ok = await here.post('/api/v1/password', { password: fresh(), sign_out_others: false });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.ended, 0);
    assert.equal((await elsewhere.session()).authenticated, true);
  });

  test('a session below the account\'s level (a second factor added after it began) must give the current password', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'chpw3');
    const here = await signedIn(server, user);
    await enrolTotp(here); // the session stays AAL1, the account now has a second factor
    const refused = await here.post('/api/v1/password', { password: fresh() });
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json.error, 'reauthentication_required');
    const ok = await here.post('/api/v1/password', { current_password: user.password, password: fresh() });
    assert.equal(ok.status, 200, ok.text);
  });

  test('five wrong current passwords lock the change for a while (a stolen session guesses nothing), and bad input changes nothing', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'chpw4');
    const here = await signedIn(server, user);
    for (let i = 0; i < 5; i++) {
      const w = await here.post('/api/v1/password', { current_password: `guess-${i}-${randomHex(3)}`, password: fresh() });
      assert.equal(w.status, 400, w.text);
    }
    const locked = await here.post('/api/v1/password', { current_password: user.password, password: fresh() });
    assert.equal(locked.status, 429, locked.text);
    assert.ok(Number(locked.headers.get('retry-after')) > 0);

    const other = await signedIn(server, (await newUser(server, 'chpw5')));
    for (const [body, what] of [
      [{ password: 7 }, 'a number'],
      [{ password: fresh(), sign_out_others: 'yes' }, 'a string flag'],
      [{ current_password: ['x'], password: fresh() }, 'an array'],
      [{ password: 'short' }, 'a weak password'],
    ]) {
      const r = await other.post('/api/v1/password', body);
      assert.equal(r.status, 400, `${what}: ${r.text}`);
    }
    const noCsrf = await other.post('/api/v1/password', { password: fresh() }, { csrf: false });
    assert.equal(noCsrf.status, 403);
    const anonymous = await new Browser(server).post('/api/v1/password', { password: fresh() });
    assert.equal(anonymous.status, 401);
  });
});

// The profile (item 4): names, language and time zone, shown by userinfo and,
// for the profile scope, in the ID token (docs/oidc.md).
describe('profile', () => {
  const payload = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

  test('edited names, language and time zone reach userinfo and the ID token of the profile scope; email claims follow the email scope', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'prof');
    const b = await signedIn(server, user);
    const before = await b.raw('GET', '/api/v1/profile');
    assert.equal(before.status, 200, before.text);
    assert.equal(before.json.email, user.email);
    const patch = await b.raw('PATCH', '/api/v1/profile', {
      body: JSON.stringify({ given_name: 'Zoë', family_name: 'Ångström', locale: 'de-CH', zoneinfo: 'Europe/Zurich' }),
      headers: { 'content-type': 'application/json', origin: b.origin, 'x-csrf-token': b.csrf },
    });
    assert.equal(patch.status, 200, patch.text);
    assert.equal(patch.json.name, 'Zoë Ångström');
    assert.equal(patch.json.locale, 'de-CH');

    const reg = await registerClient(server, { client_name: 'Profile RP', scope: 'openid profile email offline_access' });
    const t = await codeTokens(server, b, reg, 'openid profile offline_access');
    const idt = payload(t.id_token);
    assert.equal(idt.given_name, 'Zoë');
    assert.equal(idt.locale, 'de-CH');
    assert.equal(idt.zoneinfo, 'Europe/Zurich');
    assert.equal(idt.email, undefined, 'no email claim without the email scope');
    const ui = await (await fetch(`${server.url}/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } })).json();
    assert.equal(ui.family_name, 'Ångström');
    assert.equal(ui.zoneinfo, 'Europe/Zurich');
    assert.ok(ui.updated_at > 0);

    const t2 = await codeTokens(server, b, reg, 'openid email offline_access');
    const idt2 = payload(t2.id_token);
    assert.equal(idt2.email, user.email);
    assert.equal(idt2.given_name, undefined, 'no profile claims without the profile scope');
  });

  test('bad values get a 400 and change nothing; a display name wins and clearing it brings the names back', async () => {
    const { server } = ctx;
    const user = await newUser(server, 'prof2');
    const b = await signedIn(server, user);
    const patch = (body, headers = {}) => b.raw('PATCH', '/api/v1/profile', {
      body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json', origin: b.origin, 'x-csrf-token': b.csrf, ...headers },
    });
    assert.equal((await patch({ given_name: 'Ada', family_name: 'Lovelace' })).status, 200);
    const bad = [
      [{ locale: 'english' }, 'a language name'],
      [{ zoneinfo: 'Mars/Olympus_Mons' }, 'a zone that does not exist'],
      [{ zoneinfo: '../../etc/passwd' }, 'a path'],
      [{ given_name: 'A\u0007da' }, 'a control character'],
      [{ given_name: 'x'.repeat(300) }, 'a long name'],
      [{ family_name: 42 }, 'a number'],
      [Buffer.concat([Buffer.from('{"given_name": "A'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]), 'broken UTF-8'],
      ['{"given_name": ', 'malformed JSON'],
    ];
    for (const [body, what] of bad) {
      const r = await patch(body);
      assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
    }
    assert.equal((await patch({ given_name: 'Eve' }, { 'x-csrf-token': 'forged' })).status, 403);
    const anon = await new Browser(server).raw('PATCH', '/api/v1/profile', { body: '{}', headers: { 'content-type': 'application/json' } });
    assert.ok([401, 403].includes(anon.status), anon.text);
    const now = await b.raw('GET', '/api/v1/profile');
    assert.equal(now.json.name, 'Ada Lovelace', 'nothing changed');
    assert.equal((await patch({ display_name: 'Countess' })).json.name, 'Countess');
    assert.equal((await patch({ display_name: null })).json.name, 'Ada Lovelace');
  });
});

