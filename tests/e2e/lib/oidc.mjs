// Helpers for relying parties built with openid-client.

import assert from 'node:assert/strict';
import http from 'node:http';

import * as client from 'openid-client';

import { randomHex } from './server.mjs';

/** The redirect URI the test clients register (never dereferenced). */
export const REDIRECT = 'https://app.example.com/callback';

/** The client authentication a registered client must use: only its
 * registered method is accepted (docs/clients.md), while openid-client
 * would send the secret in the form by default. */
export function clientAuth(reg) {
  switch (reg.token_endpoint_auth_method) {
    case 'none': return client.None();
    case 'client_secret_post': return client.ClientSecretPost(reg.client_secret);
    default: return client.ClientSecretBasic(reg.client_secret);
  }
}

/** Registers a client through /register with the admin token (first party
 * unless told otherwise: no consent page). */
export async function registerClient(server, metadata, { firstParty = true } = {}) {
  const res = await fetch(`${server.url}/register`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [REDIRECT],
      ...metadata, ...(firstParty ? { gatehouse_first_party: true } : {}),
    }),
  });
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  return body;
}

export function basic(reg) {
  return `Basic ${Buffer.from(`${reg.client_id}:${reg.client_secret}`).toString('base64')}`;
}

export function tokenRequest(server, reg, form) {
  return fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(reg) },
    body: new URLSearchParams(form).toString(),
  });
}

/** Tokens of a code flow with offline_access; consents for a third party. */
export async function codeTokens(server, b, reg, scope = 'openid offline_access') {
  const verifier = client.randomPKCECodeVerifier();
  const q = new URLSearchParams({
    client_id: reg.client_id, redirect_uri: REDIRECT, response_type: 'code', scope, state: randomHex(8),
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  let r = await b.raw('GET', `/authorize?${q}`);
  assert.equal(r.status, 302, r.text);
  let loc = new URL(r.headers.get('location'), server.issuer);
  if (loc.pathname === '/consent') {
    const back = loc.searchParams.get('return_to');
    const d = await b.post('/api/v1/consent', { client_id: reg.client_id, scope, decision: 'allow', return_to: back });
    assert.equal(d.status, 200, d.text);
    r = await b.raw('GET', `${back}&gh_consent=${encodeURIComponent(d.json.marker)}`);
    assert.equal(r.status, 302, r.text);
    loc = new URL(r.headers.get('location'), server.issuer);
  }
  const code = loc.searchParams.get('code');
  assert.ok(code, loc.href);
  const res = await tokenRequest(server, reg, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
  const t = await res.json();
  assert.equal(res.status, 200, JSON.stringify(t));
  assert.ok(t.refresh_token, 'a refresh token');
  return t;
}

export async function refresh(server, reg, rt) {
  const res = await tokenRequest(server, reg, { grant_type: 'refresh_token', refresh_token: rt });
  return { status: res.status, json: await res.json() };
}

/** A relying party's callback on loopback for browser tests: records where
 * it was reached (callbacks: URLs, newest last) and answers a small page. */
export async function startRelyingParty() {
  const callbacks = [];
  let origin = '';
  const server = http.createServer((req, res) => {
    if (req.url.startsWith('/callback')) callbacks.push(new URL(req.url, origin));
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><title>App</title><p>Back at the app</p>');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${server.address().port}`;
  return { redirect: `${origin}/callback`, callbacks, close: () => server.close() };
}

/** POST /token from a local address (127.x.y.z: the risk engine's network),
 * with headers (e.g. the client's Basic authorization); resolves
 * {status, json}. */
export function tokenFromAddress(server, form, address, headers = {}) {
  const body = new URLSearchParams(form).toString();
  const url = new URL('/token', server.url);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname, port: url.port, path: url.pathname, method: 'POST', localAddress: address, agent: false,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), ...headers },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
