// An Apple-like upstream for the federation tests (docs/federation.md
// "Apple"): node oidc-provider behind a small proxy that makes it behave as
// Sign in with Apple does. The proxy refuses an authorization request
// without response_mode=form_post, adds Apple's "user" form field (the
// person's name) to the form_post page when apple.nextUser is set (the
// first sign-in), and checks every client_secret at the token endpoint as
// Apple would: a JWT, ES256, signed by the developer's key (verified with
// jose against the public half), kid the key id, iss the team id, sub the
// client id, aud https://appleid.apple.com, a short life; then hands
// oidc-provider the client's registered secret. oidc-provider itself
// cannot check that format (it knows JWT client assertions, not a JWT as
// the secret). Its ID tokens carry the address, never the name, with
// email_verified as Apple sends it: the string "true".

import { generateKeyPairSync } from 'node:crypto';

import * as jose from 'jose';

import { randomHex } from './server.mjs';
import { startOidcUpstream } from './upstream.mjs';

export const TEAM = 'TEAM123456';
export const KID = 'KEY1234567';
export const CLIENT = 'com.example.web';

export const p256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
export const pem = (k) => k.privateKey.export({ type: 'pkcs8', format: 'pem' });

/**
 * Starts the Apple-like upstream for redirectUris. Returns {up, apple, key,
 * provider(id)}: apple records what it saw (secrets accepted, rejected
 * reasons, authorize response modes) and takes nextUser; provider(id) is
 * the admin document of an apple provider for it.
 */
export async function startAppleLike({ redirectUris }) {
  const key = p256();
  const inner = `registered-${randomHex(8)}`;
  const apple = { secrets: [], rejected: [], authorizeModes: [], nextUser: null };
  const checkSecret = async (secret) => {
    const { payload, protectedHeader } = await jose.jwtVerify(secret, key.publicKey, {
      algorithms: ['ES256'], issuer: TEAM, audience: 'https://appleid.apple.com', subject: CLIENT,
    });
    if (protectedHeader.kid !== KID) throw new Error(`kid ${protectedHeader.kid}`);
    if (typeof payload.iat !== 'number' || payload.exp - payload.iat > 600) throw new Error('not short-lived');
  };
  const front = {
    async request(req, url, body) {
      if (url.pathname === '/auth') {
        apple.authorizeModes.push(url.searchParams.get('response_mode'));
        if (url.searchParams.get('response_mode') !== 'form_post') {
          return { status: 400, text: 'response_mode must be form_post when name or email is asked' };
        }
      }
      if (url.pathname === '/token' && req.method === 'POST') {
        const form = new URLSearchParams(body);
        const secret = form.get('client_secret');
        try {
          await checkSecret(secret);
        } catch (e) {
          apple.rejected.push(String(e.message));
          return { status: 400, json: { error: 'invalid_client' } };
        }
        apple.secrets.push(secret);
        form.set('client_secret', inner);
        return { body: form.toString() };
      }
      return undefined;
    },
    html(url, text) {
      if (!apple.nextUser || !/Submitting Callback/.test(text)) return text;
      const user = JSON.stringify(apple.nextUser).replace(/&/g, '&amp;').replace(/"/g, '&quot;');
      apple.nextUser = null;
      return text.replace('</noscript>', `</noscript>\n<input type="hidden" name="user" value="${user}"/>`);
    },
  };
  const up = await startOidcUpstream({
    clients: [{
      client_id: CLIENT, client_secret: inner, redirect_uris: redirectUris,
      token_endpoint_auth_method: 'client_secret_post', grant_types: ['authorization_code'], response_types: ['code'],
    }],
    scopeClaims: { openid: ['sub'], email: ['email', 'email_verified', 'is_private_email'], name: [] },
    front,
  });
  const provider = (id, display_name = 'Apple') => ({
    id, display_name, preset: 'apple', issuer: up.issuer, client_id: CLIENT,
    apple_team_id: TEAM, apple_key_id: KID, apple_private_key: pem(key),
  });
  return { up, apple, key, provider };
}
