// Branding through the admin API (issue 21 item 2; docs/branding.md):
// GET/PUT/DELETE /admin/v1/branding behind the admin token, audited
// branding.updated; bad input gets 400 naming the field and changes
// nothing; GET /branding.css and GET /api/v1/branding serve what pages
// use, without a restart; /authorize errors are a branded page; a browser
// gets an HTML 404 and an API client keeps its JSON one.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, request, sql } from './lib/server.mjs';

let server;

before(async () => {
  server = await startServer();
});
after(async () => {
  await stopAll();
});

const admin = (method, body, token) => request(server, method, '/admin/v1/branding', {
  headers: {
    ...(token === null ? {} : { authorization: `Bearer ${token ?? server.token}` }),
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
  },
  body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
});

const GOOD = {
  product_name: 'Harbour Bank',
  logo_uri: 'https://cdn.harbour.example/logo.svg',
  colors: { primary: '#0a7d4f', primary_text: '#ffffff' },
  dark_colors: { primary: 'rgb(111 227 176)' },
  stylesheet: '.card { border-radius: 0; }',
};

describe('branding admin API', () => {
  test('without the admin token (none, wrong, a SCIM-looking one) every method is refused and nothing changes', async () => {
    for (const token of [null, 'wrong-token', `${server.token}x`]) {
      assert.equal((await admin('GET', undefined, token)).status, 401);
      assert.equal((await admin('PUT', GOOD, token)).status, 401);
      assert.equal((await admin('DELETE', undefined, token)).status, 401);
    }
    const info = await request(server, 'GET', '/api/v1/branding');
    assert.equal(info.body.product_name, 'Gatehouse');
    assert.equal(sql(server, "SELECT COUNT(*) AS n FROM tenant_branding")[0].n, 0);
  });

  test('the default: product name Gatehouse, no logo, a stylesheet with no colours of its own', async () => {
    const got = await admin('GET');
    assert.equal(got.status, 200);
    assert.deepEqual({ ...got.body, updated_at: undefined },
      { product_name: '', logo_uri: '', colors: {}, dark_colors: {}, stylesheet: '', updated_at: undefined });
    const info = await request(server, 'GET', '/api/v1/branding');
    assert.deepEqual([info.body.product_name, info.body.logo_uri], ['Gatehouse', '']);
    const css = await request(server, 'GET', '/branding.css');
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type'), /^text\/css/);
    assert.doesNotMatch(css.text, /--gh-/);
  });

  test('PUT brands the tenant at once: the API, /branding.css (ETag, 304) and the pages change without a restart; audited branding.updated', async () => {
    const put = await admin('PUT', GOOD);
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.product_name, 'Harbour Bank');
    assert.ok(put.body.updated_at > 0);
    assert.deepEqual((await admin('GET')).body.colors, GOOD.colors);

    const info = await request(server, 'GET', '/api/v1/branding');
    assert.deepEqual([info.body.product_name, info.body.logo_uri], ['Harbour Bank', GOOD.logo_uri]);
    const css = await request(server, 'GET', info.body.stylesheet);
    assert.match(css.text, /--gh-primary: #0a7d4f;/);
    assert.match(css.text, /@media \(prefers-color-scheme: dark\) \{\s*:root \{\s*--gh-primary: rgb\(111 227 176\);/);
    assert.match(css.text, /\.card \{ border-radius: 0; \}/);
    assert.match(css.headers.get('cache-control'), /max-age/, 'the versioned URL may be cached');
    const etag = css.headers.get('etag');
    const again = await request(server, 'GET', '/branding.css', { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);

    const page = await request(server, 'GET', '/signin');
    assert.match(page.text, /<title>Sign in · Harbour Bank<\/title>/);
    assert.match(page.text, /<header class="brand"><img class="logo" src="https:\/\/cdn\.harbour\.example\/logo\.svg" alt=""><span>Harbour Bank<\/span><\/header>/);
    assert.match(page.text, new RegExp(`href="${info.body.stylesheet.replace(/[?.]/g, '\\$&')}"`));
    assert.match(page.headers.get('content-security-policy'), /img-src 'self' data: https:\/\/cdn\.harbour\.example;/,
      'the page CSP lets in the logo and nothing else new');
    assert.match(page.headers.get('content-security-policy'), /script-src 'self'; style-src 'self';/);

    const events = sql(server, "SELECT actor, outcome FROM audit_events WHERE type = 'branding.updated'");
    assert.deepEqual(events, [{ actor: 'admin', outcome: 'success' }]);
  });

  test('a product name is text, never markup, in the page and its title', async () => {
    assert.equal((await admin('PUT', { product_name: '<script>alert(1)</script> & Co' })).status, 200);
    const page = await request(server, 'GET', '/signin');
    assert.ok(!page.text.includes('<script>alert(1)'));
    assert.match(page.text, /<span>&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; Co<\/span>/);
    assert.equal((await admin('PUT', GOOD)).status, 200);
  });

  test('bad input gets 400 naming the field, and changes nothing: no markup, import, escape or other origin reaches a page', async () => {
    const before = (await admin('GET')).body;
    const cases = [
      [{ colors: { primary: 'red;} body { display: none' } }, 'colors.primary'],
      [{ colors: { primary: 'url(https://evil.example/x)' } }, 'colors.primary'],
      [{ dark_colors: { link: '#fff' } }, 'dark_colors.link'],
      [{ colors: '#fff' }, 'colors'],
      [{ product_name: '' }, 'product_name'],
      [{ product_name: 'x'.repeat(65) }, 'product_name'],
      [{ logo_uri: 'javascript:alert(1)' }, 'logo_uri'],
      [{ logo_uri: 'http://cdn.evil.example/logo.png' }, 'logo_uri'],
      [{ stylesheet: '@import url(/x.css);' }, 'stylesheet'],
      [{ stylesheet: '</style><script>alert(1)</script>' }, 'stylesheet'],
      [{ stylesheet: 'body { background: url(https://evil.example/track.png) }' }, 'stylesheet'],
      [{ stylesheet: 'body { background: url(//evil.example/track.png) }' }, 'stylesheet'],
      [{ stylesheet: 'body { background: u\\72l(https://evil.example/t.png) }' }, 'stylesheet'],
      [{ stylesheet: ' '.repeat(32 * 1024 + 1) }, 'stylesheet'],
      [{ favicon: 'https://x.example/f.ico' }, 'favicon'],
    ];
    for (const [body, field] of cases) {
      const res = await admin('PUT', { ...GOOD, ...body });
      assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${res.text}`);
      assert.equal(res.body.error, 'invalid_request');
      assert.equal(res.body.field, field);
      assert.ok(res.body.error_description.startsWith(`${field}: `), res.body.error_description);
    }
    assert.equal((await admin('PUT', '{"product_name": ')).status, 400, 'not JSON');
    assert.deepEqual((await admin('GET')).body, before, 'nothing changed');
    assert.equal(sql(server, "SELECT COUNT(*) AS n FROM audit_events WHERE type = 'branding.updated'")[0].n, 3);
  });

  test('DELETE goes back to the default look (audited); a second DELETE is still 204', async () => {
    assert.equal((await admin('DELETE')).status, 204);
    assert.equal((await request(server, 'GET', '/api/v1/branding')).body.product_name, 'Gatehouse');
    const page = await request(server, 'GET', '/signin');
    assert.match(page.text, /<header class="brand">Gatehouse<\/header>/);
    assert.match(page.text, /<title>Sign in · Gatehouse<\/title>/);
    assert.equal((await admin('DELETE')).status, 204);
    assert.equal(sql(server, "SELECT COUNT(*) AS n FROM audit_events WHERE type = 'branding.updated'")[0].n, 4);
  });
});

describe('error pages', () => {
  test('an /authorize error that cannot go back to the client is a branded HTML page', async () => {
    assert.equal((await admin('PUT', { product_name: 'Harbour Bank' })).status, 200);
    const res = await request(server, 'GET', '/authorize?client_id=nobody&response_type=code&scope=openid'
      + '&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback');
    assert.equal(res.status, 400);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    assert.match(res.text, /<title>Unknown application · Harbour Bank<\/title>/);
    assert.match(res.text, /<header class="brand"><span>Harbour Bank<\/span><\/header>/);
    assert.match(res.text, /<link rel="stylesheet" href="\/branding\.css\?v=[0-9a-f]{16}">/);
    assert.equal((await admin('DELETE')).status, 204);
  });

  test('a browser asking for a missing page gets the HTML 404; API clients keep JSON', async () => {
    const page = await request(server, 'GET', '/no-such-page', { headers: { accept: 'text/html,application/xhtml+xml' } });
    assert.equal(page.status, 404);
    assert.match(page.headers.get('content-type'), /^text\/html/);
    assert.match(page.text, /<h1>Page not found<\/h1>/);
    for (const [path, accept] of [['/no-such-page', 'application/json'], ['/no-such-page', undefined],
      ['/api/v1/no-such-thing', 'text/html'], ['/admin/v1/no-such-thing', 'text/html']]) {
      const res = await request(server, 'GET', path, { headers: accept ? { accept } : {} });
      assert.equal(res.status, 404, path);
      assert.match(res.headers.get('content-type'), /^application\/json/, `${path} with ${accept}`);
      assert.equal(res.body.error, 'not_found');
    }
  });
});
