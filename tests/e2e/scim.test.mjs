// SCIM 2.0 (RFC 7643 / RFC 7644) Users at /scim/v2, authenticated with the
// admin bearer token, checked over HTTP and against what lands in the
// database (SQLite, or PostgreSQL when GATEHOUSE_TEST_DATABASE_URL is set).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startServer, stopAll, scim, sql, databaseContains, userBody, randomHex,
  SCIM_USER_SCHEMA, SCIM_ERROR_SCHEMA, SCIM_LIST_SCHEMA, SCIM_PATCH_SCHEMA,
} from './lib/server.mjs';

after(stopAll);

// ---------------------------------------------------------------- helpers

/** A password no policy should refuse: long, random, no context words. */
function strongPassword() {
  return `Quartz-${randomHex(10)}-Meadow-${randomHex(4)}`;
}

function assertScimError(r, status, scimTypes) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/scim\+json\b/, 'SCIM errors are application/scim+json');
  assert.ok(r.body, `SCIM error body should be JSON: ${r.text}`);
  assert.deepEqual(r.body.schemas, [SCIM_ERROR_SCHEMA]);
  assert.equal(r.body.status, String(status), 'status is the code as a string');
  assert.equal(typeof r.body.detail, 'string');
  if (scimTypes) {
    const allowed = [].concat(scimTypes);
    assert.ok(allowed.includes(r.body.scimType), `scimType ${r.body.scimType} not in ${allowed.join('|')}`);
  }
}

/** True if any object key anywhere in v is "password" (any case). */
function hasPasswordKey(v) {
  if (Array.isArray(v)) return v.some(hasPasswordKey);
  if (v && typeof v === 'object') {
    return Object.entries(v).some(([k, x]) => k.toLowerCase() === 'password' || hasPasswordKey(x));
  }
  return false;
}

function assertNoPassword(r, password) {
  assert.ok(!hasPasswordKey(r.body), `a response must never carry a password: ${r.text}`);
  if (password) assert.ok(!r.text.includes(password), 'the plaintext password leaked into a response');
}

function userCount(server) {
  return sql(server, 'SELECT count(*) AS n FROM users')[0].n;
}

/** The users row for a SCIM id (whichever column holds it). */
function userRow(server, id) {
  // PostgreSQL tables have no rowid: the id column is the only key there.
  const rows = sql(server, server.backend === 'sqlite' ? 'SELECT rowid AS _rowid, * FROM users' : 'SELECT * FROM users');
  return rows.find((r) => Object.values(r).includes(id));
}

/** The values by which other tables may refer to a user. */
function userKeys(server, id) {
  const row = userRow(server, id);
  assert.ok(row, `no users row holds the SCIM id ${id}`);
  return new Set([id, row.id, row._rowid].filter((v) => v !== undefined && v !== null));
}

/** The password credential rows of a user. */
function passwordCredentials(server, id) {
  const keys = userKeys(server, id);
  const rows = sql(server, "SELECT * FROM credentials WHERE type = 'password'");
  return rows.filter((c) => ('user_id' in c ? keys.has(c.user_id) : Object.values(c).some((v) => keys.has(v))));
}

/** Audit rows of a type whose subject is the user. */
function auditRows(server, type, id) {
  const keys = userKeys(server, id);
  return sql(server, `SELECT * FROM audit_events WHERE type = '${type}'`)
    .filter((r) => keys.has(r.subject) || String(r.subject ?? '').includes(id));
}

function assertAudited(server, type, id) {
  const rows = auditRows(server, type, id);
  assert.equal(rows.length >= 1, true, `no audit_events row of type ${type} for user ${id}:\n${JSON.stringify(sql(server, 'SELECT * FROM audit_events'), null, 1)}`);
  for (const row of rows) {
    for (const col of ['type', 'subject', 'actor', 'outcome']) assert.ok(col in row, `audit_events has no column ${col}`);
    assert.equal(typeof row.actor, 'string');
    assert.notEqual(row.actor, '', 'the audit row should name the actor');
    assert.equal(typeof row.outcome, 'string');
    assert.notEqual(row.outcome, '');
  }
}

/**
 * Parses "$argon2id$v=19$m=65536,t=2,p=1$salt$hash" and checks it against
 * the OWASP Password Storage minimums for argon2id (SECURITY.md #10 /
 * ASVS 11.4.2): one of m=47104/t=1, 19456/2, 12288/3, 9216/4, 7168/5; a salt
 * of at least 32 bits.
 */
function assertArgon2id(hash) {
  assert.match(hash, /^\$argon2id\$/, `not an argon2id hash: ${String(hash).slice(0, 20)}`);
  const m = /^\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(hash);
  assert.ok(m, `malformed argon2id string: ${hash}`);
  const [, , mem, iters] = m.map(Number);
  const floors = [[47104, 1], [19456, 2], [12288, 3], [9216, 4], [7168, 5]];
  assert.ok(floors.some(([fm, ft]) => mem >= fm && iters >= ft), `argon2id m=${mem} t=${iters} is below the OWASP minimum`);
  const salt = Buffer.from(m[5], 'base64');
  assert.ok(salt.length >= 4, `salt of ${salt.length} bytes is under 32 bits`);
  return { salt: m[5], digest: m[6] };
}

function filterPath(filter, extra = '') {
  return `/Users?filter=${encodeURIComponent(filter)}${extra}`;
}

// ---------------------------------------------------------------- tests

describe('SCIM authentication', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server?.stop(); });

  test('missing or wrong bearer token → 401 with WWW-Authenticate: Bearer and a SCIM error (ASVS 5.0 8.2.1 [4.0.3 4.1.1] access control on admin APIs)', async () => {
    const t = server.token;
    const variants = {
      'no Authorization': { token: null },
      'wrong token of the same length': { token: randomHex(32) },
      'a prefix of the token': { token: t.slice(0, -1) },
      'the token plus a character': { token: `${t}0` },
      'empty bearer': { headers: { authorization: 'Bearer ' } },
      'right token, Basic scheme': { headers: { authorization: `Basic ${Buffer.from(`admin:${t}`).toString('base64')}` } },
    };
    const before = userCount(server);
    for (const [what, opts] of Object.entries(variants)) {
      for (const [method, body] of [['GET', undefined], ['POST', userBody('intruder@example.com')]]) {
        const r = await scim(server, method, '/Users', body, opts);
        assertScimError(r, 401);
        assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer\b/, `${what}: WWW-Authenticate`);
        assert.equal(r.body.Resources, undefined, `${what}: no data without auth`);
      }
    }
    assert.equal(userCount(server), before, 'an unauthenticated POST must not create a user');
    const ok = await scim(server, 'GET', '/Users');
    assert.equal(ok.status, 200, 'the right token works');
  });

  test('the admin token never appears in the logs (SECURITY.md #47 / ASVS 16.3, 16.2.5)', async () => {
    await scim(server, 'GET', '/Users');
    await scim(server, 'GET', '/Users', undefined, { token: `${server.token}x` });
    for (const line of server.logs()) assert.ok(!line.includes(server.token), `token in log: ${line}`);
  });
});

describe('SCIM Users: create, read, replace, patch, delete', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server?.stop(); });

  test('POST /Users → 201 with Location, ETag and the resource; password stored as argon2id (SECURITY.md #10 / ASVS 11.4.2), never returned (RFC 7643 returned:never)', async () => {
    const password = strongPassword();
    const body = userBody('created@example.com', {
      password, displayName: 'Created User', externalId: 'ext-created-1',
    });
    const r = await scim(server, 'POST', '/Users', body);
    assert.equal(r.status, 201, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^application\/scim\+json\b/);
    const u = r.body;
    assert.equal(typeof u.id, 'string');
    assert.ok(u.id.length > 0);
    assert.ok(u.schemas.includes(SCIM_USER_SCHEMA));
    assert.equal(u.userName, 'created@example.com');
    assert.equal(u.name.givenName, 'Created');
    assert.equal(u.name.familyName, 'Tester');
    assert.equal(u.displayName, 'Created User');
    assert.equal(u.externalId, 'ext-created-1');
    assert.equal(u.emails.length, 1);
    assert.equal(u.emails[0].value, 'created@example.com');
    assert.equal(u.emails[0].primary, true);
    assert.equal(u.active, true, 'active defaults to true');

    const location = `${server.issuer}/scim/v2/Users/${u.id}`;
    assert.equal(r.headers.get('location'), location);
    const etag = r.headers.get('etag');
    assert.ok(etag, 'ETag header');
    assert.equal(u.meta.resourceType, 'User');
    assert.equal(u.meta.location, location);
    assert.equal(u.meta.version, etag);
    assert.ok(!Number.isNaN(Date.parse(u.meta.created)), `meta.created: ${u.meta.created}`);
    assert.ok(!Number.isNaN(Date.parse(u.meta.lastModified)), `meta.lastModified: ${u.meta.lastModified}`);
    assertNoPassword(r, password);

    const creds = passwordCredentials(server, u.id);
    assert.equal(creds.length, 1, 'one password credential');
    assertArgon2id(creds[0].data);
    assert.ok(!databaseContains(server, password), 'plaintext password found in the database');
    for (const line of server.logs()) assert.ok(!line.includes(password), `password in log (SECURITY.md #47): ${line}`);
    assertAudited(server, 'scim.user.created', u.id);
  });

  test('each password hash has its own salt (SECURITY.md #10 / ASVS 11.4.2)', async () => {
    const password = strongPassword();
    const a = await scim(server, 'POST', '/Users', userBody('salt-a@example.com', { password }));
    const b = await scim(server, 'POST', '/Users', userBody('salt-b@example.com', { password }));
    assert.equal(a.status, 201, a.text);
    assert.equal(b.status, 201, b.text);
    const ha = assertArgon2id(passwordCredentials(server, a.body.id)[0].data);
    const hb = assertArgon2id(passwordCredentials(server, b.body.id)[0].data);
    assert.notEqual(ha.salt, hb.salt);
    assert.notEqual(ha.digest, hb.digest);
  });

  test('POST with content-type application/json is accepted too', async () => {
    const r = await scim(server, 'POST', '/Users', userBody('plainjson@example.com'), {
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(r.status, 201, r.text);
  });

  test('an administrator-set password follows the same policy: short, common or containing the email → 400 (SECURITY.md #1, #4, #5)', async () => {
    const before = userCount(server);
    for (const password of ['short', '1234567890qwerty', 'policyuser-Orchard-99']) {
      const r = await scim(server, 'POST', '/Users', userBody('policyuser@example.com', { password }));
      assertScimError(r, 400, 'invalidValue');
      assert.match(r.body.detail, /^password: /);
    }
    assert.equal(userCount(server), before);
  });

  test('POST with a non-JSON content type → 415 and no user', async () => {
    const before = userCount(server);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx']) {
      const r = await scim(server, 'POST', '/Users', userBody(`ctype-${randomHex(4)}@example.com`), {
        headers: { 'content-type': type },
      });
      assertScimError(r, 415);
    }
    assert.equal(userCount(server), before);
  });

  test('userName is case-insensitive: a duplicate in any case → 409 uniqueness, no new user', async () => {
    const r = await scim(server, 'POST', '/Users', userBody('Alice@Example.com'));
    assert.equal(r.status, 201, r.text);
    const before = userCount(server);
    for (const dup of ['alice@example.com', 'Alice@Example.com', 'ALICE@EXAMPLE.COM']) {
      const d = await scim(server, 'POST', '/Users', userBody(dup));
      assertScimError(d, 409, 'uniqueness');
    }
    assert.equal(userCount(server), before);
    const found = await scim(server, 'GET', filterPath('userName eq "aLiCe@eXaMpLe.cOm"'));
    assert.equal(found.status, 200, found.text);
    assert.equal(found.body.totalResults, 1);
    assert.equal(found.body.Resources[0].id, r.body.id);
  });

  test('concurrent creates of one userName: exactly one 201, the rest 409, one row stored', async () => {
    const password = strongPassword();
    const results = await Promise.all([0, 1, 2, 3].map((i) => scim(server, 'POST', '/Users',
      userBody(i % 2 ? 'Race@Example.com' : 'race@example.com', { password }))));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, 409, 409, 409], results.map((r) => r.text).join('\n'));
    const rows = sql(server, 'SELECT * FROM users').filter((u) => JSON.stringify(u).toLowerCase().includes('race@example.com'));
    assert.equal(rows.length, 1);
    const created = results.find((r) => r.status === 201).body;
    assert.equal(passwordCredentials(server, created.id).length, 1, 'no orphan credentials from the losers');
  });

  test('a deleted user\'s userName can be provisioned again', async () => {
    const a = await scim(server, 'POST', '/Users', userBody('again@example.com'));
    assert.equal(a.status, 201, a.text);
    assert.equal((await scim(server, 'DELETE', `/Users/${a.body.id}`)).status, 204);
    const b = await scim(server, 'POST', '/Users', userBody('again@example.com'));
    assert.equal(b.status, 201, b.text);
    assert.notEqual(b.body.id, a.body.id);
  });

  test('PUT that renames a user onto another user\'s userName → 409 uniqueness, nothing changes', async () => {
    const a = await scim(server, 'POST', '/Users', userBody('put-owner@example.com'));
    const b = await scim(server, 'POST', '/Users', userBody('put-other@example.com'));
    assert.equal(a.status, 201, a.text);
    assert.equal(b.status, 201, b.text);
    const r = await scim(server, 'PUT', `/Users/${b.body.id}`, userBody('PUT-OWNER@example.com', {
      emails: [{ value: 'put-other@example.com', primary: true }],
    }));
    assertScimError(r, 409, 'uniqueness');
    const g = await scim(server, 'GET', `/Users/${b.body.id}`);
    assert.equal(g.body.userName, 'put-other@example.com');
    assert.equal(g.body.meta.version, b.body.meta.version);
  });

  test('invalid bodies → 400 and no user: missing userName, malformed JSON, broken UTF-8, nesting depth 100', async () => {
    const before = userCount(server);
    const noName = userBody('x@example.com');
    delete noName.userName;
    assertScimError(await scim(server, 'POST', '/Users', noName), 400, 'invalidValue');

    assertScimError(await scim(server, 'POST', '/Users', '{"schemas":["' + SCIM_USER_SCHEMA + '"],"userName":'), 400, 'invalidSyntax');

    const badUtf8 = Buffer.concat([
      Buffer.from(`{"schemas":["${SCIM_USER_SCHEMA}"],"userName":"bad`),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('@example.com"}'),
    ]);
    assertScimError(await scim(server, 'POST', '/Users', badUtf8), 400);

    const deep = `{"schemas":["${SCIM_USER_SCHEMA}"],"userName":"deep@example.com","displayName":${'['.repeat(100)}${']'.repeat(100)}}`;
    assertScimError(await scim(server, 'POST', '/Users', deep), 400);

    assert.equal(userCount(server), before, 'no invalid body may create a user');
    const live = await fetch(`${server.url}/healthz/live`);
    assert.equal(live.status, 200);
  });

  test('GET /Users/<id> → 200 with ETag = meta.version; unknown id → 404 SCIM error', async () => {
    const password = strongPassword();
    const c = await scim(server, 'POST', '/Users', userBody('getme@example.com', { password }));
    assert.equal(c.status, 201, c.text);
    const r = await scim(server, 'GET', `/Users/${c.body.id}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.id, c.body.id);
    assert.equal(r.body.userName, 'getme@example.com');
    assert.equal(r.headers.get('etag'), r.body.meta.version);
    assert.equal(r.body.meta.version, c.body.meta.version);
    assertNoPassword(r, password);
    const listed = await scim(server, 'GET', filterPath('userName eq "getme@example.com"'));
    assert.equal(listed.body.totalResults, 1);
    assertNoPassword(listed, password);

    assertScimError(await scim(server, 'GET', '/Users/00000000-0000-4000-8000-000000000000'), 404);
    assertScimError(await scim(server, 'GET', '/Users/no-such-user'), 404);
  });

  test('PUT /Users/<id> replaces the resource: new version, lastModified not earlier', async () => {
    const c = await scim(server, 'POST', '/Users', userBody('putme@example.com', {
      displayName: 'Before Put', externalId: 'ext-put',
    }));
    assert.equal(c.status, 201, c.text);
    const id = c.body.id;
    const replacement = {
      schemas: [SCIM_USER_SCHEMA],
      userName: 'putme@example.com',
      name: { givenName: 'Replaced', familyName: 'Person' },
      emails: [{ value: 'replaced@example.org', primary: true }],
      active: false,
    };
    const r = await scim(server, 'PUT', `/Users/${id}`, replacement);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.id, id);
    assert.equal(r.body.name.givenName, 'Replaced');
    assert.equal(r.body.name.familyName, 'Person');
    assert.equal(r.body.emails[0].value, 'replaced@example.org');
    assert.equal(r.body.active, false);
    assert.equal(r.body.displayName, undefined, 'attributes left out of a PUT are cleared');
    assert.notEqual(r.body.meta.version, c.body.meta.version, 'meta.version must change');
    assert.equal(r.headers.get('etag'), r.body.meta.version);
    assert.ok(Date.parse(r.body.meta.lastModified) >= Date.parse(c.body.meta.lastModified));
    assert.equal(Date.parse(r.body.meta.created), Date.parse(c.body.meta.created));

    const g = await scim(server, 'GET', `/Users/${id}`);
    assert.equal(g.body.name.givenName, 'Replaced');
    assert.equal(g.body.active, false);
    assert.equal(g.body.meta.version, r.body.meta.version);
    assertAudited(server, 'scim.user.updated', id);
  });

  test('PATCH replace active / "Replace" without path (Entra) / name.givenName / emails', async () => {
    const c = await scim(server, 'POST', '/Users', userBody('patchme@example.com'));
    assert.equal(c.status, 201, c.text);
    const id = c.body.id;
    const patch = (ops) => scim(server, 'PATCH', `/Users/${id}`, { schemas: [SCIM_PATCH_SCHEMA], Operations: ops });

    let r = await patch([{ op: 'replace', path: 'active', value: false }]);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.active, false);
    assert.notEqual(r.body.meta.version, c.body.meta.version);
    assert.equal((await scim(server, 'GET', `/Users/${id}`)).body.active, false);

    r = await patch([{ op: 'Replace', value: { active: true } }]);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.active, true);

    r = await patch([{ op: 'replace', path: 'name.givenName', value: 'Patched' }]);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.name.givenName, 'Patched');
    assert.equal(r.body.name.familyName, 'Tester', 'other sub-attributes stay');

    r = await patch([{ op: 'replace', path: 'emails', value: [{ value: 'new-address@example.org', primary: true }] }]);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.emails.map((e) => e.value), ['new-address@example.org']);

    const g = await scim(server, 'GET', `/Users/${id}`);
    assert.equal(g.body.name.givenName, 'Patched');
    assert.deepEqual(g.body.emails.map((e) => e.value), ['new-address@example.org']);
    assert.equal(g.headers.get('etag'), r.body.meta.version);
    assertAudited(server, 'scim.user.updated', id);
  });

  test('PATCH replace password: the stored argon2id hash changes, no password in the response (SECURITY.md #10)', async () => {
    const first = strongPassword();
    const c = await scim(server, 'POST', '/Users', userBody('newpass@example.com', { password: first }));
    assert.equal(c.status, 201, c.text);
    const before = passwordCredentials(server, c.body.id);
    assert.equal(before.length, 1);
    const second = strongPassword();
    const r = await scim(server, 'PATCH', `/Users/${c.body.id}`, {
      schemas: [SCIM_PATCH_SCHEMA], Operations: [{ op: 'replace', path: 'password', value: second }],
    });
    assert.equal(r.status, 200, r.text);
    assertNoPassword(r, second);
    const after = passwordCredentials(server, c.body.id);
    assert.equal(after.length, 1, 'still exactly one password credential');
    assertArgon2id(after[0].data);
    assert.notEqual(after[0].data, before[0].data);
    assert.ok(!databaseContains(server, second), 'plaintext password in the database');
  });

  test('PATCH with a stale If-Match → 412 and nothing changes; the current ETag works', async () => {
    const c = await scim(server, 'POST', '/Users', userBody('ifmatch@example.com'));
    assert.equal(c.status, 201, c.text);
    const id = c.body.id;
    const stale = c.headers.get('etag');
    const op = (value) => ({ schemas: [SCIM_PATCH_SCHEMA], Operations: [{ op: 'replace', path: 'displayName', value }] });

    const first = await scim(server, 'PATCH', `/Users/${id}`, op('First'), { headers: { 'if-match': stale } });
    assert.equal(first.status, 200, first.text);
    const current = first.headers.get('etag');
    assert.notEqual(current, stale);

    const r = await scim(server, 'PATCH', `/Users/${id}`, op('Lost update'), { headers: { 'if-match': stale } });
    assertScimError(r, 412);
    const g = await scim(server, 'GET', `/Users/${id}`);
    assert.equal(g.body.displayName, 'First');
    assert.equal(g.body.meta.version, current);

    const ok = await scim(server, 'PATCH', `/Users/${id}`, op('Second'), { headers: { 'if-match': current } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.displayName, 'Second');
  });

  test('PATCH on an unknown attribute path → 400 invalidPath/noTarget, nothing changes', async () => {
    const c = await scim(server, 'POST', '/Users', userBody('badpath@example.com'));
    assert.equal(c.status, 201, c.text);
    const r = await scim(server, 'PATCH', `/Users/${c.body.id}`, {
      schemas: [SCIM_PATCH_SCHEMA],
      Operations: [
        { op: 'replace', path: 'active', value: false },
        { op: 'replace', path: 'noSuchAttribute', value: 'x' },
      ],
    });
    assertScimError(r, 400, ['invalidPath', 'noTarget']);
    const g = await scim(server, 'GET', `/Users/${c.body.id}`);
    assert.equal(g.body.active, true, 'a failed PATCH applies none of its operations');
    assert.equal(g.body.meta.version, c.body.meta.version);
  });

  test('DELETE /Users/<id> → 204; then GET → 404 and DELETE → 404; audited', async () => {
    const c = await scim(server, 'POST', '/Users', userBody('deleteme@example.com'));
    assert.equal(c.status, 201, c.text);
    const id = c.body.id;
    const keys = userKeys(server, id);
    const d = await scim(server, 'DELETE', `/Users/${id}`);
    assert.equal(d.status, 204, d.text);
    assert.equal(d.text, '');
    assertScimError(await scim(server, 'GET', `/Users/${id}`), 404);
    assertScimError(await scim(server, 'DELETE', `/Users/${id}`), 404);
    const list = await scim(server, 'GET', filterPath('userName eq "deleteme@example.com"'));
    assert.equal(list.body.totalResults, 0);
    // the deleted user's events stay under a pseudonym, the id is gone
    // (docs/accounts-api.md "What deletion keeps")
    for (const k of [...keys, id])
      assert.equal(sql(server, `SELECT count(*) AS n FROM audit_events WHERE subject = '${k}'`)[0].n, 0, k);
    const rows = sql(server, "SELECT * FROM audit_events WHERE type = 'scim.user.deleted' ORDER BY seq DESC");
    assert.ok(rows.length >= 1, 'a scim.user.deleted audit event');
    assert.match(rows[0].subject, /^pseud:[A-Za-z0-9_-]{22}$/);
    assert.equal(sql(server, `SELECT count(*) AS n FROM audit_events WHERE subject = '${rows[0].subject}' AND type = 'scim.user.created'`)[0].n, 1);
    assert.notEqual(rows[0].actor ?? '', '');
  });
});

describe('SCIM Users: list, filter and paging', () => {
  let server;
  const users = [];
  const specs = [
    ['alice@example.com', { emails: [{ value: 'alice.work@corp.example', primary: true }] }],
    ['albert@example.com', { active: false, emails: [{ value: 'albert@corp.example', primary: true }] }],
    ['bob@example.com', {}],
    ['carol@example.com', { active: false }],
    ['dave@example.com', {}],
  ];
  before(async () => {
    server = await startServer();
    for (const [name, extra] of specs) {
      const r = await scim(server, 'POST', '/Users', userBody(name, extra));
      assert.equal(r.status, 201, r.text);
      users.push(r.body);
    }
  });
  after(async () => { await server?.stop(); });

  const names = (r) => r.body.Resources.map((u) => u.userName);

  function assertList(r, total) {
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^application\/scim\+json\b/);
    assert.deepEqual(r.body.schemas, [SCIM_LIST_SCHEMA]);
    assert.equal(r.body.totalResults, total, r.text);
    assert.equal(typeof r.body.startIndex, 'number');
    assert.equal(typeof r.body.itemsPerPage, 'number');
    assert.equal(r.body.itemsPerPage, r.body.Resources?.length ?? 0);
    if (total > 0) assert.ok(Array.isArray(r.body.Resources));
  }

  test('no filter → all users in creation order', async () => {
    const r = await scim(server, 'GET', '/Users');
    assertList(r, 5);
    assert.deepEqual(r.body.Resources.map((u) => u.id), users.map((u) => u.id));
  });

  test('filter userName eq', async () => {
    const r = await scim(server, 'GET', filterPath('userName eq "alice@example.com"'));
    assertList(r, 1);
    assert.equal(r.body.Resources[0].id, users[0].id);
  });

  test('filter emails.value eq', async () => {
    const r = await scim(server, 'GET', filterPath('emails.value eq "albert@corp.example"'));
    assertList(r, 1);
    assert.deepEqual(names(r), ['albert@example.com']);
  });

  test('filter userName sw', async () => {
    const r = await scim(server, 'GET', filterPath('userName sw "a"'));
    assertList(r, 2);
    assert.deepEqual(names(r), ['alice@example.com', 'albert@example.com']);
  });

  test('filter active eq false', async () => {
    const r = await scim(server, 'GET', filterPath('active eq false'));
    assertList(r, 2);
    assert.deepEqual(names(r), ['albert@example.com', 'carol@example.com']);
  });

  test('filters combined with and / or', async () => {
    const and = await scim(server, 'GET', filterPath('userName sw "a" and active eq false'));
    assertList(and, 1);
    assert.deepEqual(names(and), ['albert@example.com']);
    const or = await scim(server, 'GET', filterPath('userName eq "bob@example.com" or userName eq "dave@example.com"'));
    assertList(or, 2);
    assert.deepEqual(names(or), ['bob@example.com', 'dave@example.com']);
  });

  test('sw/co values are literals, not SQL LIKE patterns ("%" and "_" match nothing here)', async () => {
    for (const f of ['userName sw "%"', 'userName sw "_"', 'userName co "%"', 'userName sw "a%"', 'userName sw "_lice"']) {
      const r = await scim(server, 'GET', filterPath(f));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.totalResults, 0, `${f} matched ${r.body.Resources?.map((u) => u.userName).join(', ')}`);
    }
  });

  test('a filter matching nothing → totalResults 0', async () => {
    const r = await scim(server, 'GET', filterPath('userName eq "nobody@example.com"'));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.totalResults, 0);
    assert.equal((r.body.Resources ?? []).length, 0);
  });

  test('an invalid filter → 400 invalidFilter', async () => {
    for (const f of ['userName eq', 'userName zz "x"', '(userName eq "a"', 'userName eq "a" and', '"just a string"']) {
      assertScimError(await scim(server, 'GET', filterPath(f)), 400, 'invalidFilter');
    }
  });

  test('paging: startIndex=2&count=2 of 5 users', async () => {
    const r = await scim(server, 'GET', '/Users?startIndex=2&count=2');
    assertList(r, 5);
    assert.equal(r.body.startIndex, 2);
    assert.equal(r.body.itemsPerPage, 2);
    assert.deepEqual(r.body.Resources.map((u) => u.id), [users[1].id, users[2].id]);
    const last = await scim(server, 'GET', '/Users?startIndex=5&count=2');
    assertList(last, 5);
    assert.deepEqual(last.body.Resources.map((u) => u.id), [users[4].id]);
  });
});

describe('SCIM discovery', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server?.stop(); });

  test('GET /ServiceProviderConfig: patch, filter (with maxResults) and etag supported', async () => {
    const r = await scim(server, 'GET', '/ServiceProviderConfig');
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^application\/scim\+json\b/);
    assert.ok(r.body.schemas.includes('urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'));
    assert.equal(r.body.patch?.supported, true);
    assert.equal(r.body.filter?.supported, true);
    assert.equal(typeof r.body.filter.maxResults, 'number');
    assert.ok(r.body.filter.maxResults > 0);
    assert.equal(r.body.etag?.supported, true);
    assert.ok(Array.isArray(r.body.authenticationSchemes));
  });

  test('GET /Schemas lists the User schema with userName', async () => {
    const r = await scim(server, 'GET', '/Schemas');
    assert.equal(r.status, 200, r.text);
    const list = r.body.Resources ?? r.body;
    if (r.body.Resources) assert.deepEqual(r.body.schemas, [SCIM_LIST_SCHEMA]);
    const user = list.find((s) => s.id === SCIM_USER_SCHEMA);
    assert.ok(user, 'the User schema is listed');
    assert.ok(user.schemas.includes('urn:ietf:params:scim:schemas:core:2.0:Schema'));
    const userName = user.attributes.find((a) => a.name === 'userName');
    assert.ok(userName, 'userName attribute');
    assert.equal(userName.required, true);
    assert.equal(userName.uniqueness, 'server');
    const pw = user.attributes.find((a) => a.name === 'password');
    if (pw) assert.equal(pw.returned, 'never');
  });

  test('GET /ResourceTypes lists User at /Users', async () => {
    const r = await scim(server, 'GET', '/ResourceTypes');
    assert.equal(r.status, 200, r.text);
    const list = r.body.Resources ?? r.body;
    if (r.body.Resources) assert.deepEqual(r.body.schemas, [SCIM_LIST_SCHEMA]);
    const user = list.find((t) => t.name === 'User');
    assert.ok(user, 'the User resource type is listed');
    assert.ok(user.schemas.includes('urn:ietf:params:scim:schemas:core:2.0:ResourceType'));
    assert.equal(user.endpoint, '/Users');
    assert.equal(user.schema, SCIM_USER_SCHEMA);
  });
});
