// A relying party that signs people in with Gatehouse: the smallest whole
// application, for the README's quickstart (examples/README.md says why it
// is Node with openid-client). It discovers the issuer, registers itself
// with the admin token, signs in with the authorization code flow and PKCE,
// validates the ID token, calls userinfo, shows who signed in, and signs
// out through Gatehouse (RP-initiated logout).
//
//   GATEHOUSE_ISSUER       the issuer (default http://localhost:8080)
//   GATEHOUSE_ADMIN_TOKEN  to register this app (as the server has it)
//   PORT                   where this app listens (default 3000)

import http from 'node:http';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';

const issuer = new URL(process.env.GATEHOUSE_ISSUER ?? 'http://localhost:8080');
const port = Number(process.env.PORT ?? 3000);
const here = `http://localhost:${port}`;
const insecure = issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {};

// Register this app: one of the operator's own (no consent screen).
const reg = await fetch(new URL('/register', issuer), {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${process.env.GATEHOUSE_ADMIN_TOKEN}` },
  body: JSON.stringify({
    client_name: 'Example app',
    redirect_uris: [`${here}/callback`],
    post_logout_redirect_uris: [`${here}/`],
    scope: 'openid email profile',
    gatehouse_first_party: true,
  }),
});
if (reg.status !== 201) throw new Error(`registration failed: ${reg.status} ${await reg.text()}`);
const app = await reg.json();
// the method registered by default: client_secret_basic
const config = await oidc.discovery(issuer, app.client_id, undefined, oidc.ClientSecretBasic(app.client_secret), insecure);

// Browser sessions of this app, in memory: cookie value → state.
const sessions = new Map();
function sessionOf(req, res) {
  const id = /(?:^|;\s*)example_sid=([\w-]+)/.exec(req.headers.cookie ?? '')?.[1];
  if (id && sessions.has(id)) return sessions.get(id);
  const fresh = randomBytes(16).toString('base64url');
  sessions.set(fresh, {});
  res.setHeader('set-cookie', `example_sid=${fresh}; HttpOnly; SameSite=Lax; Path=/`);
  return sessions.get(fresh);
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
function page(res, body) {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><html lang="en"><meta charset="utf-8"><title>Example app</title><main>${body}</main></html>`);
}

http.createServer(async (req, res) => {
  const url = new URL(req.url, here);
  const s = sessionOf(req, res);
  try {
    if (url.pathname === '/login') {
      s.verifier = oidc.randomPKCECodeVerifier();
      s.state = oidc.randomState();
      s.nonce = oidc.randomNonce();
      const to = oidc.buildAuthorizationUrl(config, {
        redirect_uri: `${here}/callback`, scope: 'openid email profile', state: s.state, nonce: s.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(s.verifier), code_challenge_method: 'S256',
      });
      res.writeHead(302, { location: to.href }).end();
    } else if (url.pathname === '/callback') {
      // checks state, PKCE, and the ID token's signature, issuer, audience, nonce and times
      const tokens = await oidc.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: s.verifier, expectedState: s.state, expectedNonce: s.nonce,
      });
      const claims = tokens.claims();
      s.user = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      s.idToken = tokens.id_token;
      res.writeHead(302, { location: '/' }).end();
    } else if (url.pathname === '/logout' && s.user) {
      const to = oidc.buildEndSessionUrl(config, { id_token_hint: s.idToken, post_logout_redirect_uri: `${here}/` });
      delete s.user;
      res.writeHead(302, { location: to.href }).end();
    } else if (s.user) {
      page(res, `<h1>Signed in as ${esc(s.user.email ?? s.user.sub)}</h1><p>Subject: ${esc(s.user.sub)}</p><p><a href="/logout">Sign out</a></p>`);
    } else {
      page(res, '<h1>Example app</h1><p>Nobody is signed in.</p><p><a href="/login">Sign in</a></p>');
    }
  } catch (err) {
    const why = err.error ? ` (${err.error}: ${err.error_description ?? ''})` : '';
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(`Sign-in failed: ${err.message}${why}\n`);
  }
}).listen(port, '127.0.0.1', () => console.log(`Example app: open ${here}/ in your browser`));
