// Communication preferences and one-click unsubscribe (issue 20 item 5;
// docs/privacy.md "Communication preferences", docs/accounts-api.md).
// What a customer relies on: nothing is mailed about a topic they did not
// choose; every such mail can be left with one click (RFC 8058) and the
// click is recorded with evidence; opening the link alone changes nothing
// (mail scanners follow links); a forged or used link changes nothing;
// security mail can never be unsubscribed from. SECURITY.md ids cited:
//   #34 single-use random link tokens, stored hashed;
//   #47 changes audited, no secret in the database (the token).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import { startServer, stopAll, randomHex, sql, sqlExec, runGatehouse, sleep } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, sentTo, codeFrom } from './lib/mail.mjs';
import { Browser, newUser, signedIn } from './lib/browser.mjs';

const ctx = { topicSubjects: new Set() };
before(async () => {
  ctx.mail = await startMailSink();
  ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url, GATEHOUSE_MAIL_IP_HOURLY_LIMIT: '1000' } });
});
after(async () => {
  await stopAll();
  await stopAllMailSinks();
});

async function admin(method, path, body, { token = ctx.server.token } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (body?.subject) ctx.topicSubjects.add(body.subject);
  const res = await fetch(`${ctx.server.url}${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* empty */ }
  return { status: res.status, json, text };
}

async function newTopic(tag = 'news') {
  const key = `${tag}-${randomHex(3)}`;
  const r = await admin('POST', '/admin/v1/topics', { key, title: `Title of ${key}`, description: 'Now and then.' });
  assert.equal(r.status, 201, r.text);
  return key;
}

const put = (b, preferences, extra = {}, headers = {}) => b.raw('PUT', '/api/v1/preferences', {
  body: JSON.stringify({ preferences, ...extra }),
  headers: { 'content-type': 'application/json', origin: b.origin, 'x-csrf-token': b.csrf, ...headers },
});
// what a browser adds to the account page's own fetch (no script can set it)
const FROM_PAGE = { 'sec-fetch-site': 'same-origin' };

const choiceOf = async (b, key) => (await b.raw('GET', '/api/v1/preferences')).json.preferences.find((p) => p.topic === key);

const historyOf = (userId) => sql(ctx.server,
  `SELECT topic_key, decision, via, actor, reason, ip, user_agent FROM comm_preference_history WHERE user_id = '${userId}' ORDER BY seq`);

const unsubscribeUrl = (m) => {
  const found = /^List-Unsubscribe: <([^>]+)>\r?$/mi.exec(m.raw);
  assert.ok(found, `no List-Unsubscribe header in:\n${m.raw.slice(0, 800)}`);
  return new URL(found[1]);
};

const oneClick = (url, body = 'List-Unsubscribe=One-Click') => fetch(`${ctx.server.url}${url.pathname}${url.search}`, {
  method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body,
});

test('an operator defines, updates and retires topics with the admin token and the CLI', async () => {
  assert.equal((await admin('GET', '/admin/v1/topics', undefined, { token: null })).status, 401);
  assert.equal((await admin('POST', '/admin/v1/topics', { key: 'x1', title: 'X' }, { token: 'wrong' })).status, 401);
  const key = await newTopic('offers');
  assert.equal((await admin('POST', '/admin/v1/topics', { key, title: 'Again' })).status, 409);
  assert.equal((await admin('POST', '/admin/v1/topics', { key: 'Bad Key', title: 'X' })).status, 400);
  assert.equal((await admin('POST', '/admin/v1/topics', { key: 'sms-only', title: 'X', channel: 'sms' })).status, 400);
  const up = await admin('PUT', `/admin/v1/topics/${key}`, { title: 'Offers and deals' });
  assert.equal(up.status, 200, up.text);
  assert.equal(up.json.title, 'Offers and deals');
  assert.equal(up.json.description, 'Now and then.');
  assert.equal(up.json.channel, 'email');
  const list = await admin('GET', '/admin/v1/topics');
  assert.ok(list.json.topics.some((t) => t.key === key && t.retired_at === null));
  assert.equal((await admin('DELETE', `/admin/v1/topics/${key}`)).status, 204);
  assert.equal((await admin('DELETE', `/admin/v1/topics/${key}`)).status, 404);
  assert.ok(!(await admin('GET', '/admin/v1/topics')).json.topics.some((t) => t.key === key));
  assert.ok((await admin('GET', '/admin/v1/topics?retired=true')).json.topics.some((t) => t.key === key && t.retired_at));
  assert.equal((await admin('POST', '/admin/v1/topics', { key, title: 'Reuse' })).status, 409, 'a retired key stays taken');

  const cliKey = `cli-${randomHex(3)}`;
  const env = { env: ctx.server.env, timeoutMs: 15_000 };
  const add = await runGatehouse(['topic', 'add', cliKey, '--title', 'Product updates'], env);
  assert.equal(add.code, 0, add.stderr);
  assert.equal(JSON.parse(add.stdout).key, cliKey);
  const ls = await runGatehouse(['topic', 'list'], env);
  assert.ok(JSON.parse(ls.stdout).topics.some((t) => t.key === cliKey));
  assert.equal((await runGatehouse(['topic', 'retire', cliKey], env)).code, 0);
  assert.equal((await runGatehouse(['topic', 'retire', cliKey], env)).code, 1);
  assert.equal((await runGatehouse(['topic', 'add', 'x', '--colour', 'red'], env)).code, 2);
  const events = sql(ctx.server, `SELECT actor FROM audit_events WHERE type = 'topic.created' AND subject IN ('${key}', '${cliKey}') ORDER BY seq`);
  assert.deepEqual(events.map((e) => e.actor), ['admin', 'cli']);
});

test('a customer chooses topics through the API; each change is kept with its evidence, append-only', async () => {
  const key = await newTopic();
  const user = await newUser(ctx.server, 'prefapi');
  const b = await signedIn(ctx.server, user);
  assert.equal((await new Browser(ctx.server).raw('GET', '/api/v1/preferences')).status, 401);
  const first = await choiceOf(b, key);
  assert.equal(first.subscribed, false, 'opt-in: nobody is in before choosing');
  assert.equal(first.title, `Title of ${key}`);

  const noCsrf = await b.raw('PUT', '/api/v1/preferences', {
    body: JSON.stringify({ preferences: [{ topic: key, subscribed: true }] }),
    headers: { 'content-type': 'application/json', origin: b.origin },
  });
  assert.equal(noCsrf.status, 403);
  const unknown = await put(b, [{ topic: key, subscribed: true }, { topic: 'no-such-topic', subscribed: true }]);
  assert.equal(unknown.status, 400);
  assert.equal(unknown.json.error, 'unknown_topic');
  assert.equal((await choiceOf(b, key)).subscribed, false, 'a refused request changes nothing');

  const on = await put(b, [{ topic: key, subscribed: true }]);
  assert.equal(on.status, 200, on.text);
  assert.equal(on.json.preferences.find((p) => p.topic === key).subscribed, true);
  assert.equal((await put(b, [{ topic: key, subscribed: true }])).status, 200);
  assert.equal((await put(b, [{ topic: key, subscribed: false }], { via: 'page' }, FROM_PAGE)).status, 200);
  // a caller outside the page saying "page" is recorded as what it is, its claim kept beside
  assert.equal((await put(b, [{ topic: key, subscribed: true }], { via: 'page' })).status, 200);
  assert.equal((await put(b, [{ topic: key, subscribed: false }])).status, 200);
  const h = historyOf(user.id);
  assert.equal(h.length, 4, 'the repeated choice records nothing');
  assert.deepEqual(h.map((e) => [e.decision, e.via, e.actor]), [['subscribed', 'api', user.id],
    ['unsubscribed', 'page', user.id], ['subscribed', 'api', user.id], ['unsubscribed', 'api', user.id]]);
  assert.ok(h[0].ip && h[0].user_agent !== undefined);
  const events = sql(ctx.server, `SELECT details FROM audit_events WHERE type = 'preferences.updated' AND subject = '${user.id}' ORDER BY seq`)
    .map((e) => JSON.parse(e.details));
  assert.deepEqual(events.map((d) => [d.via, d.claimed_via]),
    [['api', undefined], ['page', undefined], ['api', 'page'], ['api', undefined]]);

  assert.throws(() => sqlExec(ctx.server, `UPDATE comm_preference_history SET decision = 'subscribed' WHERE user_id = '${user.id}'`));
  assert.throws(() => sqlExec(ctx.server, `DELETE FROM comm_preference_history WHERE user_id = '${user.id}'`));
  assert.equal(historyOf(user.id).length, 4);

  // an operator's change needs a reason, and is recorded as theirs
  assert.equal((await admin('PUT', `/admin/v1/users/${user.id}/preferences`, { preferences: [{ topic: key, subscribed: true }] })).status, 400);
  const op = await admin('PUT', `/admin/v1/users/${user.id}/preferences`, { preferences: [{ topic: key, subscribed: true }], reason: 'asked by phone, ticket 42' });
  assert.equal(op.status, 200, op.text);
  const last = historyOf(user.id).at(-1);
  assert.deepEqual([last.via, last.actor, last.reason], ['admin', 'admin', 'asked by phone, ticket 42']);
});

test('a topic message reaches only the opted-in; one click from its header withdraws; GET, forged and used links change nothing', async () => {
  const key = await newTopic('letter');
  const [a, never, left] = await Promise.all(['in', 'never', 'left'].map((t) => newUser(ctx.server, `pm${t}`)));
  const ba = await signedIn(ctx.server, a);
  const bl = await signedIn(ctx.server, left);
  assert.equal((await put(ba, [{ topic: key, subscribed: true }])).status, 200);
  assert.equal((await put(bl, [{ topic: key, subscribed: true }])).status, 200);
  assert.equal((await put(bl, [{ topic: key, subscribed: false }])).status, 200);

  const subject = `Spring letter ${randomHex(3)}`;
  const sent = await admin('POST', `/admin/v1/topics/${key}/messages`, { subject, text: 'Hello from the team.' });
  assert.equal(sent.status, 202, sent.text);
  assert.equal(sent.json.queued, 1);
  const m = await ctx.mail.waitFor((x) => sentTo(a.email)(x) && x.subject === subject, 15_000);
  const url = unsubscribeUrl(m);
  assert.match(m.raw, /^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/mi);
  assert.equal(url.pathname, '/unsubscribe');
  assert.ok(m.text.includes(url.href), 'the link is visible in the text');
  assert.ok(m.html.includes(url.href), 'and in the HTML');
  const token = url.searchParams.get('token');
  // stored as its SHA-256 only (SECURITY.md #34)
  assert.equal(sql(ctx.server, `SELECT COUNT(*) AS n FROM comm_unsubscribe_links WHERE token_hash = '${token}'`)[0].n, 0);
  const hash = createHash('sha256').update(token).digest('hex');
  assert.equal(sql(ctx.server, `SELECT COUNT(*) AS n FROM comm_unsubscribe_links WHERE token_hash = '${hash}' AND user_id = '${a.id}'`)[0].n, 1);
  assert.equal(sql(ctx.server, `SELECT COUNT(*) AS n FROM mail_outbox WHERE params LIKE '%${token}%'`)[0].n, 0);

  // GET shows the confirmation page and changes nothing
  const page = await fetch(`${ctx.server.url}${url.pathname}${url.search}`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<button type="submit"[^>]*>Unsubscribe<\/button>/);
  assert.equal((await choiceOf(ba, key)).subscribed, true);

  // forged tokens: unknown, one character changed, malformed; and a wrong body
  const forged = new URL(url);
  forged.searchParams.set('token', randomHex(16).slice(0, 32) + 'AAAAAAAAAAA');
  const flipped = new URL(url);
  flipped.searchParams.set('token', (token[0] === 'A' ? 'B' : 'A') + token.slice(1));
  const malformed = new URL(url);
  malformed.searchParams.set('token', 'x');
  const statuses = [];
  for (const u of [forged, flipped, malformed]) statuses.push((await oneClick(u)).status);
  assert.deepEqual(statuses, [404, 404, 404]);
  assert.equal((await oneClick(url, '')).status, 400, 'a POST without List-Unsubscribe=One-Click does nothing');
  assert.equal((await choiceOf(ba, key)).subscribed, true);

  // the one click, without a session or cookie
  const click = await oneClick(url);
  assert.equal(click.status, 200);
  assert.equal((await choiceOf(ba, key)).subscribed, false);
  const ev = historyOf(a.id).at(-1);
  assert.deepEqual([ev.decision, ev.via, ev.actor], ['unsubscribed', 'unsubscribe-link', 'link-holder']);
  assert.ok(ev.ip);
  assert.equal(sql(ctx.server, `SELECT COUNT(*) AS n FROM audit_events WHERE type = 'preferences.unsubscribed' AND subject = '${a.id}'`)[0].n, 1);
  const again = await oneClick(url);
  assert.equal(again.status, 404, 'a used link answers as an unknown one');
  assert.deepEqual(await again.json(), await (await oneClick(forged)).json());

  // the next message reaches nobody
  const subject2 = `Summer letter ${randomHex(3)}`;
  const sent2 = await admin('POST', `/admin/v1/topics/${key}/messages`, { subject: subject2, text: 'Again.', html: '<p>Again.</p>' });
  assert.equal(sent2.json.queued, 0);
  await sleep(1500);
  assert.ok(!ctx.mail.messages.some((x) => x.subject === subject2));
  assert.ok(!ctx.mail.messages.some((x) => x.subject === subject && (sentTo(never.email)(x) || sentTo(left.email)(x))));
  assert.equal((await admin('POST', '/admin/v1/topics/no-such/messages', { subject: 'x', text: 'y' })).status, 404);
  assert.equal((await admin('POST', `/admin/v1/topics/${key}/messages`, { subject: 'a\r\nBcc: x@example.com', text: 'y' })).status, 400);
});

test('an operator HTML body keeps its footer link; security mail never carries List-Unsubscribe', async () => {
  const key = await newTopic('html');
  const user = await newUser(ctx.server, 'prefhtml');
  const b = await signedIn(ctx.server, user);
  assert.equal((await put(b, [{ topic: key, subscribed: true }])).status, 200);
  const subject = `HTML letter ${randomHex(3)}`;
  await admin('POST', `/admin/v1/topics/${key}/messages`, { subject, text: 'Plain.', html: '<html><body><h1>Big news</h1></body></html>' });
  const m = await ctx.mail.waitFor((x) => sentTo(user.email)(x) && x.subject === subject, 15_000);
  const url = unsubscribeUrl(m);
  assert.match(m.html, /<h1>Big news<\/h1>[\s\S]*Unsubscribe<\/a>[\s\S]*<\/body>/);
  assert.ok(m.html.includes(`href="${url.href}"`));

  // a sign-up's verification code and a password reset: security notices
  const email = `sec-${randomHex(4)}@example.com`;
  const up = await new Browser(ctx.server).post('/api/v1/signup', { email, password: `Harbour-${randomHex(6)}-Lantern` });
  assert.equal(up.status, 200, up.text);
  const verify = await ctx.mail.waitFor(sentTo(email), 15_000);
  codeFrom(verify);
  const before = ctx.mail.messages.length;
  await new Browser(ctx.server).post('/api/v1/recovery', { email: user.email });
  await ctx.mail.waitFor((x) => sentTo(user.email)(x) && ctx.mail.messages.indexOf(x) >= before, 15_000);
  const security = ctx.mail.messages.filter((x) => !ctx.topicSubjects.has(x.subject));
  assert.ok(security.length >= 2);
  for (const x of security) assert.doesNotMatch(x.raw, /^List-Unsubscribe/mi, `security mail "${x.subject}" must not be unsubscribable`);
});

test('the data export holds the choices and their history; deletion erases the choices and pseudonymises the history', async () => {
  const key = await newTopic('export');
  const user = await newUser(ctx.server, 'prefexp');
  const b = await signedIn(ctx.server, user);
  assert.equal((await put(b, [{ topic: key, subscribed: true }], { via: 'page' }, FROM_PAGE)).status, 200);
  const ex = await b.post('/api/v1/account/export', { current_password: user.password });
  assert.equal(ex.status, 200, ex.text.slice(0, 300));
  const cp = ex.json.communication_preferences;
  assert.equal(cp.current.find((p) => p.topic === key).subscribed, true);
  const h = cp.history.find((e) => e.topic === key);
  assert.equal(h.decision, 'subscribed');
  assert.equal(h.via, 'page');
  assert.match(h.time, /^\d{4}-\d\d-\d\dT/);

  const del = await runGatehouse(['user', 'delete', user.id], { env: ctx.server.env, timeoutMs: 15_000 });
  assert.equal(del.code, 0, del.stderr);
  assert.equal(sql(ctx.server, `SELECT COUNT(*) AS n FROM comm_preferences WHERE user_id = '${user.id}'`)[0].n, 0);
  assert.equal(historyOf(user.id).length, 0);
  const kept = sql(ctx.server, `SELECT user_id, actor, ip, user_agent FROM comm_preference_history WHERE topic_key = '${key}'`);
  assert.equal(kept.length, 1);
  assert.match(kept[0].user_id, /^pseud:/);
  assert.equal(kept[0].actor, kept[0].user_id);
  assert.equal(kept[0].ip, null);
  const audit = sql(ctx.server, `SELECT subject FROM audit_events WHERE type = 'cli.user.deleted' ORDER BY seq DESC LIMIT 1`);
  assert.equal(audit[0].subject, kept[0].user_id, 'the same keyed pseudonym as the audit trail');
});
