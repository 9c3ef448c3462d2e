// The 429 of each rate-limit class not reached by ratelimit.test.mjs
// (docs/rate-limits.md "The limits" and "Refusals"; SECURITY.md #12, ASVS
// 2.4.1): the admin class on SCIM (the SCIM error shape) and on the admin
// API, the code checks and dynamic client registration (the JSON shape).
// The classes' figures are lowered to 3 a minute, so each is reached in a
// few requests and a token comes back every 20 seconds: Retry-After is 1
// to 20. Every test speaks from its own 127.0.N.0/24 (lib/from.mjs), so
// one test's requests never count in another's buckets.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, stopAll, randomHex, sql, SCIM_ERROR_SCHEMA, BACKEND } from './lib/server.mjs';
import { BrowserFrom } from './lib/from.mjs';

after(stopAll);

const LIMIT = 3; // a minute, for each class below

/** The Retry-After of a minute-window class holding LIMIT tokens. */
function assertRetryAfter(r) {
  const v = r.headers.get('retry-after') ?? '';
  assert.match(v, /^[1-9]\d*$/);
  assert.ok(Number(v) <= 60 / LIMIT, `Retry-After ${v}: a token comes back every ${60 / LIMIT} s`);
}

/** Asserts r is the JSON refusal of the APIs (docs/rate-limits.md "Refusals"). */
function assertRateLimited(r) {
  assert.equal(r.status, 429, r.text);
  assertRetryAfter(r);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(r.json.error, 'rate_limited');
  assert.match(r.json.error_description, /^Too many requests\. Try again in \d+ seconds?\.$/);
}

describe(`rate-limit classes: their 429s (${BACKEND})`, () => {
  let server;

  before(async () => {
    server = await startServer({
      env: {
        GATEHOUSE_RATE_LIMIT_ADMIN: String(LIMIT),
        GATEHOUSE_RATE_LIMIT_CODE: String(LIMIT),
        GATEHOUSE_RATE_LIMIT_REGISTRATION: String(LIMIT),
      },
    });
  });
  after(async () => { await server?.stop(); });

  const bearer = () => ({ authorization: `Bearer ${server.token}` });

  /** The refusals /metrics has counted for a class so far. */
  async function refusals(cls) {
    const r = await fetch(`${server.url}/metrics`, { headers: bearer() });
    assert.equal(r.status, 200);
    const line = (await r.text()).split('\n')
      .find((l) => l.startsWith('gatehouse_rate_limited_total{') && l.includes(`class="${cls}"`));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  test('SCIM is in the admin class: the 4th request in a minute gets 429 in the SCIM error shape (application/scim+json, status "429") with Retry-After', async () => {
    const from = new BrowserFrom(server, '127.0.101.1');
    const scimGet = () => from.raw('GET', '/scim/v2/Users', { headers: { ...bearer(), accept: 'application/scim+json' } });
    const counted = await refusals('admin');
    for (let i = 0; i < LIMIT; i++) {
      const r = await scimGet();
      assert.equal(r.status, 200, r.text);
    }
    const r = await scimGet();
    assert.equal(r.status, 429, r.text);
    assertRetryAfter(r);
    assert.match(r.headers.get('content-type') ?? '', /^application\/scim\+json/);
    assert.deepEqual(r.json.schemas, [SCIM_ERROR_SCHEMA]);
    assert.equal(r.json.status, '429'); // RFC 7644 3.12: a string
    assert.match(r.json.detail, /^Too many requests\. Try again in \d+ seconds?\.$/);
    assert.equal(r.json.error, undefined, 'not the JSON APIs\' shape');
    assert.equal(await refusals('admin'), counted + 1, 'the refusal is counted for the operator');
  });

  test('the admin API shares the admin class: past it, 429 rate_limited in the JSON shape, and SCIM from that address waits too', async () => {
    const from = new BrowserFrom(server, '127.0.102.1');
    for (let i = 0; i < LIMIT; i++) {
      const r = await from.raw('GET', '/admin/v1/tenants', { headers: bearer() });
      assert.equal(r.status, 200, r.text);
    }
    assertRateLimited(await from.raw('GET', '/admin/v1/tenants', { headers: bearer() }));
    const scim = await from.raw('GET', '/scim/v2/Users', { headers: bearer() });
    assert.equal(scim.status, 429, scim.text);
    assert.equal(scim.json.status, '429');
    // another address is not held back
    const other = await new BrowserFrom(server, '127.0.112.1').raw('GET', '/admin/v1/tenants', { headers: bearer() });
    assert.equal(other.status, 200, other.text);
  });

  test('SECURITY.md #13: code checks: after 3 wrong codes in a minute the 4th is refused with 429 before it is checked (the flow counts 3 attempts)', async () => {
    const b = new BrowserFrom(server, '127.0.103.1');
    const up = await b.post('/api/v1/signup', { email: `codes-${randomHex(4)}@example.com`, password: `Harbour-${randomHex(6)}-Lantern` });
    assert.equal(up.status, 200, up.text);
    const flow = up.json.flow_id;
    const counted = await refusals('code');
    for (let i = 0; i < LIMIT; i++) {
      const r = await b.post('/api/v1/verify', { flow_id: flow, code: '000000' });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error, 'invalid_code');
    }
    assertRateLimited(await b.post('/api/v1/verify', { flow_id: flow, code: '000000' }));
    // the refused code was never compared: the flow keeps its 2 tries left
    assert.equal(Number(sql(server, `SELECT attempts FROM email_flows WHERE id = '${flow}'`)[0].attempts), LIMIT);
    // the resend is in the same class
    assertRateLimited(await b.post('/api/v1/verify/resend', { flow_id: flow }));
    assert.equal(await refusals('code'), counted + 2);
  });

  test('SECURITY.md #43: registration: guesses of the initial access token use up the address\'s bucket; then even the right token gets 429 rate_limited', async () => {
    const from = new BrowserFrom(server, '127.0.104.1');
    const register = (headers) => from.raw('POST', '/register', {
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ client_name: 'Classes', redirect_uris: ['https://app.example.com/callback'] }),
    });
    const counted = await refusals('registration');
    for (let i = 0; i < LIMIT; i++) {
      const r = await register({ authorization: `Bearer guess-${randomHex(16)}` });
      assert.equal(r.status, 401, r.text);
    }
    assertRateLimited(await register(bearer()));
    assert.equal(await refusals('registration'), counted + 1);
    // the right token from another address registers
    const ok = await new BrowserFrom(server, '127.0.114.1').raw('POST', '/register', {
      headers: { 'content-type': 'application/json', ...bearer() },
      body: JSON.stringify({ client_name: 'Classes', redirect_uris: ['https://app.example.com/callback'] }),
    });
    assert.equal(ok.status, 201, ok.text);
  });
});
