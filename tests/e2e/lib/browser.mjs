// A minimal browser for the accounts API tests: a cookie jar, the CSRF
// token from GET /api/v1/session, and JSON posts from the issuer's origin.

import assert from 'node:assert/strict';

import { scim, userBody, randomHex } from './server.mjs';

export class Browser {
  constructor(server, { origin } = {}) {
    this.server = server;
    this.jar = new Map();
    this.csrf = null;
    this.origin = origin ?? new URL(server.issuer).origin;
  }

  cookieHeader() {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  take(res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i);
      const value = pair.slice(i + 1);
      if (/max-age=0/i.test(line) || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  async raw(method, path, { body, headers = {} } = {}) {
    const res = await fetch(`${this.server.url}${path}`, {
      method,
      headers: { cookie: this.cookieHeader(), ...headers },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(15_000),
    });
    this.take(res);
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, headers: res.headers, json, text, setCookies: res.headers.getSetCookie() };
  }

  /** GET /api/v1/session: the whole response (with its Set-Cookie lines). */
  async sessionRaw() {
    const r = await this.raw('GET', '/api/v1/session');
    assert.equal(r.status, 200, r.text);
    this.csrf = r.json.csrf_token;
    return r;
  }

  /** GET /api/v1/session: its JSON body. */
  async session() {
    return (await this.sessionRaw()).json;
  }

  /** csrf: true sends this browser's own token, false or null none, a
   * string that token. */
  async post(path, data, { csrf = true, headers = {} } = {}) {
    if (csrf === true && !this.csrf) await this.session();
    const h = { 'content-type': 'application/json', origin: this.origin };
    if (csrf === true) h['x-csrf-token'] = this.csrf;
    else if (typeof csrf === 'string') h['x-csrf-token'] = csrf;
    Object.assign(h, headers);
    const r = await this.raw('POST', path, { body: JSON.stringify(data), headers: h });
    if (r.json?.csrf_token) this.csrf = r.json.csrf_token;
    return r;
  }
}

/** A user made through SCIM with a password (email not verified). */
export async function newUser(server, tag = 'rev') {
  const email = `${tag}-${randomHex(4)}@example.com`;
  const password = `Lighthouse-${randomHex(6)}-Meadow`;
  const r = await scim(server, 'POST', '/Users', userBody(email, { password }));
  assert.equal(r.status, 201, r.text);
  return { email, password, id: r.body.id };
}

/** A browser signed in with the user's password. */
export async function signedIn(server, user) {
  const b = new Browser(server);
  const r = await b.post('/api/v1/signin', { email: user.email, password: user.password });
  assert.equal(r.status, 200, r.text);
  await b.session();
  return b;
}

/** A browser holding a copy of b's session cookie (and its CSRF token). */
export function copyOf(server, b) {
  const c = new Browser(server);
  c.jar = new Map(b.jar);
  c.csrf = b.csrf;
  return c;
}
