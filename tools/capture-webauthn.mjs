#!/usr/bin/env node
// Captures WebAuthn ceremonies from Chromium's CDP virtual authenticator into
// tests/unit/fixtures/webauthn.json, the fixture tests/unit/proto/test_webauthn.c
// checks gh_webauthn.c against. Run it by hand when the fixture needs to be
// renewed; the unit test itself never needs Chromium.
//
//   node tools/capture-webauthn.mjs [out.json]
//
// A tiny page is served on http://localhost:<free port> (localhost is a
// secure context, so WebAuthn works over plain HTTP). The virtual
// authenticator is a CTAP2 platform authenticator with resident keys and
// user verification, so every ceremony has UP and UV set. Challenges are
// fixed bytes so the fixture is easy to read; the origin's port is not, and
// is recorded. Environment: E2E_CHROMIUM (default /usr/bin/chromium).

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = process.argv[2] ?? path.join(ROOT, 'tests/unit/fixtures/webauthn.json');
const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
const RP_ID = 'localhost';

const b64url = (buf) => Buffer.from(buf).toString('base64url');
// 32 fixed challenge bytes per ceremony: the label, then its index.
const challenge = (label) => {
  const b = Buffer.alloc(32, 0);
  Buffer.from(`gatehouse-${label}`).copy(b, 0, 0, 32);
  return b;
};

const PAGE = `<!doctype html><meta charset="utf-8"><title>webauthn capture</title>
<script>
const enc = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)))
  .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
const dec = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
window.register = async ({ challenge, algs, attestation, userId }) => {
  const cred = await navigator.credentials.create({ publicKey: {
    rp: { id: '${RP_ID}', name: 'Gatehouse fixture' },
    user: { id: dec(userId), name: 'fixture@example.com', displayName: 'Fixture' },
    challenge: dec(challenge),
    pubKeyCredParams: algs.map((alg) => ({ type: 'public-key', alg })),
    authenticatorSelection: { userVerification: 'required', residentKey: 'preferred' },
    attestation,
    timeout: 10000,
  } });
  return {
    credentialId: enc(cred.rawId),
    clientDataJSON: enc(cred.response.clientDataJSON),
    attestationObject: enc(cred.response.attestationObject),
    publicKeyAlgorithm: cred.response.getPublicKeyAlgorithm(),
    transports: cred.response.getTransports(),
  };
};
window.authenticate = async ({ challenge, credentialId }) => {
  const cred = await navigator.credentials.get({ publicKey: {
    rpId: '${RP_ID}',
    challenge: dec(challenge),
    allowCredentials: [{ type: 'public-key', id: dec(credentialId) }],
    userVerification: 'required',
    timeout: 10000,
  } });
  return {
    credentialId: enc(cred.rawId),
    clientDataJSON: enc(cred.response.clientDataJSON),
    authenticatorData: enc(cred.response.authenticatorData),
    signature: enc(cred.response.signature),
    userHandle: cred.response.userHandle ? enc(cred.response.userHandle) : null,
  };
};
</script>`;

function serve() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(PAGE);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function main() {
  const server = await serve();
  const origin = `http://localhost:${server.address().port}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });

    const registrations = {};
    const assertions = {};
    const skipped = [];
    const plan = [
      ['es256_none', [-7, -257], 'none'],
      ['es256_packed', [-7, -257], 'direct'],
      ['rs256_none', [-257], 'none'],
      ['eddsa_none', [-8], 'none'],
    ];
    for (const [name, algs, attestation] of plan) {
      const ch = b64url(challenge(`create-${name}`));
      // A user handle per credential: a resident key for the same RP and user
      // handle replaces the one before it.
      const userId = b64url(Buffer.from(`gatehouse-user-${name}`));
      try {
        const r = await page.evaluate((a) => window.register(a), { challenge: ch, algs, attestation, userId });
        registrations[name] = { challenge: ch, requested_algs: algs, attestation, ...r };
      } catch (e) {
        skipped.push(`${name}: ${e.message.split('\n')[0]}`);
      }
    }
    // Two assertions with the first key (sign counts go up), one with the others.
    const gets = [['es256', 'es256_none'], ['es256_again', 'es256_none'],
      ['es256_packed', 'es256_packed'], ['rs256', 'rs256_none'], ['eddsa', 'eddsa_none']];
    for (const [name, reg] of gets) {
      if (!registrations[reg])
        continue;
      const ch = b64url(challenge(`get-${name}`));
      try {
        const r = await page.evaluate((a) => window.authenticate(a),
          { challenge: ch, credentialId: registrations[reg].credentialId });
        assertions[name] = { challenge: ch, registration: reg, ...r };
      } catch (e) {
        skipped.push(`get ${name}: ${e.message.split('\n')[0]}`);
      }
    }
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });

    const fixture = {
      comment: 'Captured by tools/capture-webauthn.mjs from the Chromium CDP virtual authenticator '
        + '(ctap2, internal, resident keys, user verification). All binary values are base64url '
        + 'without padding.',
      browser: `Chromium ${browser.version()}`,
      origin,
      rp_id: RP_ID,
      registrations,
      assertions,
      skipped,
      final_sign_counts: Object.fromEntries(credentials.map((c) => [c.credentialId, c.signCount])),
    };
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, JSON.stringify(fixture, null, 2) + '\n');
    console.error(`wrote ${path.relative(process.cwd(), OUT)}: `
      + `${Object.keys(registrations).length} registrations, ${Object.keys(assertions).length} assertions`
      + (skipped.length ? `; skipped: ${skipped.join('; ')}` : ''));
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
