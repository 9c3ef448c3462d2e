// Dynamic client registration (RFC 7591), client management (RFC 7592), the
// `gatehouse client` command, and client authentication at the token
// endpoint (client_secret_basic/post, private_key_jwt, none).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as jose from 'jose';

import {
  startServer, stopAll, request, runGatehouse, databaseContains, makeTempDir, sql,
} from './lib/server.mjs';

after(stopAll);

const REDIRECT = 'https://app.example/cb';

/** POST /register with the admin token (or opts.token; null for none). */
async function register(server, metadata, { token, headers = {} } = {}) {
  const h = { 'content-type': 'application/json', ...headers };
  const bearer = token === undefined ? server.token : token;
  if (bearer !== null) h.authorization = `Bearer ${bearer}`;
  const body = typeof metadata === 'string' ? metadata : JSON.stringify(metadata);
  return request(server, 'POST', '/register', { headers: h, body });
}

/** A request on a client's configuration endpoint with a bearer token. */
async function manage(server, method, clientId, token, body) {
  const headers = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return request(server, method, `/register/${encodeURIComponent(clientId)}`, {
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function registered(server, metadata) {
  const r = await register(server, metadata);
  assert.equal(r.status, 201, r.text);
  return r.body;
}

function basic(id, secret) {
  const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

describe('dynamic client registration', () => {
  let server;
  before(async () => { server = await startServer(); });

  test('the admin token registers a client: 201 with credentials and defaults', async () => {
    const r = await register(server, { redirect_uris: [REDIRECT], client_name: 'Shop', frobnicate: 1 });
    assert.equal(r.status, 201, r.text);
    assert.match(r.headers.get('cache-control'), /no-store/);
    const c = r.body;
    assert.equal(typeof c.client_id, 'string');
    assert.match(c.client_secret, /^[A-Za-z0-9_-]{43}$/); // 256 bits, base64url
    assert.match(c.registration_access_token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(c.client_secret_expires_at, 0);
    assert.ok(Math.abs(c.client_id_issued_at - Date.now() / 1000) < 60);
    assert.equal(c.registration_client_uri, `${server.issuer}/register/${c.client_id}`);
    assert.deepEqual(c.redirect_uris, [REDIRECT]);
    assert.deepEqual(c.grant_types, ['authorization_code']);
    assert.deepEqual(c.response_types, ['code']);
    assert.equal(c.token_endpoint_auth_method, 'client_secret_basic');
    assert.equal(c.id_token_signed_response_alg, 'ES256');
    assert.equal(c.client_name, 'Shop');
    assert.equal(c.gatehouse_first_party, false);
    assert.equal(c.frobnicate, undefined, 'unknown metadata is not kept');
  });

  test('without the admin token, or with a wrong one: 401 and nothing stored', async () => {
    const before = sql(server, 'SELECT count(*) AS n FROM clients')[0].n;
    for (const token of [null, 'wrong-token-wrong-token', `${server.token}x`]) {
      const r = await register(server, { redirect_uris: [REDIRECT] }, { token });
      assert.equal(r.status, 401, `token ${token}: ${r.text}`);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.equal(r.body.error, 'invalid_token');
    }
    const r = await register(server, { redirect_uris: [REDIRECT] }, {
      token: null, headers: { authorization: `Basic ${Buffer.from(`x:${server.token}`).toString('base64')}` },
    });
    assert.equal(r.status, 401);
    assert.equal(sql(server, 'SELECT count(*) AS n FROM clients')[0].n, before);
  });

  test('a body that is not JSON is refused', async () => {
    let r = await register(server, 'redirect_uris=x', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 415);
    r = await register(server, '{"redirect_uris": [');
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_client_metadata');
    r = await register(server, '["x"]');
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_client_metadata');
  });

  const invalid = [
    ['no redirect_uris for the code grant', {}, 'invalid_redirect_uri'],
    ['empty redirect_uris', { redirect_uris: [] }, 'invalid_redirect_uri'],
    ['a fragment', { redirect_uris: ['https://app.example/cb#x'] }, 'invalid_redirect_uri'],
    ['a relative URI', { redirect_uris: ['/cb'] }, 'invalid_redirect_uri'],
    ['http on a public host', { redirect_uris: ['http://app.example/cb'] }, 'invalid_redirect_uri'],
    ['javascript:', { redirect_uris: ['javascript:alert(1)'] }, 'invalid_redirect_uri'],
    ['a private-use scheme for a confidential client', { redirect_uris: ['com.example.app:/cb'] }, 'invalid_redirect_uri'],
    ['a custom scheme without a dot', { redirect_uris: ['myapp:/cb'], token_endpoint_auth_method: 'none' }, 'invalid_redirect_uri'],
    ['a post-logout URI with a fragment', { redirect_uris: [REDIRECT], post_logout_redirect_uris: ['https://app.example/#x'] }, 'invalid_redirect_uri'],
    ['an unknown grant type', { redirect_uris: [REDIRECT], grant_types: ['password'] }, 'invalid_client_metadata'],
    ['the implicit grant', { redirect_uris: [REDIRECT], grant_types: ['implicit'], response_types: ['token'] }, 'invalid_client_metadata'],
    ['response type token', { redirect_uris: [REDIRECT], response_types: ['token'] }, 'invalid_client_metadata'],
    ['code without authorization_code', { grant_types: ['client_credentials'], response_types: ['code'] }, 'invalid_client_metadata'],
    ['authorization_code without code', { redirect_uris: [REDIRECT], response_types: [] }, 'invalid_client_metadata'],
    ['refresh_token alone', { redirect_uris: [REDIRECT], grant_types: ['refresh_token'] }, 'invalid_client_metadata'],
    ['an unknown auth method', { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_jwt' }, 'invalid_client_metadata'],
    ['none with client_credentials', { grant_types: ['client_credentials'], token_endpoint_auth_method: 'none' }, 'invalid_client_metadata'],
    ['private_key_jwt without jwks', { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata'],
    ['a private key in jwks', {
      redirect_uris: [REDIRECT], token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'BB', d: 'CC' }] },
    }, 'invalid_client_metadata'],
    ['jwks_uri', { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://app.example/jwks' }, 'invalid_client_metadata'],
    ['an unsupported ID token alg', { redirect_uris: [REDIRECT], id_token_signed_response_alg: 'none' }, 'invalid_client_metadata'],
    ['an http back-channel logout URI', { redirect_uris: [REDIRECT], backchannel_logout_uri: 'http://app.example/bcl' }, 'invalid_client_metadata'],
    ['a non-boolean session_required', { redirect_uris: [REDIRECT], backchannel_logout_session_required: 'yes' }, 'invalid_client_metadata'],
    ['an over-long client_name', { redirect_uris: [REDIRECT], client_name: 'x'.repeat(201) }, 'invalid_client_metadata'],
    ['a javascript: client_uri', { redirect_uris: [REDIRECT], client_uri: 'javascript:alert(1)' }, 'invalid_client_metadata'],
    ['a malformed scope', { redirect_uris: [REDIRECT], scope: 'openid  profile' }, 'invalid_client_metadata'],
    ['a non-boolean gatehouse_first_party', { redirect_uris: [REDIRECT], gatehouse_first_party: 'yes' }, 'invalid_client_metadata'],
  ];
  for (const [name, metadata, error] of invalid) {
    test(`invalid metadata: ${name} → 400 ${error}`, async () => {
      const r = await register(server, metadata);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error, error, r.text);
      assert.equal(typeof r.body.error_description, 'string');
    });
  }

  test('accepted: loopback http, native public clients, logout URIs, RS256', async () => {
    let c = await registered(server, {
      redirect_uris: ['http://127.0.0.1:8765/cb', 'http://localhost/cb', 'http://[::1]:9/cb'],
      post_logout_redirect_uris: ['https://app.example/bye'],
      backchannel_logout_uri: 'https://app.example/bcl',
      backchannel_logout_session_required: true,
      id_token_signed_response_alg: 'RS256',
      grant_types: ['authorization_code', 'refresh_token'],
    });
    assert.equal(c.backchannel_logout_session_required, true);
    assert.equal(c.id_token_signed_response_alg, 'RS256');
    c = await registered(server, { redirect_uris: ['com.example.app:/oauth'], token_endpoint_auth_method: 'none' });
    assert.equal(c.client_secret, undefined, 'a public client gets no secret');
    assert.equal(c.client_secret_expires_at, undefined);
    assert.equal(typeof c.registration_access_token, 'string');
  });

  test('a client_credentials-only client needs no redirect URIs', async () => {
    const c = await registered(server, { grant_types: ['client_credentials'], client_name: 'Batch job' });
    assert.deepEqual(c.grant_types, ['client_credentials']);
    assert.deepEqual(c.response_types, []);
    assert.equal(c.redirect_uris, undefined);
    assert.equal(typeof c.client_secret, 'string');
  });

  test('gatehouse_first_party (extension) is honoured with the admin token', async () => {
    const c = await registered(server, { redirect_uris: [REDIRECT], gatehouse_first_party: true });
    assert.equal(c.gatehouse_first_party, true);
    const row = sql(server, `SELECT first_party FROM clients WHERE id = '${c.client_id}'`)[0];
    assert.equal(row.first_party, 1);
  });

  test('secrets are stored as hashes only', async () => {
    const c = await registered(server, { redirect_uris: [REDIRECT] });
    assert.equal(databaseContains(server, c.client_secret), false, 'client secret in clear');
    assert.equal(databaseContains(server, c.registration_access_token), false, 'registration token in clear');
    const row = sql(server, `SELECT secret_hash, registration_token_hash, metadata FROM clients WHERE id = '${c.client_id}'`)[0];
    assert.match(row.secret_hash, /^[0-9a-f]{64}$/);
    assert.match(row.registration_token_hash, /^[0-9a-f]{64}$/);
    assert.ok(!row.metadata.includes(c.client_secret));
  });

  test('read, update and delete with the registration access token', async () => {
    const c = await registered(server, { redirect_uris: [REDIRECT], client_name: 'Before' });
    const other = await registered(server, { redirect_uris: [REDIRECT] });

    let r = await manage(server, 'GET', c.client_id, c.registration_access_token);
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('cache-control'), /no-store/);
    assert.equal(r.body.client_id, c.client_id);
    assert.equal(r.body.client_name, 'Before');
    assert.equal(r.body.client_secret, undefined, 'the secret is shown once only');
    assert.equal(r.body.registration_access_token, undefined);
    assert.equal(r.body.registration_client_uri, c.registration_client_uri);

    // another client's token, the admin token, no token, a wrong token: 401
    for (const token of [other.registration_access_token, server.token, null, 'x'.repeat(43)]) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        r = await manage(server, method, c.client_id, token, method === 'PUT' ? { redirect_uris: [REDIRECT] } : undefined);
        assert.equal(r.status, 401, `${method} with ${token}: ${r.text}`);
        assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
      }
    }
    // an unknown client answers like a wrong token
    r = await manage(server, 'GET', 'no-such-client', c.registration_access_token);
    assert.equal(r.status, 401);

    // PUT replaces the metadata (the GET document may be sent back as is)
    const doc = { ...r.body, ...(await manage(server, 'GET', c.client_id, c.registration_access_token)).body };
    doc.redirect_uris = ['https://app.example/new'];
    delete doc.client_name;
    r = await manage(server, 'PUT', c.client_id, c.registration_access_token, doc);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.redirect_uris, ['https://app.example/new']);
    assert.equal(r.body.client_name, undefined);
    assert.equal(r.body.client_secret, undefined, 'the secret stays');
    assert.equal(r.body.gatehouse_first_party, false);

    // PUT validates like POST, and refuses another client_id or a wrong secret
    r = await manage(server, 'PUT', c.client_id, c.registration_access_token, { redirect_uris: ['http://evil.example/cb'] });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_redirect_uri');
    r = await manage(server, 'PUT', c.client_id, c.registration_access_token, { client_id: other.client_id, redirect_uris: [REDIRECT] });
    assert.equal(r.status, 400);
    r = await manage(server, 'PUT', c.client_id, c.registration_access_token, { client_secret: 'nope', redirect_uris: [REDIRECT] });
    assert.equal(r.status, 400);
    r = await manage(server, 'PUT', c.client_id, c.registration_access_token, { client_secret: c.client_secret, redirect_uris: [REDIRECT] });
    assert.equal(r.status, 200, r.text);
    // a client cannot make itself first-party
    r = await manage(server, 'PUT', c.client_id, c.registration_access_token, { redirect_uris: [REDIRECT], gatehouse_first_party: true });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.gatehouse_first_party, false);

    r = await manage(server, 'DELETE', c.client_id, c.registration_access_token);
    assert.equal(r.status, 204, r.text);
    r = await manage(server, 'GET', c.client_id, c.registration_access_token);
    assert.equal(r.status, 401);
    assert.equal(sql(server, `SELECT count(*) AS n FROM clients WHERE id = '${c.client_id}'`)[0].n, 0);
    // the other client is untouched
    r = await manage(server, 'GET', other.client_id, other.registration_access_token);
    assert.equal(r.status, 200);
  });

  test('changes are audited', async () => {
    const c = await registered(server, { grant_types: ['client_credentials'] });
    await manage(server, 'DELETE', c.client_id, c.registration_access_token);
    const types = sql(server, `SELECT type FROM audit_events WHERE subject = '${c.client_id}' ORDER BY seq`).map((e) => e.type);
    assert.deepEqual(types, ['client.registered', 'client.deleted']);
  });
});

describe('`gatehouse client` command', () => {
  let server;
  before(async () => { server = await startServer(); });
  const cli = (args) => runGatehouse(['client', ...args], { env: server.env });

  test('help lists the subcommands', async () => {
    for (const args of [['client', '--help'], ['help', 'client']]) {
      const r = await runGatehouse(args);
      assert.equal(r.code, 0, r.stderr);
      for (const word of ['create', 'list', 'delete', 'first-party', '--redirect-uri']) {
        assert.ok(r.stdout.includes(word), `${args.join(' ')} should mention ${word}`);
      }
    }
  });

  test('create, list, first-party, delete', async () => {
    let r = await cli(['create', '--name', 'Web shop', '--redirect-uri', REDIRECT,
      '--redirect-uri', 'https://app.example/cb2', '--grant', 'authorization_code', '--grant', 'refresh_token',
      '--post-logout-redirect-uri', 'https://app.example/bye', '--backchannel-logout-uri', 'https://app.example/bcl',
      '--first-party']);
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout);
    assert.equal(c.client_name, 'Web shop');
    assert.deepEqual(c.redirect_uris, [REDIRECT, 'https://app.example/cb2']);
    assert.deepEqual(c.grant_types, ['authorization_code', 'refresh_token']);
    assert.deepEqual(c.post_logout_redirect_uris, ['https://app.example/bye']);
    assert.equal(c.backchannel_logout_uri, 'https://app.example/bcl');
    assert.equal(c.gatehouse_first_party, true);
    assert.match(c.client_secret, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(databaseContains(server, c.client_secret), false);

    // the running server sees it
    let h = await manage(server, 'GET', c.client_id, c.registration_access_token);
    assert.equal(h.status, 200, h.text);
    assert.equal(h.body.gatehouse_first_party, true);

    r = await cli(['create', '--name', 'Worker', '--grant', 'client_credentials', '--auth', 'client_secret_post']);
    assert.equal(r.code, 0, r.stderr);
    const worker = JSON.parse(r.stdout);
    assert.equal(worker.token_endpoint_auth_method, 'client_secret_post');

    r = await cli(['list']);
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout);
    assert.deepEqual(list.map((x) => x.client_id).sort(), [c.client_id, worker.client_id].sort());
    assert.ok(!r.stdout.includes(c.client_secret), 'list shows no secrets');
    assert.ok(list.every((x) => x.client_secret === undefined && x.registration_access_token === undefined));

    r = await cli(['first-party', c.client_id, 'off']);
    assert.equal(r.code, 0, r.stderr);
    h = await manage(server, 'GET', c.client_id, c.registration_access_token);
    assert.equal(h.body.gatehouse_first_party, false);
    r = await cli(['first-party', c.client_id, 'on']);
    assert.equal(r.code, 0, r.stderr);
    h = await manage(server, 'GET', c.client_id, c.registration_access_token);
    assert.equal(h.body.gatehouse_first_party, true);

    r = await cli(['delete', c.client_id]);
    assert.equal(r.code, 0, r.stderr);
    r = await cli(['list']);
    assert.deepEqual(JSON.parse(r.stdout).map((x) => x.client_id), [worker.client_id]);
    h = await manage(server, 'GET', c.client_id, c.registration_access_token);
    assert.equal(h.status, 401);

    r = await cli(['delete', c.client_id]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no client/);
    r = await cli(['first-party', 'nope', 'on']);
    assert.equal(r.code, 1);
  });

  test('a client deleted by the command line stops authenticating within a second', async () => {
    // Client authentication keeps a client for at most a second (one token
    // request reading and parsing the row cost as much as signing). Changes
    // through the server take effect at once; the command line is another
    // process, so its delete is seen within that second.
    const c = await registered(server, { grant_types: ['client_credentials'] });
    const token = () => request(server, 'POST', '/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(c.client_id, c.client_secret) },
      body: 'grant_type=client_credentials',
    });
    let r = await token();
    assert.equal(r.status, 200, r.text);
    r = await cli(['delete', c.client_id]);
    assert.equal(r.code, 0, r.stderr);
    const deleted = Date.now();
    for (;;) {
      r = await token();
      if (r.status === 401) break;
      assert.equal(r.status, 200, r.text);
      assert.ok(Date.now() - deleted < 1500, 'the deleted client still gets tokens after 1.5 s');
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(r.body.error, 'invalid_client');
    await new Promise((res) => setTimeout(res, 1100));
    r = await token();
    assert.equal(r.status, 401, 'and stays refused');
  });

  test('the same validation as the endpoint; usage errors exit 2', async () => {
    const cases = [
      [['create', '--name', 'X', '--redirect-uri', 'http://app.example/cb'], /invalid_redirect_uri/],
      [['create', '--name', 'X'], /invalid_redirect_uri/],
      [['create', '--name', 'X', '--grant', 'password'], /invalid_client_metadata/],
      [['create', '--name', 'X', '--grant', 'client_credentials', '--auth', 'none'], /invalid_client_metadata/],
      [['create', '--redirect-uri', REDIRECT], /--name/],
      [['create', '--name'], /needs a value/],
      [['create', '--name', 'X', '--bogus'], /unknown argument/],
      [['first-party', 'id', 'maybe'], /on\|off/],
      [['frobnicate'], /unknown client subcommand/],
      [[], /subcommand/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout} ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
    }
    const r = await cli(['list']);
    assert.deepEqual(JSON.parse(r.stdout).filter((x) => x.client_name === 'X'), []);
  });

  test('--jwks registers a private_key_jwt client; a private key is refused', async () => {
    const dir = await makeTempDir();
    const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
    const pub = path.join(dir, 'pub.json');
    const priv = path.join(dir, 'priv.json');
    fs.writeFileSync(pub, JSON.stringify({ keys: [await jose.exportJWK(publicKey)] }));
    fs.writeFileSync(priv, JSON.stringify({ keys: [await jose.exportJWK(privateKey)] }));
    let r = await cli(['create', '--name', 'Signed', '--grant', 'client_credentials', '--auth', 'private_key_jwt', '--jwks', pub]);
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout);
    assert.equal(c.client_secret, undefined);
    assert.equal(c.jwks.keys.length, 1);
    r = await cli(['create', '--name', 'Signed', '--grant', 'client_credentials', '--auth', 'private_key_jwt', '--jwks', priv]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /private/);
  });
});

describe('client authentication at the token endpoint', () => {
  let server;
  let tokenUrl;
  before(async () => {
    server = await startServer();
    tokenUrl = `${server.issuer}/token`;
  });

  const token = (headers, form) => request(server, 'POST', '/token', {
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...form }).toString(),
  });

  test('client_secret_basic and client_secret_post', async (t) => {
    const b = await registered(server, { grant_types: ['client_credentials'] });
    const p = await registered(server, { grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_post' });

    let r = await token({ authorization: basic(b.client_id, b.client_secret) }, {});
    assert.equal(r.status, 200, r.text);
    r = await token({}, { client_id: p.client_id, client_secret: p.client_secret });
    assert.equal(r.status, 200, r.text);

    // a wrong secret; Basic answers with a challenge
    r = await token({ authorization: basic(b.client_id, `${b.client_secret}x`) }, {});
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_client');
    assert.match(r.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    r = await token({}, { client_id: p.client_id, client_secret: 'wrong' });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_client');
    // Only the registered method works (docs/clients.md; issue 16): the
    // right secret sent the other way is refused.
    r = await token({}, { client_id: b.client_id, client_secret: b.client_secret });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_client');
    r = await token({ authorization: basic(p.client_id, p.client_secret) }, {});
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_client');
    // two methods at once
    r = await token({ authorization: basic(b.client_id, b.client_secret) }, { client_secret: b.client_secret });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_request');
    // no authentication, an unknown client, a confidential client without a secret
    r = await token({}, {});
    assert.equal(r.status, 401);
    r = await token({ authorization: basic('nobody', 'x') }, {});
    assert.equal(r.status, 401);
    r = await token({}, { client_id: b.client_id });
    assert.equal(r.status, 401);
    // a malformed Basic header
    r = await token({ authorization: 'Basic !!!' }, {});
    assert.equal(r.status, 401);

    // deleted: no longer authenticates
    await manage(server, 'DELETE', b.client_id, b.registration_access_token);
    r = await token({ authorization: basic(b.client_id, b.client_secret) }, {});
    assert.equal(r.status, 401);
  });

  test('private_key_jwt with jti replay protection', async (t) => {
    const { publicKey, privateKey } = await jose.generateKeyPair('ES256');
    const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const c = await registered(server, {
      grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] },
    });
    assert.equal(c.client_secret, undefined);
    const assertion = (claims = {}, key = privateKey) => new jose.SignJWT({ jti: randomUUID(), ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(c.client_id).setSubject(c.client_id).setAudience(tokenUrl)
      .setIssuedAt().setExpirationTime('2m')
      .sign(key);
    const form = (jwt) => ({
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt,
    });

    const jwt = await assertion();
    let r = await token({}, form(jwt));
    assert.equal(r.status, 200, r.text);
    r = await token({}, form(jwt));
    assert.equal(r.status, 401, 'a replayed assertion is refused');
    assert.equal(r.body.error, 'invalid_client');

    // the issuer as audience is accepted too
    r = await token({}, form(await new jose.SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(c.client_id).setSubject(c.client_id)
      .setAudience(server.issuer).setIssuedAt().setExpirationTime('1m').sign(privateKey)));
    assert.equal(r.status, 200, r.text);

    const other = await jose.generateKeyPair('ES256');
    for (const [name, jwtP] of [
      ['another key', assertion({}, other.privateKey)],
      ['a wrong audience', new jose.SignJWT({ jti: randomUUID() }).setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(c.client_id).setSubject(c.client_id).setAudience('https://rp.example').setExpirationTime('1m').sign(privateKey)],
      ['expired', new jose.SignJWT({ jti: randomUUID() }).setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(c.client_id).setSubject(c.client_id).setAudience(tokenUrl).setExpirationTime(Math.floor(Date.now() / 1000) - 10).sign(privateKey)],
      ['exp days ahead', new jose.SignJWT({ jti: randomUUID() }).setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(c.client_id).setSubject(c.client_id).setAudience(tokenUrl).setExpirationTime('3d').sign(privateKey)],
      ['no jti', new jose.SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(c.client_id).setSubject(c.client_id).setAudience(tokenUrl).setExpirationTime('1m').sign(privateKey)],
      ['iss differs from sub', new jose.SignJWT({ jti: randomUUID() }).setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer('someone').setSubject(c.client_id).setAudience(tokenUrl).setExpirationTime('1m').sign(privateKey)],
    ]) {
      r = await token({}, form(await jwtP));
      assert.equal(r.status, 401, `${name}: ${r.text}`);
      assert.equal(r.body.error, 'invalid_client', name);
    }
    // alg none
    const none = new jose.UnsecuredJWT({ jti: randomUUID() }).setIssuer(c.client_id).setSubject(c.client_id)
      .setAudience(tokenUrl).setExpirationTime('1m').encode();
    r = await token({}, form(none));
    assert.equal(r.status, 401);
    // malformed pairs
    r = await token({}, { client_assertion: await assertion() });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_request');
    r = await token({}, { client_assertion_type: 'urn:x', client_assertion: await assertion() });
    assert.equal(r.status, 400);
  });

  test('none: public clients only, identified by client_id', async (t) => {
    const pub = await registered(server, { redirect_uris: ['com.example.app:/cb'], token_endpoint_auth_method: 'none' });
    // authentication passes; the grant is refused for what it is, not for the client
    const r = await token({}, { client_id: pub.client_id });
    assert.notEqual(r.body?.error, 'invalid_client', r.text);
  });
});
