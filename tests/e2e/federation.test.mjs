// Sign-in with upstream identity providers (issue 21 part 4,
// docs/federation.md), over HTTP against a REAL upstream: two node
// oidc-provider instances (providers "alpha", trusted for email_verified,
// and "beta", not trusted), a hand-made OIDC provider bent per test for the
// failure pages, and a GitHub-like OAuth 2.0 server for the github preset.
// SECURITY.md ids cited: #46 federated users keyed by (issuer, sub), linking
// only with verified emails on both sides plus proof of the account; #47
// authentication events audited.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, randomHex, sql, sqlExec, scim, userBody, freePort, databaseContains } from './lib/server.mjs';
import { Browser, newUser, signedIn } from './lib/browser.mjs';
import { enrolTotp, addPasskey } from './lib/factors.mjs';
import { SoftAuthenticator } from './lib/webauthn.mjs';
import { startMailSink, stopAllMailSinks, sentTo, codeFrom } from './lib/mail.mjs';
import { startOidcUpstream, startFakeOidc, startGithubLike, Agent } from './lib/upstream.mjs';

const ctx = {};
const SECRET_A = `alpha-secret-${randomHex(8)}`;

async function admin(method, path, body, token = ctx.server.token) {
  const res = await fetch(`${ctx.server.url}/admin/v1/identity-providers${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* empty */ }
  return { status: res.status, json, text };
}

const callback = (id) => `${ctx.server.issuer}/federation/${id}/callback`;

before(async () => {
  ctx.mail = await startMailSink();
  ctx.server = await startServer({ env: { GATEHOUSE_OUTBOUND_ALLOW: '127.0.0.1/32', GATEHOUSE_FEDERATION_TIMEOUT_MS: '1500', GATEHOUSE_SMTP_URL: ctx.mail.url } });
  const client = (id, secret) => ({
    client_id: id, client_secret: secret, redirect_uris: [callback(id)],
    token_endpoint_auth_method: 'client_secret_post', grant_types: ['authorization_code'], response_types: ['code'],
  });
  ctx.alpha = await startOidcUpstream({
    clients: [client('alpha', SECRET_A), { ...client('alpha-acme', 'acme-secret'), redirect_uris: [`${ctx.server.issuer}/t/acme/federation/alpha/callback`] }],
  });
  // beta puts the address in its userinfo answer only (oidc-provider's default)
  ctx.beta = await startOidcUpstream({ clients: [client('beta', 'beta-secret')], userinfoOnly: true });
  ctx.fake = await startFakeOidc();
  ctx.gh = await startGithubLike({ clientId: 'gh-client', clientSecret: 'gh-secret' });
  const made = [
    { id: 'alpha', display_name: 'Alpha ID', issuer: ctx.alpha.issuer, client_id: 'alpha', client_secret: SECRET_A, trust_email_verified: true },
    { id: 'beta', display_name: 'Beta ID', issuer: ctx.beta.issuer, client_id: 'beta', client_secret: 'beta-secret', trust_email_verified: false },
    { id: 'fake', display_name: 'Fake ID', issuer: ctx.fake.issuer, client_id: 'fake', client_secret: 'x', trust_email_verified: true },
    { id: 'gh', display_name: 'GitHub', preset: 'github', client_id: 'gh-client', client_secret: 'gh-secret',
      endpoints: { authorization_endpoint: `${ctx.gh.base}/login/oauth/authorize`, token_endpoint: `${ctx.gh.base}/login/oauth/access_token`,
        user_endpoint: `${ctx.gh.base}/user`, emails_endpoint: `${ctx.gh.base}/user/emails` } },
  ];
  for (const p of made) {
    const r = await admin('POST', '', p);
    assert.equal(r.status, 201, r.text);
  }
});

after(async () => {
  if (process.env.FED_DEBUG) console.error(ctx.server.logs().slice(-30).join('\n'), await ctx.server.exited.then((i) => JSON.stringify(i)).catch(() => ''));
  await stopAll();
  await stopAllMailSinks();
  for (const u of [ctx.alpha, ctx.beta, ctx.fake, ctx.gh]) await u?.close();
});

/** Starts a sign-in with provider id and follows it through the upstream as login. */
async function signInWith(agent, id, login, { returnTo = '/account' } = {}) {
  const start = `${ctx.server.url}/federation/${id}/start?return_to=${encodeURIComponent(returnTo)}`;
  return agent.follow(start, { login, until: (u) => u.port === String(ctx.server.port) && !u.pathname.startsWith('/federation/') });
}

function assertFailurePage(out, status, words) {
  assert.equal(out.res.status, status, out.text);
  assert.match(out.res.headers.get('content-type'), /^text\/html/);
  assert.match(out.text, words);
  assert.match(out.text, /<a href="\/signin">Back to sign in<\/a>/);
}

const verifiedUser = async (tag) => {
  const u = await newUser(ctx.server, tag);
  sqlExec(ctx.server, `UPDATE users SET email_verified = 1 WHERE id = '${u.id}'`);
  return u;
};
const links = (userId) => sql(ctx.server, `SELECT provider_id, subject FROM fed_identities WHERE user_id = '${userId}'`);
const audits = (type) => sql(ctx.server, `SELECT subject, outcome, reason FROM audit_events WHERE type = '${type}'`);

describe('admin API /admin/v1/identity-providers', () => {
  test('the secret is write-only and sealed; list, get, update (keeping the secret), delete; every change audited', async () => {
    const list = await admin('GET', '');
    assert.equal(list.status, 200);
    const alpha = list.json.identity_providers.find((p) => p.id === 'alpha');
    assert.equal(alpha.has_client_secret, true);
    assert.equal(alpha.kind, 'oidc');
    assert.equal(list.text.includes(SECRET_A), false, 'the secret is never returned');
    assert.equal(databaseContains(ctx.server, SECRET_A), false, 'the secret is not stored in plaintext');
    const gh = list.json.identity_providers.find((p) => p.id === 'gh');
    assert.equal(gh.kind, 'github');
    assert.equal(gh.trust_email_verified, true, "GitHub's verified flag is trusted by default");

    const made = await admin('POST', '', { id: 'temp', display_name: 'Temp', preset: 'google', client_id: 'c', client_secret: 's' });
    assert.equal(made.status, 201, made.text);
    assert.equal(made.json.issuer, 'https://accounts.google.com', 'the preset fills the issuer');
    assert.equal((await admin('POST', '', { id: 'temp', display_name: 'Temp', preset: 'google', client_id: 'c' })).status, 409);
    const upd = await admin('PUT', '/temp', { display_name: 'Temp 2', preset: 'google', client_id: 'c2', enabled: false });
    assert.equal(upd.status, 200, upd.text);
    assert.equal(upd.json.has_client_secret, true, 'an update without a secret keeps it');
    assert.equal(upd.json.enabled, false);
    assert.equal((await admin('GET', '/temp')).json.display_name, 'Temp 2');
    assert.equal((await admin('DELETE', '/temp')).status, 204);
    assert.equal((await admin('GET', '/temp')).status, 404);
    for (const t of ['federation.provider.created', 'federation.provider.updated', 'federation.provider.deleted']) {
      assert.ok(audits(t).some((e) => e.subject === 'temp'), t);
    }
  });

  test('bad documents get 400 with the reason; no token, 401', async () => {
    const bad = [
      [{ display_name: 'x', client_id: 'c', issuer: 'https://i.example' }, /id is required/],
      [{ id: 'Bad_Id', display_name: 'x', client_id: 'c', issuer: 'https://i.example' }, /id must be/],
      [{ id: 'ok', display_name: 'x', client_id: 'c' }, /issuer is required/],
      [{ id: 'ok', display_name: 'x', client_id: 'c', issuer: 'javascript:alert(1)' }, /issuer/],
      [{ id: 'ok', display_name: 'x', client_id: 'c', preset: 'myspace' }, /preset must be/],
      [{ id: 'ok', display_name: 'x', client_id: 'c', issuer: 'https://i.example', scopes: 'email' }, /openid/],
      [{ id: 'ok', display_name: 'x', client_id: 'c', preset: 'github', endpoints: { user_endpoint: 'ftp://x' } }, /endpoint/],
    ];
    for (const [body, why] of bad) {
      const r = await admin('POST', '', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.json.error_description, why);
    }
    assert.equal((await admin('GET', '', undefined, 'wrong-token')).status, 401);
  });

  test('the sign-in page lists the enabled providers (public)', async () => {
    const r = await new Browser(ctx.server).raw('GET', '/api/v1/federation/providers');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.providers.map((p) => p.id).sort(), ['alpha', 'beta', 'fake', 'gh']);
    assert.equal(r.json.providers[0].start, `/federation/${r.json.providers[0].id}/start`);
    assert.equal(r.text.includes('secret'), false);
  });
});

describe('just-in-time provisioning against oidc-provider', () => {
  test('a new person is provisioned with the mapped attributes, signed in at AAL1 with amr fed; the next sign-in reuses the link', async () => {
    const login = `jit-${randomHex(4)}`;
    const email = `${login}@upstream.test`;
    ctx.alpha.accounts.set(login, { email, email_verified: true, given_name: 'Ada', family_name: 'Lovelace', name: 'Ada L.' });
    const agent = new Agent(ctx.server);
    const out = await signInWith(agent, 'alpha', login);
    assert.equal(out.url.pathname, '/account', out.text);
    const s = await agent.api('GET', '/api/v1/session');
    assert.equal(s.json.authenticated, true, s.text);
    const rows = sql(ctx.server, `SELECT id, email_verified, given_name, family_name, display_name FROM users WHERE email = '${email}'`);
    assert.equal(rows.length, 1);
    assert.equal(Number(rows[0].email_verified), 1, 'trusted provider asserting a verified address');
    assert.equal(rows[0].given_name, 'Ada');
    assert.equal(rows[0].display_name, 'Ada L.');
    const sess = sql(ctx.server, `SELECT amr, aal FROM sessions WHERE user_id = '${rows[0].id}'`);
    assert.ok(sess.length >= 1);
    assert.deepEqual(JSON.parse(sess[0].amr), ['fed']);
    assert.equal(Number(sess[0].aal), 1, 'a federated sign-in is AAL1');
    assert.deepEqual(links(rows[0].id), [{ provider_id: 'alpha', subject: login }]);
    assert.ok(audits('federation.provisioned').some((e) => e.subject === rows[0].id));
    assert.ok(sql(ctx.server, `SELECT count(*) AS n FROM risk_decisions WHERE user_id = '${rows[0].id}'`)[0].n >= 1, 'scored by the risk engine like every sign-in');

    const again = new Agent(ctx.server);
    const out2 = await signInWith(again, 'alpha', login);
    assert.equal(out2.url.pathname, '/account');
    assert.equal((await again.api('GET', '/api/v1/session')).json.authenticated, true);
    assert.equal(sql(ctx.server, `SELECT count(*) AS n FROM users WHERE email = '${email}'`)[0].n, 1, 'no second account');
  });

  test('an untrusted provider whose address comes from userinfo: the provisioned address stays unverified even when the upstream says verified', async () => {
    const login = `beta-${randomHex(4)}`;
    const email = `${login}@upstream.test`;
    ctx.beta.accounts.set(login, { email, email_verified: true });
    const out = await signInWith(new Agent(ctx.server), 'beta', login);
    assert.equal(out.url.pathname, '/account', out.text);
    assert.equal(Number(sql(ctx.server, `SELECT email_verified FROM users WHERE email = '${email}'`)[0].email_verified), 0);
  });

  test('a linked account with a second factor is asked for it: no session before it', async () => {
    const user = await newUser(ctx.server, 'fed2fa');
    const b = await signedIn(ctx.server, user);
    await enrolTotp(b);
    const login = `twofa-${randomHex(4)}`;
    ctx.alpha.accounts.set(login, { email: user.email, email_verified: true });
    sqlExec(ctx.server, `INSERT INTO fed_identities (tenant_id, provider_id, subject, user_id, email, linked_at) VALUES ('default', 'alpha', '${login}', '${user.id}', '${user.email}', 1)`);
    const agent = new Agent(ctx.server);
    const out = await signInWith(agent, 'alpha', login);
    assert.equal(out.url.pathname, '/signin/mfa', out.url.toString());
    assert.equal((await agent.api('GET', '/api/v1/session')).json.authenticated, false);
  });
});

describe('linking an existing account (SECURITY.md #46)', () => {
  test('the nOAuth takeover: an upstream asserting the email of an existing account without verifying it links nothing and signs nobody in', async () => {
    const victim = await verifiedUser('victim');
    const login = `attacker-${randomHex(4)}`;
    // a trusted provider that does not vouch for the address
    ctx.alpha.accounts.set(login, { email: victim.email, email_verified: false });
    const agent = new Agent(ctx.server);
    const out = await signInWith(agent, 'alpha', login);
    assertFailurePage(out, 403, /already exists, and Alpha ID did not confirm that the address is yours/);
    assert.equal((await agent.api('GET', '/api/v1/session')).json.authenticated, false);
    // an untrusted provider that says it verified it
    const login2 = `attacker2-${randomHex(4)}`;
    ctx.beta.accounts.set(login2, { email: victim.email, email_verified: true });
    const out2 = await signInWith(new Agent(ctx.server), 'beta', login2);
    assertFailurePage(out2, 403, /did not confirm that the address is yours/);
    assert.deepEqual(links(victim.id), [], 'no link was made');
    assert.equal(sql(ctx.server, `SELECT count(*) AS n FROM users WHERE email = '${victim.email}'`)[0].n, 1, 'no second account');
    assert.equal(audits('federation.refused').filter((e) => e.subject === victim.id).length, 2);
  });

  test("the account's own address not verified: refused, nothing linked", async () => {
    const user = await newUser(ctx.server, 'unver');
    sqlExec(ctx.server, `UPDATE users SET email_verified = 0 WHERE id = '${user.id}'`);
    const login = `claim-${randomHex(4)}`;
    ctx.alpha.accounts.set(login, { email: user.email, email_verified: true });
    const out = await signInWith(new Agent(ctx.server), 'alpha', login);
    assertFailurePage(out, 403, /has not been verified yet/);
    assert.deepEqual(links(user.id), []);
  });

  test('both addresses verified: the link waits for the account password; a wrong one links nothing; the right one links and signs in', async () => {
    const user = await verifiedUser('linkme');
    const login = `owner-${randomHex(4)}`;
    ctx.alpha.accounts.set(login, { email: user.email, email_verified: true });
    const agent = new Agent(ctx.server);
    const out = await signInWith(agent, 'alpha', login, { returnTo: '/account' });
    assert.equal(out.url.pathname, '/federation/link', out.text);
    assert.equal((await agent.api('GET', '/api/v1/session')).json.authenticated, false, 'no session before the proof');
    const info = await agent.api('GET', '/api/v1/federation/link');
    assert.equal(info.status, 200, info.text);
    assert.equal(info.json.provider, 'Alpha ID');
    assert.equal(info.json.email, user.email);
    assert.deepEqual(info.json.methods, ['password', 'email']);
    // another browser cannot finish it (the pending link is bound to this one)
    const other = new Agent(ctx.server);
    assert.equal((await other.api('POST', '/api/v1/federation/link', { password: user.password })).status, 404);
    const wrong = await agent.api('POST', '/api/v1/federation/link', { password: 'not-the-password-at-all' });
    assert.equal(wrong.status, 400, wrong.text);
    assert.deepEqual(links(user.id), []);
    const ok = await agent.api('POST', '/api/v1/federation/link', { password: user.password });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.status, 'signed_in');
    assert.deepEqual(links(user.id), [{ provider_id: 'alpha', subject: login }]);
    assert.ok(audits('federation.linked').some((e) => e.subject === user.id));
    // the pending link is spent
    assert.equal((await agent.api('POST', '/api/v1/federation/link', { password: user.password })).status, 404);
    // from now on the upstream signs in straight away
    const next = new Agent(ctx.server);
    const out2 = await signInWith(next, 'alpha', login);
    assert.equal(out2.url.pathname, '/account');
    const me = await next.api('GET', '/api/v1/session');
    assert.equal(me.json.authenticated, true);
  });

  test('the proof may be a code emailed to the account instead: a wrong code links nothing, the right one links; at most 3 codes', async () => {
    const user = await verifiedUser('bycode');
    const login = `coder-${randomHex(4)}`;
    ctx.alpha.accounts.set(login, { email: user.email, email_verified: true });
    const agent = new Agent(ctx.server);
    const out = await signInWith(agent, 'alpha', login);
    assert.equal(out.url.pathname, '/federation/link');
    assert.deepEqual((await agent.api('GET', '/api/v1/federation/link')).json.methods, ['password', 'email']);
    const since = ctx.mail.messages.length;
    const sent = await agent.api('POST', '/api/v1/federation/link/email', {});
    assert.equal(sent.status, 200, sent.text);
    const m = await ctx.mail.waitFor((x) => ctx.mail.messages.indexOf(x) >= since && sentTo(user.email)(x), 10_000);
    const code = codeFrom(m);
    const wrong = await agent.api('POST', '/api/v1/federation/link', { code: code === '000000' ? '111111' : '000000' });
    assert.equal(wrong.status, 400, wrong.text);
    assert.equal(wrong.json.error, 'wrong_code');
    assert.deepEqual(links(user.id), []);
    // another browser cannot use the code
    assert.equal((await new Agent(ctx.server).api('POST', '/api/v1/federation/link', { code })).status, 404);
    const ok = await agent.api('POST', '/api/v1/federation/link', { code });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.status, 'signed_in');
    assert.deepEqual(links(user.id), [{ provider_id: 'alpha', subject: login }]);
    assert.ok(sql(ctx.server, `SELECT details FROM audit_events WHERE type = 'federation.linked' AND subject = '${user.id}'`)[0].details.includes('"email"'));

    const other = await verifiedUser('bycode2');
    const login2 = `coder2-${randomHex(4)}`;
    ctx.alpha.accounts.set(login2, { email: other.email, email_verified: true });
    const b = new Agent(ctx.server);
    await signInWith(b, 'alpha', login2);
    for (let i = 0; i < 3; i++) assert.equal((await b.api('POST', '/api/v1/federation/link/email', {})).status, 200);
    assert.equal((await b.api('POST', '/api/v1/federation/link/email', {})).status, 429);
  });

  test("the proof may be one of the account's passkeys; a passkey of another account does not do", async () => {
    const user = await verifiedUser('bypk');
    const b = await signedIn(ctx.server, user);
    const auth = new SoftAuthenticator({ origin: new URL(ctx.server.issuer).origin });
    const { r } = await addPasskey(b, auth);
    assert.equal(r.status, 200, r.text);
    // someone else's passkey, from the same authenticator
    const stranger = await verifiedUser('bypk2');
    const sb = await signedIn(ctx.server, stranger);
    assert.equal((await addPasskey(sb, auth)).r.status, 200);

    const login = `pk-${randomHex(4)}`;
    ctx.alpha.accounts.set(login, { email: user.email, email_verified: true });
    const agent = new Agent(ctx.server);
    assert.equal((await signInWith(agent, 'alpha', login)).url.pathname, '/federation/link');
    assert.deepEqual((await agent.api('GET', '/api/v1/federation/link')).json.methods, ['password', 'email', 'passkey']);
    // options for the account's own passkeys only
    const o = await agent.api('POST', '/api/v1/federation/link/passkey/options', {});
    assert.equal(o.status, 200, o.text);
    assert.equal(o.json.publicKey.allowCredentials.length, 1);
    const wrongCred = auth.get({ ...o.json.publicKey, allowCredentials: [] });
    const bad = await agent.api('POST', '/api/v1/federation/link', { credential: wrongCred });
    assert.equal(bad.status, 400, bad.text);
    assert.deepEqual(links(user.id), []);
    const o2 = await agent.api('POST', '/api/v1/federation/link/passkey/options', {});
    const credential = auth.get(o2.json.publicKey);
    const ok = await agent.api('POST', '/api/v1/federation/link', { credential });
    assert.equal(ok.status, 200, ok.text);
    assert.ok(['signed_in', 'mfa_required'].includes(ok.json.status), ok.text);
    assert.deepEqual(links(user.id), [{ provider_id: 'alpha', subject: login }]);
  });

  test('five wrong passwords end the pending link; ten over all pending links make the account wait', async () => {
    const user = await verifiedUser('guess');
    const login = `guesser-${randomHex(4)}`;
    ctx.alpha.accounts.set(login, { email: user.email, email_verified: true });
    const agent = new Agent(ctx.server);
    await signInWith(agent, 'alpha', login);
    for (let i = 0; i < 5; i++) assert.equal((await agent.api('POST', '/api/v1/federation/link', { password: `wrong-${i}-xxxxxxxx` })).status, 400);
    assert.equal((await agent.api('POST', '/api/v1/federation/link', { password: user.password })).status, 404);
    assert.deepEqual(links(user.id), []);
    // a new pending link gives five more tries, but the account counts all
    // of them: after 10 wrong ones even the right password waits
    const again = new Agent(ctx.server);
    await signInWith(again, 'alpha', login);
    for (let i = 0; i < 4; i++) assert.equal((await again.api('POST', '/api/v1/federation/link', { password: `again-${i}-xxxxxxxx` })).status, 400);
    assert.equal((await again.api('POST', '/api/v1/federation/link', { password: 'again-4-xxxxxxxx' })).status, 400);
    const third = new Agent(ctx.server);
    await signInWith(third, 'alpha', login);
    const waits = await third.api('POST', '/api/v1/federation/link', { password: user.password });
    assert.equal(waits.status, 429, waits.text);
    assert.deepEqual(links(user.id), []);
  });
});

describe('failure pages, never a 500', () => {
  const fakeIn = async (knobs, claims = {}) => {
    ctx.fake.knobs = { ...knobs, claims: { sub: `f-${randomHex(4)}`, email: `f-${randomHex(4)}@fake.test`, email_verified: true, ...claims } };
    const agent = new Agent(ctx.server);
    const out = await signInWith(agent, 'fake', 'unused');
    ctx.fake.knobs = {};
    return { out, agent };
  };

  test('the hand-made upstream works when nothing is bent', async () => {
    const { out, agent } = await fakeIn({});
    assert.equal(out.url.pathname, '/account', out.text);
    assert.equal((await agent.api('GET', '/api/v1/session')).json.authenticated, true);
  });

  test('wrong iss', async () => {
    const { out, agent } = await fakeIn({ iss: 'https://evil.example' });
    assertFailurePage(out, 502, /issuer \(iss\) is not the provider/);
    assert.equal((await agent.api('GET', '/api/v1/session')).json.authenticated, false);
  });

  test('a signature by a key the upstream does not publish (the key set is refetched once, not on every try)', async () => {
    const before = ctx.fake.jwksFetches;
    const { out } = await fakeIn({ foreignKey: true });
    assertFailurePage(out, 502, /signature does not verify/);
    const { out: out2 } = await fakeIn({ foreignKey: true });
    assertFailurePage(out2, 502, /signature does not verify/);
    assert.ok(ctx.fake.jwksFetches - before <= 1, `keys fetched ${ctx.fake.jwksFetches - before} times`);
  });

  test('an upstream that is slow past GATEHOUSE_FEDERATION_TIMEOUT_MS', async () => {
    const t0 = Date.now();
    const { out } = await fakeIn({ tokenDelayMs: 4000 });
    assertFailurePage(out, 502, /did not answer in time/);
    assert.ok(Date.now() - t0 < 3800, 'the time cap cut the wait');
  });

  test('an upstream that answers its token endpoint with an error', async () => {
    const { out } = await fakeIn({ tokenStatus: 500 });
    assertFailurePage(out, 502, /could not be used/);
  });

  test('an upstream that is down', async () => {
    const port = await freePort();
    assert.equal((await admin('POST', '', { id: 'down', display_name: 'Down ID', issuer: `http://127.0.0.1:${port}`, client_id: 'c' })).status, 201);
    const out = await new Agent(ctx.server).follow(`${ctx.server.url}/federation/down/start`);
    assertFailurePage(out, 502, /Down ID could not be reached/);
    assert.equal((await admin('DELETE', '/down')).status, 204);
  });

  test('the person cancels at the upstream (error=access_denied)', async () => {
    const { out } = await fakeIn({ deny: true });
    assertFailurePage(out, 400, /You cancelled signing in with Fake ID/);
  });

  test('missing, forged and replayed state', async () => {
    const agent = new Agent(ctx.server);
    const missing = await agent.follow(`${ctx.server.url}/federation/fake/callback?code=abc`);
    assertFailurePage(missing, 400, /expired or was already used/);
    // a real round trip, stopped at the callback to replay it
    ctx.fake.knobs = { claims: { sub: `r-${randomHex(4)}`, email: `r-${randomHex(4)}@fake.test`, email_verified: true } };
    const start = await agent.follow(`${ctx.server.url}/federation/fake/start`, { until: (u) => u.pathname === '/federation/fake/callback' });
    const cb = start.url.toString();
    const forged = new URL(cb);
    forged.searchParams.set('state', 'forged-state');
    assertFailurePage(await agent.follow(forged.toString()), 400, /expired or was already used/);
    // the forged try did not spend the real one? It did not match, so the flow is still live
    const first = await agent.follow(cb, { until: (u) => !u.pathname.startsWith('/federation/') });
    assert.equal(first.url.pathname, '/account');
    const replay = await agent.follow(cb);
    assertFailurePage(replay, 400, /expired or was already used/);
    // another browser with the same callback URL
    assertFailurePage(await new Agent(ctx.server).follow(cb), 400, /expired or was already used/);
    ctx.fake.knobs = {};
  });

  test('an unknown or disabled provider', async () => {
    const out = await new Agent(ctx.server).follow(`${ctx.server.url}/federation/nope/start`);
    assertFailurePage(out, 404, /not available/);
  });
});

describe('the github preset (plain OAuth 2.0 and its user API)', () => {
  test("JIT with GitHub's verified primary address; the user id is the subject", async () => {
    const id = Math.floor(Math.random() * 1e9);
    const email = `octo-${randomHex(4)}@gh.test`;
    ctx.gh.knobs.user = { id, login: 'octo', name: 'Octo Cat', emails: [{ email: 'other@gh.test', primary: false, verified: true }, { email, primary: true, verified: true }] };
    const agent = new Agent(ctx.server);
    const out = await signInWith(agent, 'gh', 'unused');
    assert.equal(out.url.pathname, '/account', out.text);
    const u = sql(ctx.server, `SELECT id, email_verified, display_name FROM users WHERE email = '${email}'`);
    assert.equal(u.length, 1);
    assert.equal(Number(u[0].email_verified), 1);
    assert.equal(u[0].display_name, 'Octo Cat');
    assert.deepEqual(links(u[0].id), [{ provider_id: 'gh', subject: String(id) }]);
    assert.ok(ctx.gh.calls.includes('GET /user/emails'));
  });

  test('an unverified primary address matching an existing account: refused (nOAuth)', async () => {
    const victim = await verifiedUser('ghvictim');
    ctx.gh.knobs.user = { id: 4242, login: 'mallory', name: 'M', emails: [{ email: victim.email, primary: true, verified: false }] };
    const out = await signInWith(new Agent(ctx.server), 'gh', 'unused');
    assertFailurePage(out, 403, /did not confirm that the address is yours/);
    assert.deepEqual(links(victim.id), []);
  });

  test('cancel at GitHub', async () => {
    ctx.gh.knobs.deny = true;
    const out = await signInWith(new Agent(ctx.server), 'gh', 'unused');
    ctx.gh.knobs.deny = false;
    assertFailurePage(out, 400, /You cancelled signing in with GitHub/);
  });
});

describe('the account\'s sign-in providers', () => {
  test('listed; removal refused when it is the only way in, allowed once a password exists; audited', async () => {
    const login = `solo-${randomHex(4)}`;
    ctx.alpha.accounts.set(login, { email: `${login}@upstream.test`, email_verified: true });
    const agent = new Agent(ctx.server);
    await signInWith(agent, 'alpha', login);
    const list = await agent.api('GET', '/api/v1/federation/identities');
    assert.equal(list.status, 200, list.text);
    assert.equal(list.json.identities.length, 1);
    assert.equal(list.json.identities[0].display_name, 'Alpha ID');
    const refused = await agent.api('DELETE', '/api/v1/federation/identities/alpha');
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.json.error, 'signin_method_required');

    const user = await verifiedUser('both');
    const login2 = `both-${randomHex(4)}`;
    ctx.alpha.accounts.set(login2, { email: user.email, email_verified: true });
    const b = new Agent(ctx.server);
    await signInWith(b, 'alpha', login2);
    assert.equal((await b.api('POST', '/api/v1/federation/link', { password: user.password })).status, 200);
    const gone = await b.api('DELETE', '/api/v1/federation/identities/alpha');
    assert.equal(gone.status, 204, gone.text);
    assert.deepEqual(links(user.id), []);
    assert.ok(audits('federation.unlinked').some((e) => e.subject === user.id));
    assert.equal((await new Agent(ctx.server).api('GET', '/api/v1/federation/identities')).status, 401);
  });
});

describe('per tenant', () => {
  test("a tenant's providers, links and accounts are its own: the same provider id in another tenant, with its own client", async () => {
    const t = await fetch(`${ctx.server.url}/admin/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'acme', display_name: 'Acme' }),
    });
    assert.equal(t.status, 201, await t.text());
    const made = await fetch(`${ctx.server.url}/t/acme/admin/v1/identity-providers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'alpha', display_name: 'Alpha for Acme', issuer: ctx.alpha.issuer, client_id: 'alpha-acme', client_secret: 'acme-secret', trust_email_verified: true }),
    });
    assert.equal(made.status, 201, await made.text());
    const here = await (await fetch(`${ctx.server.url}/api/v1/federation/providers`)).json();
    assert.equal(here.providers.some((p) => p.display_name === 'Alpha for Acme'), false);
    const there = await (await fetch(`${ctx.server.url}/t/acme/api/v1/federation/providers`)).json();
    assert.deepEqual(there.providers.map((p) => [p.id, p.display_name, p.start]), [['alpha', 'Alpha for Acme', '/t/acme/federation/alpha/start']]);

    const login = `acme-${randomHex(4)}`;
    ctx.alpha.accounts.set(login, { email: `${login}@upstream.test`, email_verified: true });
    const agent = new Agent(ctx.server);
    const out = await agent.follow(`${ctx.server.url}/t/acme/federation/alpha/start`, {
      login, until: (u) => u.port === String(ctx.server.port) && !u.pathname.includes('/federation/'),
    });
    assert.match(out.url.pathname, /^\/t\/acme\//, out.url.toString());
    const rows = sql(ctx.server, `SELECT tenant_id FROM users WHERE email = '${login}@upstream.test'`);
    assert.deepEqual(rows.map((r) => r.tenant_id), ['acme']);
    assert.deepEqual(sql(ctx.server, `SELECT tenant_id, provider_id FROM fed_identities WHERE subject = '${login}'`), [{ tenant_id: 'acme', provider_id: 'alpha' }]);
    // the same upstream identity at the default tenant is a different person there
    const home = await signInWith(new Agent(ctx.server), 'alpha', login);
    assert.equal(home.url.pathname, '/account');
    assert.deepEqual(sql(ctx.server, `SELECT tenant_id FROM users WHERE email = '${login}@upstream.test' ORDER BY tenant_id`).map((r) => r.tenant_id), ['acme', 'default']);

    // a tenant whose policy leaves federation out offers no provider
    const off = await fetch(`${ctx.server.url}/admin/v1/tenants/acme`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${ctx.server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ policy: { signin_methods: ['password'] } }),
    });
    assert.equal(off.status, 200, await off.text());
    assert.deepEqual((await (await fetch(`${ctx.server.url}/t/acme/api/v1/federation/providers`)).json()).providers, []);
    const refused = await new Agent(ctx.server).follow(`${ctx.server.url}/t/acme/federation/alpha/start`);
    assert.equal(refused.res.status, 404);
    assert.match(refused.text, /not available/);
    assert.match(refused.text, /<a href="\/t\/acme\/signin">Back to sign in<\/a>/);
  });
});
