// Helpers of the tenant tests (docs/tenants.md): a server seen through a
// tenant's path, the admin API with the admin token, and a new tenant.

import assert from 'node:assert/strict';

import { request } from './server.mjs';

/** The server as seen through a tenant's path: every helper that takes a
 * server (Browser, scim, registerClient, codeTokens) then talks to it. */
export function tenantView(server, id) {
  return { ...server, url: `${server.url}/t/${id}`, issuer: `${server.issuer}/t/${id}` };
}

/** A JSON request with the admin token (or another token) as bearer. */
export function admin(server, method, path, body, { token = server.token } = {}) {
  return request(server, method, path, {
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Creates tenant id through the admin API (201 asserted); its view. */
export async function createTenant(server, id, extra = {}) {
  const r = await admin(server, 'POST', '/admin/v1/tenants', { id, display_name: `Tenant ${id}`, ...extra });
  assert.equal(r.status, 201, r.text);
  return r.body;
}
