// Second factors as a customer's devices make them, for the tests that need
// an account with an authenticator app or a passkey: TOTP codes from
// Debian's oathtool (RFC 6238, not our own code), enrolment through the
// second-factor API, and passkeys from the software authenticator in
// webauthn.mjs.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

import { sleep } from './server.mjs';

/** TOTP time step in seconds (RFC 6238 default; docs/mfa.md). */
export const STEP = 30;

/** The oathtool code (RFC 6238, SHA-1, 6 digits, 30 s) for a base32 secret at a Unix time. */
export function oathtool(secret, atSeconds) {
  return execFileSync('oathtool', ['--totp', '-b', '-N', `@${atSeconds}`, secret], { encoding: 'utf8' }).trim();
}

export const currentStep = () => Math.floor(Date.now() / 1000 / STEP);

/** The code of a time step (the middle of it). */
export const codeAt = (secret, step) => oathtool(secret, step * STEP + STEP / 2);

/**
 * Waits, when needed, until at least `margin` seconds of the current step
 * remain. Only a code from the previous step needs it (it is accepted until
 * the current step ends); a current or next step's code stays within the
 * ±1 window for at least 30 s.
 */
export async function awayFromStepEdge(margin = 2) {
  const into = (Date.now() / 1000) % STEP;
  if (STEP - into < margin) await sleep((STEP - into) * 1000 + 300);
}

/** A code that matches none of the steps around now (a wrong code). */
export function wrongCode(secret) {
  const s = currentStep();
  const taken = new Set([-2, -1, 0, 1, 2].map((d) => codeAt(secret, s + d)));
  for (const c of ['000000', '111111', '123456', '654321', '999999']) if (!taken.has(c)) return c;
  throw new Error('unreachable');
}

/**
 * Adds an authenticator app in signed-in browser b: set-up, then
 * confirmation with the code of the step `offset` steps from now (default
 * the previous step, so the current and next codes stay unused for
 * sign-ins). Returns the factor id, the secret and the recovery codes.
 */
export async function enrolTotp(b, { offset = -1, name } = {}) {
  const setup = await b.post('/api/v1/mfa/totp', {});
  assert.equal(setup.status, 200, setup.text);
  await awayFromStepEdge();
  const code = codeAt(setup.json.secret, currentStep() + offset);
  const c = await b.post(`/api/v1/mfa/totp/${setup.json.id}/confirm`, name ? { code, name } : { code });
  assert.equal(c.status, 200, c.text);
  assert.equal(c.json.status, 'confirmed');
  return { id: setup.json.id, secret: setup.json.secret, recoveryCodes: c.json.recovery_codes, setup: setup.json };
}

/** Registers a passkey from authenticator auth in browser b; returns the answer and the credential. */
export async function addPasskey(b, auth, { backupEligible = false, name, createOpts = {} } = {}) {
  const o = await b.post('/api/v1/mfa/passkeys/options', {});
  assert.equal(o.status, 200, o.text);
  const { cred, credential } = auth.create(o.json.publicKey, { backupEligible, ...createOpts });
  const r = await b.post('/api/v1/mfa/passkeys', name ? { credential, name } : { credential });
  return { r, cred, options: o.json.publicKey };
}
