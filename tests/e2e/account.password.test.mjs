// Changing the password on /account (issue 18 item 2; docs/accounts-api.md):
// the current password or a recent sign-in, "Sign out everywhere else" on by
// default, a notice by mail, wrong current passwords limited. Sessions are
// checked dead with a COPY of their old cookie. SECURITY.md ids cited:
//   #30 re-authentication before sensitive changes, #33 notify on change.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, randomHex, sql } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, sentTo } from './lib/mail.mjs';
import { Browser, newUser, signedIn, copyOf } from './lib/browser.mjs';
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
