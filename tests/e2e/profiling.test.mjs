// Issue 20 item 6, progressive profiling (docs/privacy.md "Progressive
// profiling"): the operator defines profile attributes per tenant; an
// authorization that needs one the customer has not given goes through
// /profile/complete before consent, once; tokens carry an attribute only
// with the scope it is for (data minimisation, both directions); bad values
// are a 400; sensitive values never reach the logs or the audit trail.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import * as client from 'openid-client';
import * as jose from 'jose';

import { startServer, stopAll, randomHex, runGatehouse, sql, scim, SCIM_PATCH_SCHEMA } from './lib/server.mjs';
import { Browser, newUser, signedIn } from './lib/browser.mjs';
import { registerClient, tokenRequest, REDIRECT } from './lib/oidc.mjs';

after(stopAll);

async function admin(server, method, path, body) {
  const res = await fetch(`${server.url}/admin/v1/profile/attributes${path}`, {
    method,
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* none */ }
  return { status: res.status, json, text };
}

async function patch(b, body) {
  if (!b.csrf) await b.session();
  return b.raw('PATCH', '/api/v1/profile/attributes', {
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', origin: b.origin, 'x-csrf-token': b.csrf },
  });
}

/** Starts an authorization; resolves {loc, verifier}: where the first redirect goes. */
async function authorize(server, b, reg, scope) {
  const verifier = client.randomPKCECodeVerifier();
  const q = new URLSearchParams({
    client_id: reg.client_id, redirect_uri: REDIRECT, response_type: 'code', scope, state: randomHex(8),
    nonce: randomHex(8), code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const r = await b.raw('GET', `/authorize?${q}`);
  assert.equal(r.status, 302, r.text);
  return { loc: new URL(r.headers.get('location'), server.issuer), verifier };
}

/** The code's tokens, with the ID token's claims. */
async function tokens(server, reg, loc, verifier) {
  const code = loc.searchParams.get('code');
  assert.ok(code, loc.href);
  const res = await tokenRequest(server, reg, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
  const t = await res.json();
  assert.equal(res.status, 200, JSON.stringify(t));
  return { ...t, claims: jose.decodeJwt(t.id_token) };
}

async function userinfo(server, at) {
  const res = await fetch(`${server.url}/userinfo`, { headers: { authorization: `Bearer ${at}` } });
  assert.equal(res.status, 200);
  return res.json();
}

describe('progressive profiling', () => {
  let server;
  let app;
  before(async () => {
    server = await startServer({ env: { GATEHOUSE_LOG_LEVEL: 'debug' } });
    app = await registerClient(server, {
      client_name: 'Wine Shop', scope: 'openid profile email',
      attribute_reasons: { birthdate: 'We may sell wine only to adults.' },
    });
    let r = await admin(server, 'POST', '', {
      name: 'birthdate', display_name: 'Date of birth', type: 'date', scopes: ['profile'], required: true,
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.claim, 'standard');
    r = await admin(server, 'POST', '', {
      name: 'shoe_size', display_name: 'Shoe size', type: 'number', min: 15, max: 55, clients: ['none-yet'],
    });
    assert.equal(r.status, 201, r.text);
  });

  test('the admin API lists, refuses what is not sound, and names must be unique', async () => {
    const list = await admin(server, 'GET', '');
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.attributes.map((a) => a.name), ['birthdate', 'shoe_size']);
    assert.equal((await admin(server, 'GET', '/birthdate')).json.display_name, 'Date of birth');
    assert.equal((await admin(server, 'GET', '/nope')).status, 404);
    const dup = await admin(server, 'POST', '', { name: 'birthdate', display_name: 'X', type: 'date' });
    assert.equal(dup.status, 409);
    for (const bad of [
      { name: 'birthdate', display_name: 'X', type: 'string' },
      { name: 'email', display_name: 'X', type: 'string' },
      { name: 'x', display_name: 'X', type: 'enum' },
      { name: 'x', display_name: 'X', type: 'string', pattern: '(' },
      { name: 'x', display_name: 'X', type: 'string', scopes: ['no-such-scope'] },
    ]) {
      const r = await admin(server, 'POST', '', bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(r.json.error, 'invalid_request');
    }
    const noToken = await fetch(`${server.url}/admin/v1/profile/attributes`);
    assert.equal(noToken.status, 401);
  });

  test('an authorization needing birthdate asks for it first, once; the ID token and userinfo carry it only with profile (data minimisation; SECURITY.md #42: what consent shows is what tokens carry)', async () => {
    const user = await newUser(server, 'prof');
    const b = await signedIn(server, user);
    // without the profile scope nothing is asked
    let { loc, verifier } = await authorize(server, b, app, 'openid email');
    assert.equal(loc.origin + loc.pathname, REDIRECT);
    let t = await tokens(server, app, loc, verifier);
    assert.equal(t.claims.birthdate, undefined);

    ({ loc, verifier } = await authorize(server, b, app, 'openid profile'));
    assert.equal(loc.pathname, '/profile/complete');
    const back = loc.searchParams.get('return_to');
    assert.ok(back.startsWith('/authorize?'), back);
    // the page's API: just the missing attribute, with the app's reason
    const info = await b.raw('GET', `/api/v1/profile/attributes?${new URLSearchParams({ client_id: app.client_id, scope: 'openid profile' })}`);
    assert.equal(info.status, 200, info.text);
    assert.equal(info.json.client_name, 'Wine Shop');
    assert.deepEqual(info.json.attributes.map((a) => a.name), ['birthdate']);
    assert.equal(info.json.attributes[0].reason, 'We may sell wine only to adults.');
    assert.equal(info.json.attributes[0].scopes, undefined, 'operator details stay out');
    // a required attribute cannot be skipped; a bad value is a clear 400
    let r = await patch(b, { values: {}, skip: ['birthdate'] });
    assert.equal(r.status, 400);
    assert.match(r.json.error_description, /Date of birth/);
    r = await patch(b, { values: { birthdate: '1990-02-30' } });
    assert.equal(r.status, 400);
    assert.match(r.json.error_description, /Date of birth.*YYYY-MM-DD/);
    r = await patch(b, { values: { shoe_size: 99 } });
    assert.equal(r.status, 400);
    r = await patch(b, { values: { no_such: 'x' } });
    assert.equal(r.status, 400);
    r = await patch(b, { values: { birthdate: '1990-05-17' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.values.birthdate, '1990-05-17');

    // back to the authorization: on to the app, with the claim
    r = await b.raw('GET', back);
    assert.equal(r.status, 302);
    loc = new URL(r.headers.get('location'), server.issuer);
    assert.equal(loc.origin + loc.pathname, REDIRECT);
    t = await tokens(server, app, loc, verifier);
    assert.equal(t.claims.birthdate, '1990-05-17');
    assert.equal((await userinfo(server, t.access_token)).birthdate, '1990-05-17');

    // a second authorization does not ask again
    ({ loc, verifier } = await authorize(server, b, app, 'openid profile'));
    assert.equal(loc.origin + loc.pathname, REDIRECT);
    // and without the scope it stays out of both, though the value is held
    ({ loc, verifier } = await authorize(server, b, app, 'openid email'));
    t = await tokens(server, app, loc, verifier);
    assert.equal(t.claims.birthdate, undefined);
    assert.equal((await userinfo(server, t.access_token)).birthdate, undefined);
  });

  test('a client-required attribute is asked of that client only; optional ones can be skipped, once', async () => {
    const shop = await registerClient(server, { client_name: 'Shoe Shop', scope: 'openid email' });
    const r0 = await admin(server, 'PUT', '/team', {
      display_name: 'Team', type: 'enum', values: ['red', 'blue'], clients: [shop.client_id],
    });
    assert.equal(r0.status, 200, r0.text);
    const user = await newUser(server, 'prof');
    const b = await signedIn(server, user);
    // another client with the same scope is not asked
    let { loc } = await authorize(server, b, app, 'openid email');
    assert.equal(loc.origin + loc.pathname, REDIRECT);
    let verifier;
    ({ loc } = await authorize(server, b, shop, 'openid email'));
    assert.equal(loc.pathname, '/profile/complete');
    const back = loc.searchParams.get('return_to');
    // "Not now" for the optional attribute: not asked again
    let r = await patch(b, { values: {}, skip: ['team'] });
    assert.equal(r.status, 200, r.text);
    ({ loc, verifier } = await authorize(server, b, shop, 'openid email'));
    assert.equal(loc.origin + loc.pathname, REDIRECT);
    let t = await tokens(server, shop, loc, verifier);
    assert.equal(t.claims.team, undefined);
    // given later (the account page's API): the client that needs it gets it
    r = await patch(b, { values: { team: 'green' } });
    assert.equal(r.status, 400);
    r = await patch(b, { values: { team: 'blue' } });
    assert.equal(r.status, 200);
    ({ loc, verifier } = await authorize(server, b, shop, 'openid email'));
    t = await tokens(server, shop, loc, verifier);
    assert.equal(t.claims.team, 'blue');
    ({ loc, verifier } = await authorize(server, b, app, 'openid email'));
    t = await tokens(server, app, loc, verifier);
    assert.equal(t.claims.team, undefined, 'another client does not get it');
    assert.ok(back.startsWith('/authorize?'));
    // the account page lists every attribute with its value
    const all = await b.raw('GET', '/api/v1/profile/attributes');
    assert.equal(all.json.attributes.find((a) => a.name === 'team').value, 'blue');
    assert.equal((await admin(server, 'DELETE', '/team')).status, 204);
  });

  test('prompt=none with a missing attribute answers interaction_required', async () => {
    const user = await newUser(server, 'prof');
    const b = await signedIn(server, user);
    const q = new URLSearchParams({
      client_id: app.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid profile',
      state: 's', prompt: 'none', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const r = await b.raw('GET', `/authorize?${q}`);
    const loc = new URL(r.headers.get('location'), server.issuer);
    assert.equal(loc.searchParams.get('error'), 'interaction_required');
  });

  test('a sensitive attribute never reaches the logs or the audit trail (SECURITY.md #47)', async () => {
    const r0 = await admin(server, 'POST', '', {
      name: 'tax_id', display_name: 'Tax number', type: 'string', pattern: 'TX[0-9]{8}', sensitivity: 'sensitive',
    });
    assert.equal(r0.status, 201, r0.text);
    const user = await newUser(server, 'prof');
    const b = await signedIn(server, user);
    const secret = `TX${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    let r = await patch(b, { values: { tax_id: `${secret}x` } });
    assert.equal(r.status, 400);
    assert.ok(!r.text.includes(secret), 'the reason does not echo the value');
    r = await patch(b, { values: { tax_id: secret } });
    assert.equal(r.status, 200, r.text);
    const logs = server.logs().join('\n');
    assert.ok(logs.length > 0);
    assert.ok(!logs.includes(secret), 'not in the logs');
    const audit = JSON.stringify(sql(server, "SELECT type, details FROM audit_events WHERE type = 'profile.attributes_updated'"));
    assert.match(audit, /tax_id/);
    assert.ok(!audit.includes(secret), 'not in the audit trail');
    assert.equal((await admin(server, 'DELETE', '/tax_id')).status, 204);
  });

  test('attribute_reasons is validated at registration', async () => {
    const res = await fetch(`${server.url}/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [REDIRECT], attribute_reasons: { birthdate: '' } }),
    });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, 'invalid_client_metadata');
  });

  test('SCIM: the schema extension is listed, read and written, and validated by the schema', async () => {
    const URN = 'urn:ietf:params:scim:schemas:extension:gatehouse:profile:2.0:User';
    const schemas = await scim(server, 'GET', '/Schemas');
    const ext = schemas.body.Resources.find((x) => x.id === URN);
    assert.ok(ext, 'listed in /Schemas');
    assert.ok(ext.attributes.some((a) => a.name === 'birthdate' && a.description === 'Date of birth'));
    const types = await scim(server, 'GET', '/ResourceTypes');
    assert.ok(types.body.Resources[0].schemaExtensions.some((x) => x.schema === URN));

    const user = await newUser(server, 'prof');
    let r = await scim(server, 'PATCH', `/Users/${user.id}`, {
      schemas: [SCIM_PATCH_SCHEMA], Operations: [{ op: 'replace', path: `${URN}:birthdate`, value: '1985-12-01' }],
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body[URN].birthdate, '1985-12-01');
    assert.ok(r.body.schemas.includes(URN));
    r = await scim(server, 'PATCH', `/Users/${user.id}`, {
      schemas: [SCIM_PATCH_SCHEMA], Operations: [{ op: 'replace', path: `${URN}:birthdate`, value: '1985-13-01' }],
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.scimType, 'invalidValue');
    r = await scim(server, 'PATCH', `/Users/${user.id}`, {
      schemas: [SCIM_PATCH_SCHEMA], Operations: [{ op: 'add', path: `${URN}:no_such`, value: 'x' }],
    });
    assert.equal(r.status, 400);
    const got = await scim(server, 'GET', `/Users/${user.id}`);
    assert.equal(got.body[URN].birthdate, '1985-12-01');
    // PUT with the extension replaces its values, validated likewise
    const put = { ...got.body, [URN]: { shoe_size: 42 } };
    delete put.meta;
    r = await scim(server, 'PUT', `/Users/${user.id}`, put);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body[URN], { shoe_size: 42 });
    r = await scim(server, 'PUT', `/Users/${user.id}`, { ...put, [URN]: { shoe_size: 'big' } });
    assert.equal(r.status, 400);
    // and the customer sees what SCIM wrote
    const b = await signedIn(server, user);
    const mine = await b.raw('GET', '/api/v1/profile/attributes');
    assert.equal(mine.json.attributes.find((a) => a.name === 'shoe_size').value, 42);
  });

  test('gatehouse profile attribute add|list|remove', async () => {
    const env = server.env;
    let r = await runGatehouse(['profile', 'attribute', 'add', 'nickname', '--display-name', 'Nickname',
      '--type', 'string', '--scope', 'profile', '--max-length', '30'], { env });
    assert.equal(r.code, 0, r.stderr);
    r = await runGatehouse(['profile', 'attribute', 'list'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /nickname/);
    assert.equal((await admin(server, 'GET', '/nickname')).json.max_length, 30);
    r = await runGatehouse(['profile', 'attribute', 'add', 'x', '--display-name', 'X', '--type', 'blob'], { env });
    assert.notEqual(r.code, 0);
    // the schema moves with `gatehouse export` (docs/migrating.md)
    const dump = await runGatehouse(['export', '-'], { env });
    assert.equal(dump.code, 0, dump.stderr);
    assert.match(dump.stdout, /profile_attributes/);
    assert.match(dump.stdout, /nickname/);
    r = await runGatehouse(['profile', 'attribute', 'remove', 'nickname'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await admin(server, 'GET', '/nickname')).status, 404);
  });
});
