// The operator's commands for one account and for the audit log (issue 19
// item 5): `gatehouse user` and `gatehouse audit`, run against the store of
// a running server, whose effects are checked from the outside (copies of
// session cookies, sign-in, the mail sink, SCIM).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, runGatehouse, scim, sql, randomHex } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, codeFrom, sentTo } from './lib/mail.mjs';
import { Browser, newUser, signedIn, copyOf } from './lib/browser.mjs';

const ctx = {};
before(async () => {
  ctx.mail = await startMailSink();
  ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url, GATEHOUSE_MAIL_IP_HOURLY_LIMIT: '1000' } });
});
after(async () => {
  await stopAll();
  await stopAllMailSinks();
});

const gatehouse = (args) => runGatehouse(args, { env: ctx.server.env, timeoutMs: 15_000 });
const signInStatus = async (user, password = user.password) => (await new Browser(ctx.server).post('/api/v1/signin', { email: user.email, password })).status;
const lines = (out) => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

test('user find/show print the account (no secret) and name the database opened', async () => {
  const user = await newUser(ctx.server, 'clifind');
  await signedIn(ctx.server, user);
  const r = await gatehouse(['user', 'find', user.email.toUpperCase()]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^gatehouse: database /);
  const v = JSON.parse(r.stdout);
  assert.equal(v.id, user.id);
  assert.equal(v.email, user.email);
  assert.equal(v.active, true);
  assert.equal(v.live_sessions, 1);
  assert.ok(!r.stdout.includes('argon2') && !r.stdout.includes(user.password));
  const show = await gatehouse(['user', 'show', user.id]);
  assert.deepEqual(JSON.parse(show.stdout), v);
  const none = await gatehouse(['user', 'find', 'nobody@example.com']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no account/);
  for (const bad of [['user'], ['user', 'frob', user.id], ['user', 'lock'], ['user', 'lock', 'a', 'b']]) {
    assert.equal((await gatehouse(bad)).code, 2, bad.join(' '));
  }
});

test('user lock ends every session (a copy of the cookie) and refuses sign-in; unlock lets the owner in again; end-sessions signs out everywhere', async () => {
  const user = await newUser(ctx.server, 'clilock');
  const b = await signedIn(ctx.server, user);
  const copy = copyOf(ctx.server, b);
  const wrong = await signInStatus(user, `${user.password}-no`);
  assert.equal((await gatehouse(['user', 'lock', user.id])).code, 0);
  assert.equal((await copy.session()).authenticated, false);
  assert.equal(await signInStatus(user), wrong, 'answered like a wrong password');
  assert.ok(JSON.parse((await gatehouse(['user', 'show', user.id])).stdout).locked_at);
  assert.equal((await gatehouse(['user', 'unlock', user.id])).code, 0);
  assert.equal(await signInStatus(user), 200);

  const again = await signedIn(ctx.server, user);
  const copy2 = copyOf(ctx.server, again);
  assert.equal((await gatehouse(['user', 'end-sessions', user.id])).code, 0);
  assert.equal((await copy2.session()).authenticated, false);
  assert.equal(await signInStatus(user), 200, 'ending sessions does not lock');

  const a = await gatehouse(['audit', '--subject', user.email, '--type', 'account.']);
  assert.equal(a.code, 0, a.stderr);
  const ev = lines(a.stdout);
  assert.deepEqual(ev.map((e) => e.type), ['account.locked', 'account.unlocked']);
  assert.ok(ev.every((e) => e.actor === 'cli' && e.subject === user.id && /Z$/.test(e.time)));
  const ended = lines((await gatehouse(['audit', '--subject', user.id, '--type', 'sessions.ended'])).stdout);
  assert.equal(ended.length, 1);
});

test('user reset-password: the customer is signed out, mailed a link to choose a new password, and cannot sign in until they do', async () => {
  const user = await newUser(ctx.server, 'clireset');
  const b = await signedIn(ctx.server, user);
  const copy = copyOf(ctx.server, b);
  const since = ctx.mail.messages.length;
  assert.equal((await gatehouse(['user', 'reset-password', user.id])).code, 0);
  assert.equal((await copy.session()).authenticated, false);
  const m = await ctx.mail.waitFor((x) => ctx.mail.messages.indexOf(x) >= since && sentTo(user.email)(x) && x.subject === 'Choose a new password', 10_000);
  assert.match(m.text, /\/recover\n/);
  assert.notEqual(await signInStatus(user), 200);
  // "Forgot password?" is the way back, and lifts the lock
  const r = new Browser(ctx.server);
  const since2 = ctx.mail.messages.length;
  const start = await r.post('/api/v1/recovery', { email: user.email });
  const code = codeFrom(await ctx.mail.waitFor((x) => ctx.mail.messages.indexOf(x) >= since2 && sentTo(user.email)(x) && x.subject === 'Reset your password', 10_000));
  assert.equal((await r.post('/api/v1/verify', { flow_id: start.json.flow_id, code })).status, 200);
  const pw = `Compass-${randomHex(6)}-Harbour`;
  assert.equal((await r.post('/api/v1/recovery/password', { password: pw })).status, 200);
  assert.equal(await signInStatus(user, pw), 200);
});

test('user delete erases the account at once and keeps its audit events under a pseudonym', async () => {
  const user = await newUser(ctx.server, 'clidel');
  await signedIn(ctx.server, user);
  const r = await gatehouse(['user', 'delete', user.id]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await scim(ctx.server, 'GET', `/Users/${user.id}`)).status, 404);
  assert.equal(sql(ctx.server, `SELECT COUNT(*) AS n FROM audit_events WHERE subject = '${user.id}'`)[0].n, 0);
  const gone = lines((await gatehouse(['audit', '--type', 'cli.user.deleted', '--limit', '1'])).stdout);
  assert.match(gone[0].subject, /^pseud:/);
});

test('audit: --limit, --since/--until (RFC 3339, relative, ms), bad values exit 2, --follow prints new events', async () => {
  const some = lines((await gatehouse(['audit', '--limit', '3'])).stdout);
  assert.equal(some.length, 3);
  assert.ok(some[0].seq < some[1].seq && some[1].seq < some[2].seq, 'oldest first');
  const future = new Date(Date.now() + 3_600_000).toISOString();
  assert.equal((await gatehouse(['audit', '--since', future])).stdout.trim(), '');
  assert.ok(lines((await gatehouse(['audit', '--since', '1h', '--limit', '1'])).stdout).length === 1);
  assert.equal((await gatehouse(['audit', '--until', '0'])).stdout.trim(), '');
  for (const bad of [['--since', 'yesterday'], ['--limit', '0'], ['--limit', '10001'], ['--frob'], ['--type'], ['--since', '2026-12-06T10:00:00+02:00']]) {
    assert.equal((await gatehouse(['audit', ...bad])).code, 2, bad.join(' '));
  }
  // --follow: a sign-in made after it started shows up
  const user = await newUser(ctx.server, 'clifollow');
  const proc = runGatehouse(['audit', '--subject', user.id, '--type', 'signin.', '--follow'], { env: ctx.server.env, timeoutMs: 6_000 });
  await new Promise((res) => setTimeout(res, 1500));
  await signedIn(ctx.server, user);
  const out = await proc; // ended by the timeout
  assert.ok(lines(out.stdout).some((e) => e.type === 'signin.succeeded'), out.stdout);
});

test('client show, update (name, redirect URIs, first-party), rotate-secret (the old secret refused), list --json', async () => {
  const token = async (id, secret) => (await fetch(`${ctx.server.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` },
    body: 'grant_type=client_credentials',
  })).status;
  const made = await gatehouse(['client', 'create', '--name', 'Ops app', '--grant', 'client_credentials']);
  assert.equal(made.code, 0, made.stderr);
  const { client_id: id, client_secret: old } = JSON.parse(made.stdout);
  assert.equal(await token(id, old), 200);

  const show = JSON.parse((await gatehouse(['client', 'show', id])).stdout);
  assert.equal(show.client_name, 'Ops app');
  assert.equal(show.client_secret, undefined, 'no secret shown');

  const web = JSON.parse((await gatehouse(['client', 'create', '--name', 'Web', '--redirect-uri', 'https://a.example.com/cb'])).stdout);
  const up = await gatehouse(['client', 'update', web.client_id, '--name', 'Web two', '--redirect-uri', 'https://b.example.com/cb', '--first-party', 'on']);
  assert.equal(up.code, 0, up.stderr);
  const after = JSON.parse(up.stdout);
  assert.equal(after.client_name, 'Web two');
  assert.deepEqual(after.redirect_uris, ['https://b.example.com/cb']);
  assert.equal(after.gatehouse_first_party, true);
  const bad = await gatehouse(['client', 'update', web.client_id, '--redirect-uri', 'http://evil.example.com/cb']);
  assert.equal(bad.code, 2, 'checked like RFC 7592: http only on loopback');
  assert.deepEqual(JSON.parse((await gatehouse(['client', 'show', web.client_id])).stdout).redirect_uris, ['https://b.example.com/cb']);
  // A client id is base64url and may begin with '-': it is taken as the ID
  // (unknown here: 1), and only an option in its place is a usage error (2).
  assert.equal((await gatehouse(['client', 'update', '-no-such-client', '--name', 'X'])).code, 1);
  assert.equal((await gatehouse(['client', 'update', '--name', 'X'])).code, 2);

  const rot = await gatehouse(['client', 'rotate-secret', id]);
  assert.equal(rot.code, 0, rot.stderr);
  const fresh = JSON.parse(rot.stdout).client_secret;
  assert.ok(fresh && fresh !== old);
  await new Promise((res) => setTimeout(res, 1200)); // the server's client cache lives a second
  assert.equal(await token(id, old), 401, 'the old secret');
  assert.equal(await token(id, fresh), 200);
  const ev = lines((await gatehouse(['audit', '--subject', id, '--type', 'client.'])).stdout).map((e) => e.type);
  assert.ok(ev.includes('client.secret_rotated'), ev.join());
  const pub = JSON.parse((await gatehouse(['client', 'create', '--name', 'Spa', '--auth', 'none', '--redirect-uri', 'https://spa.example.com/cb'])).stdout);
  const none = await gatehouse(['client', 'rotate-secret', pub.client_id]);
  assert.equal(none.code, 1, 'a public client has no secret to rotate');
  assert.match(none.stderr, /authenticates without a secret/);
  assert.equal(none.stdout, '');

  const list = JSON.parse((await gatehouse(['client', 'list', '--json'])).stdout);
  assert.ok(list.some((c) => c.client_id === id) && list.every((c) => c.client_secret === undefined));
  assert.equal((await gatehouse(['client', 'show', 'nope'])).code, 1);
  assert.equal((await gatehouse(['client', 'list', '--table'])).code, 2);
});
