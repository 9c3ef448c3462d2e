// The OpenAPI 3.1 document of the JSON APIs (issue 19 item 3): docs/openapi.json,
// written by tools/openapi.mjs and served at GET /openapi.json. It must stay
// true to the route table in src/http/gh_server.c: every route except the
// hosted pages is described with its method, nothing described is missing
// from the table, the document is valid OpenAPI 3.1, and every parameterless
// GET it describes answers with a status it lists.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { Validator } from '@seriousme/openapi-schema-validator';

import { startServer, stopAll, REPO_ROOT } from './lib/server.mjs';
import { newUser, signedIn } from './lib/browser.mjs';
import { openapiText } from '../../tools/openapi.mjs';

const DOC_PATH = path.join(REPO_ROOT, 'docs', 'openapi.json');
const SERVER_C = path.join(REPO_ROOT, 'src', 'http', 'gh_server.c');
const PAGE_HANDLERS = new Set(['gh_static_page', 'gh_static_asset']);
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** `/a/{id}/b` and `/a/{client_id}/b` compare equal. */
const norm = (p) => p.replace(/\{[^}]*\}/g, '{}');

/** The routes of gh_server.c's table: [{method, path, handler}]. */
function routeTable() {
  const src = fs.readFileSync(SERVER_C, 'utf8');
  const start = src.indexOf('static const gh_route routes[]');
  assert.ok(start >= 0, 'the route table is in gh_server.c');
  const end = src.indexOf('};', start);
  const body = src.slice(start, end);
  const routes = [];
  for (const m of body.matchAll(/\{\s*"([A-Z]+)",\s*"([^"]+)",\s*(\w+)\s*,/g))
    routes.push({ method: m[1].toLowerCase(), path: m[2], handler: m[3] });
  return routes;
}

/** The operations of the document: [{method, path, op}]. */
function operations(doc) {
  const ops = [];
  for (const [p, item] of Object.entries(doc.paths))
    for (const method of METHODS) if (item[method]) ops.push({ method, path: p, op: item[method] });
  return ops;
}

const text = fs.readFileSync(DOC_PATH, 'utf8');
const doc = JSON.parse(text);

describe('the document and the route table', () => {
  const routes = routeTable();
  const api = routes.filter((r) => !PAGE_HANDLERS.has(r.handler));
  const key = (x) => `${x.method.toUpperCase()} ${norm(x.path)}`;

  test('the route table was read (pages and API routes both found)', () => {
    assert.ok(api.length > 60, `read ${api.length} API routes`);
    assert.ok(routes.length > api.length, 'the hosted pages are in the table too');
  });

  test('every route that is not a hosted page is described with its method', () => {
    const described = new Set(operations(doc).map(key));
    const missing = api.map(key).filter((k) => !described.has(k));
    assert.deepEqual(missing, [], 'routes without a description in docs/openapi.json (tools/openapi.mjs)');
  });

  test('every described operation is a route (no stale entries), and no page is described', () => {
    const real = new Set(api.map(key));
    const stale = operations(doc).map(key).filter((k) => !real.has(k));
    assert.deepEqual(stale, [], 'described operations the route table does not have');
  });

  test('every operation has a summary, responses and a security requirement', () => {
    for (const { method, path: p, op } of operations(doc)) {
      const where = `${method.toUpperCase()} ${p}`;
      assert.ok(op.summary, `${where}: summary`);
      assert.ok(Object.keys(op.responses ?? {}).length > 0, `${where}: responses`);
      assert.ok(Array.isArray(op.security), `${where}: security (empty list when open)`);
      const params = (op.parameters ?? []).filter((x) => x.in === 'path').map((x) => x.name);
      const inPath = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      assert.deepEqual(params.sort(), inPath.sort(), `${where}: path parameters`);
    }
  });

  test('admin, SCIM and registration need the admin token; /api/v1 changes need the CSRF header', () => {
    for (const { method, path: p, op } of operations(doc)) {
      const where = `${method.toUpperCase()} ${p}`;
      const schemes = new Set(op.security.flatMap((req) => Object.keys(req)));
      if (p.startsWith('/scim/v2/') || p.startsWith('/admin/v1/') || p === '/register')
        assert.ok(schemes.has('adminToken'), `${where}: adminToken`);
      // a change authorised by an access token alone (the application API,
      // /api/v1/app/...) carries no cookie a forged request could use
      if (p.startsWith('/api/v1/') && method !== 'get' && !schemes.has('accessToken'))
        assert.ok(schemes.has('csrfToken'), `${where}: csrfToken`);
      if (schemes.has('accessToken') && p.startsWith('/api/v1/'))
        assert.ok(p.startsWith('/api/v1/app/'), `${where}: only the application API takes an access token`);
    }
  });

  test('the file is what tools/openapi.mjs writes', () => {
    assert.equal(text, openapiText(), 'run node tools/openapi.mjs and commit docs/openapi.json');
  });

  test('the document is valid OpenAPI 3.1 and every $ref resolves', async () => {
    const validator = new Validator();
    const res = await validator.validate(structuredClone(doc));
    assert.equal(res.valid, true, JSON.stringify(res.errors, null, 2));
    assert.equal(validator.version, '3.1');
    assert.doesNotThrow(() => validator.resolveRefs());
  });

  test('the validator does reject a broken document (the check has teeth)', async () => {
    const broken = structuredClone(doc);
    broken.paths['/api/v1/session'].get.responses = { 200: { content: {} } }; // no description
    const res = await new Validator().validate(broken);
    assert.equal(res.valid, false);
  });
});

describe('GET /openapi.json on a running server', () => {
  const ctx = {};
  before(async () => {
    ctx.server = await startServer();
  });
  after(async () => {
    await stopAll();
  });

  test('serves the file byte for byte as JSON, cacheable for a few minutes with an ETag', async () => {
    const res = await fetch(`${ctx.server.url}/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=300');
    const etag = res.headers.get('etag');
    assert.ok(etag, 'ETag');
    assert.equal(await res.text(), text);

    const again = await fetch(`${ctx.server.url}/openapi.json`, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
  });

  test('every described GET without path parameters answers a status the document lists', async () => {
    const seen = [];
    for (const { method, path: p, op } of operations(doc)) {
      if (method !== 'get' || p.includes('{')) continue;
      const admin = op.security.some((req) => 'adminToken' in req);
      const headers = admin ? { Authorization: `Bearer ${ctx.server.token}` } : {};
      const res = await fetch(`${ctx.server.url}${p}`, { headers, redirect: 'manual' });
      await res.arrayBuffer();
      const listed = Object.keys(op.responses);
      assert.ok(listed.includes(String(res.status)), `GET ${p} answered ${res.status}; the document lists ${listed.join(', ')}`);
      seen.push(p);
    }
    assert.ok(seen.length >= 15, `called ${seen.length} paths`);
  });

  test('every described GET with path parameters answers a listed status for an id that does not exist', async () => {
    const seen = [];
    for (const { method, path: p, op } of operations(doc)) {
      if (method !== 'get' || !p.includes('{')) continue;
      const admin = op.security.some((req) => 'adminToken' in req);
      const headers = admin ? { Authorization: `Bearer ${ctx.server.token}` } : {};
      const url = `${ctx.server.url}${p.replace(/\{[^}]*\}/g, 'no-such-id')}`;
      const res = await fetch(url, { headers, redirect: 'manual' });
      await res.arrayBuffer();
      const listed = Object.keys(op.responses);
      assert.ok(listed.includes(String(res.status)), `GET ${p} answered ${res.status}; the document lists ${listed.join(', ')}`);
      seen.push(p);
    }
    assert.ok(seen.length >= 4, `called ${seen.length} paths`);
  });

  test('a JSON answer carries the members its documented schema requires', async () => {
    const resolve = (s) => (s?.$ref ? doc.components.schemas[s.$ref.split('/').pop()] : s);
    const checked = [];
    for (const { method, path: p, op } of operations(doc)) {
      if (method !== 'get' || p.includes('{')) continue;
      const admin = op.security.some((req) => 'adminToken' in req);
      const headers = admin ? { Authorization: `Bearer ${ctx.server.token}` } : {};
      const res = await fetch(`${ctx.server.url}${p}`, { headers, redirect: 'manual' });
      const body = await res.text();
      const content = op.responses[String(res.status)]?.content ?? {};
      const [type, media] = Object.entries(content)[0] ?? [];
      if (!type) continue;
      assert.ok(res.headers.get('content-type')?.startsWith(type), `GET ${p} ${res.status}: ${res.headers.get('content-type')}, documented ${type}`);
      const schema = resolve(media.schema);
      const json = JSON.parse(body);
      for (const name of schema.required ?? []) assert.ok(name in json, `GET ${p} ${res.status}: "${name}" missing`);
      checked.push(`${p} ${res.status}`);
    }
    assert.ok(checked.length >= 10, `checked ${checked.join('; ')}`);
  });

  test('signed in, every session GET answers a listed status with the members its schema requires', async () => {
    const resolve = (s) => (s?.$ref ? doc.components.schemas[s.$ref.split('/').pop()] : s);
    const b = await signedIn(ctx.server, await newUser(ctx.server, 'openapi'));
    const seen = [];
    for (const { method, path: p, op } of operations(doc)) {
      if (method !== 'get' || p.includes('{') || !op.security.some((req) => 'session' in req)) continue;
      const r = await b.raw('GET', p);
      const listed = Object.keys(op.responses);
      assert.ok(listed.includes(String(r.status)), `GET ${p} answered ${r.status}; the document lists ${listed.join(', ')}`);
      const media = op.responses[String(r.status)].content?.['application/json'];
      if (media) for (const name of resolve(media.schema).required ?? []) assert.ok(name in r.json, `GET ${p}: "${name}" missing`);
      seen.push(`${p} ${r.status}`);
    }
    assert.ok(seen.filter((x) => x.endsWith(' 200')).length >= 4, seen.join('; '));
  });

  test('an admin-token GET answers 401 without the token, as described', async () => {
    for (const { method, path: p, op } of operations(doc)) {
      if (method !== 'get' || p.includes('{') || !op.security.some((req) => 'adminToken' in req)) continue;
      const res = await fetch(`${ctx.server.url}${p}`);
      await res.arrayBuffer();
      assert.equal(res.status, 401, `GET ${p} without the admin token`);
      assert.ok(op.responses['401'], `GET ${p} lists 401`);
    }
  });
});
