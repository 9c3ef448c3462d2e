// A browser at one local address (lib/from.mjs) that sends a desktop
// Chrome's User-Agent, so the risk engine sees a known browser (not
// ua_scripted), and can PUT with its CSRF token. Used by the risk tests.

import assert from 'node:assert/strict';

import { BrowserFrom } from './from.mjs';
import { newUser } from './browser.mjs';

export const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

export class ChromeFrom extends BrowserFrom {
  raw(method, p, { body, headers = {} } = {}) {
    return super.raw(method, p, { body, headers: { 'user-agent': CHROME, ...headers } });
  }

  async put(p, data) {
    if (!this.csrf) await this.session();
    return this.raw('PUT', p, {
      body: JSON.stringify(data),
      headers: { 'content-type': 'application/json', origin: this.origin, 'x-csrf-token': this.csrf },
    });
  }
}

/** A new account that signs in with an emailed code, set up from the
 * address home with its password (that browser, returned as home, is a
 * known device and network of the account from then on). */
export async function emailSigninOwner(server, home, tag) {
  const user = await newUser(server, tag);
  const b = new ChromeFrom(server, home);
  const r = await b.post('/api/v1/signin', { email: user.email, password: user.password });
  assert.equal(r.status, 200, r.text);
  await b.session();
  const on = await b.put('/api/v1/mfa/email', { enabled: true, current_password: user.password });
  assert.equal(on.status, 200, on.text);
  return { user, home: b };
}
