// Upstream identity providers for the federation tests (docs/federation.md):
//  - startOidcUpstream: a REAL OpenID Connect provider, node oidc-provider,
//    with its development login form (any login; the test decides each
//    login's claims) and consent granted at once;
//  - startFakeOidc: a hand-made OIDC provider whose answers each test bends
//    (wrong iss, a signature by another key, a slow or broken token
//    endpoint) to see the failure pages;
//  - startGithubLike: a small GitHub-like OAuth 2.0 server (authorize,
//    access_token, GET /user, GET /user/emails) for the github preset.
// Plus Agent, a user agent with one cookie jar per origin that follows
// redirects by hand across Gatehouse and the upstream.

import http from 'node:http';
import { randomBytes, createHash } from 'node:crypto';

import * as jose from 'jose';
import Provider from 'oidc-provider';

import { freePort } from './server.mjs';

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const s256 = (v) => b64url(createHash('sha256').update(v).digest());

async function signingKey(kid) {
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const priv = { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const pub = { ...(await jose.exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { privateKey, priv, pub, kid };
}

/**
 * oidc-provider on a free loopback port. accounts: Map login -> claims
 * (email, email_verified, given_name...); a login not in it gets
 * {email: login@upstream.test, email_verified: true}. userinfoOnly: the
 * ID token carries sub alone and the rest comes from userinfo. path: the
 * issuer's path (oidc-provider mounted there). scopeClaims: the claims of
 * each scope. front: hooks of a small proxy in front of the provider
 * (startFront) that bend it to behave like Apple or Microsoft. config:
 * more of oidc-provider's configuration (e.g. clientAuthMethods).
 */
export async function startOidcUpstream({ clients, userinfoOnly = false, path = '', scopeClaims, front, config = {} }) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}${path}`;
  const key = await signingKey(`up-${port}`);
  const accounts = new Map();
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: [key.priv] },
    // the scope's claims ride in the ID token, or (userinfoOnly, the
    // library's default) only in the userinfo answer
    conformIdTokenClaims: userinfoOnly,
    claims: scopeClaims ?? { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'given_name', 'family_name'] },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    ...config,
    async findAccount(ctx, id) {
      const claims = accounts.get(id) ?? { email: `${id}@upstream.test`, email_verified: true };
      return { accountId: id, async claims() { return { sub: id, ...claims }; } };
    },
    // consent is not what is tested: every client gets its scopes at once
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope(ctx.oidc.params.scope || 'openid email profile');
      await grant.save();
      return grant;
    },
  });
  provider.on('server_error', (ctx, err) => console.error('upstream server_error', err));
  const handle = provider.callback();
  // mounted at the issuer's path: oidc-provider finds it from originalUrl
  const mounted = (req, res) => {
    if (path && req.url.startsWith(path)) {
      req.originalUrl = req.url;
      req.url = req.url.slice(path.length) || '/';
    }
    handle(req, res);
  };
  const inner = front ? await listen(http.createServer(mounted), await freePort()) : null;
  const server = await listen(front ? http.createServer(startFront(inner.address().port, front)) : http.createServer(mounted), port);
  const stop = (s) => new Promise((resolve) => { s.closeAllConnections?.(); s.close(resolve); });
  return {
    issuer,
    base: `http://127.0.0.1:${port}`,
    accounts,
    provider,
    close: async () => { await stop(server); if (inner) await stop(inner); },
  };
}

function listen(server, port) {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

/**
 * A proxy in front of oidc-provider on innerPort. hooks.request(req, url,
 * body) may answer itself ({status, json} or {status, text}) or give the
 * body to forward ({body}); hooks.json(url, doc) and hooks.html(url, text)
 * may rewrite the answers.
 */
function startFront(innerPort, hooks) {
  return async (req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    let body = Buffer.from(await readBody(req));
    const said = (await hooks.request?.(req, url, body.toString())) ?? {};
    if (said.status) {
      res.writeHead(said.status, { 'content-type': said.json ? 'application/json' : 'text/html' });
      return res.end(said.json ? JSON.stringify(said.json) : said.text);
    }
    if (said.body !== undefined) body = Buffer.from(said.body);
    const headers = { ...req.headers, 'content-length': String(body.length) };
    const ir = await new Promise((resolve, reject) => {
      const out = http.request({ host: '127.0.0.1', port: innerPort, method: req.method, path: req.url, headers }, resolve);
      out.on('error', reject);
      out.end(body);
    });
    let text = await readBody(ir);
    const type = ir.headers['content-type'] || '';
    if (type.startsWith('application/json') && hooks.json) text = JSON.stringify(hooks.json(url, JSON.parse(text)));
    if (type.startsWith('text/html') && hooks.html) text = hooks.html(url, text);
    const h = { ...ir.headers };
    delete h['content-length'];
    delete h['transfer-encoding'];
    h['content-length'] = String(Buffer.byteLength(text));
    res.writeHead(ir.statusCode, h);
    res.end(text);
  };
}

/** An /admin/v1 call with the admin token: {status, json, text}. */
export async function adminApi(server, method, path, body, base = '') {
  const res = await fetch(`${server.url}${base}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${server.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* empty */ }
  return { status: res.status, json, text };
}

function readBody(req) {
  return new Promise((resolve) => {
    let s = '';
    req.on('data', (c) => { s += c; });
    req.on('end', () => resolve(s));
  });
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * A hand-made OIDC provider. Its knobs (fake.knobs) say how the next
 * answers go wrong: iss (another issuer in the ID token), foreignKey (signed
 * by a key it does not publish), tokenDelayMs (a slow token endpoint),
 * tokenStatus (an error status), claims (the ID token's claims besides
 * iss/aud/exp/iat/nonce). Authorization is granted at once: /authorize
 * redirects straight back with a code (or ?error when knobs.deny).
 */
export async function startFakeOidc() {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const key = await signingKey('fake-1');
  const foreign = await signingKey('fake-1'); // the same kid, another key
  const codes = new Map();
  const fake = { issuer, knobs: {}, jwksFetches: 0, tokenCalls: 0 };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, issuer);
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (url.pathname === '/jwks') {
      fake.jwksFetches++;
      return json(res, 200, { keys: [key.pub] });
    }
    if (url.pathname === '/authorize') {
      const back = new URL(url.searchParams.get('redirect_uri'));
      back.searchParams.set('state', url.searchParams.get('state'));
      if (fake.knobs.deny) {
        back.searchParams.set('error', 'access_denied');
      } else {
        const code = b64url(randomBytes(16));
        codes.set(code, { nonce: url.searchParams.get('nonce'), challenge: url.searchParams.get('code_challenge'), client: url.searchParams.get('client_id') });
        back.searchParams.set('code', code);
      }
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      fake.tokenCalls++;
      const form = new URLSearchParams(await readBody(req));
      if (fake.knobs.tokenDelayMs) await new Promise((r) => setTimeout(r, fake.knobs.tokenDelayMs));
      if (fake.knobs.tokenStatus) return json(res, fake.knobs.tokenStatus, { error: 'server_error' });
      const grant = codes.get(form.get('code'));
      codes.delete(form.get('code'));
      if (!grant || s256(form.get('code_verifier') || '') !== grant.challenge) return json(res, 400, { error: 'invalid_grant' });
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: fake.knobs.iss ?? issuer, aud: grant.client, iat: now, exp: now + 300, nonce: grant.nonce, ...(fake.knobs.claims ?? {}) };
      const signer = fake.knobs.foreignKey ? foreign : key;
      const idToken = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: signer.kid }).sign(signer.privateKey);
      return json(res, 200, { access_token: b64url(randomBytes(16)), token_type: 'Bearer', id_token: idToken });
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  fake.close = () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); });
  return fake;
}

/**
 * A GitHub-like OAuth 2.0 server: GET /login/oauth/authorize redirects
 * back at once with a code for the user in gh.knobs.user (or
 * ?error=access_denied when knobs.deny); POST /login/oauth/access_token
 * checks client, secret, code and PKCE and answers JSON (Accept:
 * application/json, as GitHub does); GET /user and /user/emails need the
 * token as Bearer. knobs.user: {id, login, name, emails: [{email, primary,
 * verified}]}.
 */
export async function startGithubLike({ clientId, clientSecret }) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const codes = new Map();
  const tokens = new Map();
  const gh = { base, knobs: {}, calls: [] };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, base);
    gh.calls.push(`${req.method} ${url.pathname}`);
    if (url.pathname === '/login/oauth/authorize') {
      const back = new URL(url.searchParams.get('redirect_uri'));
      back.searchParams.set('state', url.searchParams.get('state'));
      if (gh.knobs.deny) back.searchParams.set('error', 'access_denied');
      else {
        const code = b64url(randomBytes(12));
        codes.set(code, { user: gh.knobs.user, challenge: url.searchParams.get('code_challenge') });
        back.searchParams.set('code', code);
      }
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      const grant = codes.get(form.get('code'));
      codes.delete(form.get('code'));
      if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret || !grant
          || s256(form.get('code_verifier') || '') !== grant.challenge) {
        return json(res, 200, { error: 'bad_verification_code' }); // GitHub answers 200 with an error
      }
      const token = `gho_${b64url(randomBytes(18))}`;
      tokens.set(token, grant.user);
      return json(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
    }
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization || '');
    const user = auth && tokens.get(auth[1]);
    if (url.pathname === '/user' || url.pathname === '/user/emails') {
      if (!user) return json(res, 401, { message: 'Bad credentials' });
      if (url.pathname === '/user') return json(res, 200, { id: user.id, login: user.login, name: user.name, email: null });
      return json(res, 200, user.emails);
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  gh.close = () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); });
  return gh;
}

const unescapeHtml = (s) => s.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (m, e) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" })[e]);

/** A user agent: one cookie jar per origin, redirects followed by hand. */
export class Agent {
  constructor(server) {
    this.server = server;
    this.jars = new Map();
    this.csrf = null;
  }
  jar(origin) {
    if (!this.jars.has(origin)) this.jars.set(origin, new Map());
    return this.jars.get(origin);
  }
  async fetch(url, init = {}) {
    const u = new URL(url);
    // Gatehouse answers on 127.0.0.1 and localhost alike: one jar for both
    const origin = u.port === new URL(this.server.url).port ? 'gatehouse' : u.origin;
    const jar = this.jar(origin);
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(u, { ...init, headers: { cookie, ...(init.headers ?? {}) }, redirect: 'manual', signal: AbortSignal.timeout(20_000) });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair.indexOf('=');
      if (/max-age=0/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(pair.slice(0, i));
      else jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return res;
  }
  /** Gatehouse's JSON API (CSRF token kept). */
  async api(method, path, body) {
    if (method !== 'GET' && !this.csrf) await this.api('GET', '/api/v1/session');
    const res = await this.fetch(`${this.server.url}${path}`, {
      method,
      headers: method === 'GET' ? {} : {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        'x-csrf-token': this.csrf,
        origin: new URL(this.server.issuer).origin,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let j = null;
    try { j = JSON.parse(text); } catch { /* not JSON */ }
    if (j?.csrf_token) this.csrf = j.csrf_token;
    return { status: res.status, json: j, text };
  }
  /**
   * Follows redirects from url; at oidc-provider's login form, signs in as
   * login. Stops at the first answer that is not a redirect, or at a
   * redirect back to Gatehouse outside /federation/ (the journey's end).
   * Returns {res, url, text}.
   */
  async follow(url, { login, until } = {}) {
    let next = new URL(url);
    let init = {};
    for (let i = 0; i < 15; i++) {
      const res = await this.fetch(next, init);
      init = {};
      if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
        await res.arrayBuffer();
        next = new URL(res.headers.get('location'), next);
        if (until && until(next)) return { res, url: next, text: '' };
        continue;
      }
      const text = await res.text();
      const form = /<form[^>]*action="([^"]+)"[^>]*>[\s\S]*name="prompt" value="login"/.exec(text);
      if (form && login) {
        const action = new URL(form[1].replace(/&amp;/g, '&'), next);
        const r2 = await this.fetch(action, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ prompt: 'login', login, password: 'any' }).toString(),
        });
        await r2.arrayBuffer();
        next = new URL(r2.headers.get('location'), action);
        continue;
      }
      // response_mode=form_post: the upstream's page POSTs its hidden
      // fields to the callback (as its script would in a browser)
      const post = /<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(text);
      if (post && /Submitting Callback/.test(text)) {
        const fields = new URLSearchParams();
        for (const m of post[2].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/?>/g)) fields.set(m[1], unescapeHtml(m[2]));
        next = new URL(unescapeHtml(post[1]), next);
        if (until && until(next, fields)) return { res, url: next, text, fields };
        init = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: fields.toString() };
        continue;
      }
      return { res, url: next, text };
    }
    throw new Error(`too many redirects from ${url}`);
  }
}
