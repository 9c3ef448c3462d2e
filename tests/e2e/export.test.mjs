// `gatehouse export` and `gatehouse import` (docs/migrating.md): a deployment
// moves from SQLite to PostgreSQL and back without losing users, passwords,
// sessions or audit events; a file that is truncated, malformed or names
// what the schema does not have changes nothing.
//
// Starts its own throwaway PostgreSQL cluster (scripts/pg.sh) whatever
// GATEHOUSE_TEST_DATABASE_URL says, and runs the source server on SQLite.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  REPO_ROOT, startServer, stopAll, runGatehouse, makeTempDir, scim, sql, tableNames, userBody,
  randomHex,
} from './lib/server.mjs';
import { startMailSink } from './lib/mail.mjs';

after(stopAll);

const PSQL = fs.existsSync('/usr/lib/postgresql/15/bin/psql') ? '/usr/lib/postgresql/15/bin/psql' : 'psql';

/** A client that keeps cookies and the CSRF token (as in multi.test.mjs). */
class Client {
  constructor() { this.jar = new Map(); this.csrf = null; }
  async call(server, method, p, data) {
    const headers = { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') };
    if (data !== undefined) {
      headers['content-type'] = 'application/json';
      headers['x-csrf-token'] = this.csrf;
    }
    const res = await fetch(`${server.url}${p}`, {
      method, headers, body: data === undefined ? undefined : JSON.stringify(data),
      signal: AbortSignal.timeout(15_000),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair.indexOf('=');
      if (/max-age=0/i.test(line)) this.jar.delete(pair.slice(0, i));
      else this.jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    const json = await res.json().catch(() => null);
    if (json?.csrf_token) this.csrf = json.csrf_token;
    return { status: res.status, json };
  }
  async signIn(server, email, password) {
    await this.call(server, 'GET', '/api/v1/session');
    return this.call(server, 'POST', '/api/v1/signin', { email, password });
  }
}

const strong = () => `Lighthouse-${randomHex(6)}-Meadow`;

/** Row counts of every table but schema_migrations (and SQLite's own). */
function counts(db) {
  const names = tableNames(db).filter((n) => n !== 'schema_migrations' && !n.startsWith('sqlite_')).sort();
  const rows = sql(db, names.map((t) => `SELECT '${t}' AS name, count(*) AS n FROM ${t}`).join(' UNION ALL '));
  return Object.fromEntries(rows.map((r) => [r.name, Number(r.n)]).sort());
}

/** The lines of an export without its header (which holds the time and the source). */
function body(file) {
  return fs.readFileSync(file, 'utf8').split('\n').slice(1);
}

/** Every SCIM user, sorted by id, without meta.location (it names the server). */
async function scimUsers(server) {
  const r = await scim(server, 'GET', '/Users?count=200');
  assert.equal(r.status, 200, r.text);
  return r.body.Resources
    .map((u) => ({ ...u, meta: { ...u.meta, location: undefined } }))
    .sort((x, y) => x.id.localeCompare(y.id));
}

describe('gatehouse export / import', () => {
  let pgDir;
  let pgUrl; // the cluster's "gatehouse" database: used to create others
  let work;
  let mail;
  const token = randomHex(32);
  const masterKey = randomHex(32);

  /** A new, empty PostgreSQL database on the test cluster; returns its URL. */
  function newPgDatabase() {
    const name = `gh_export_${randomHex(6)}`;
    execFileSync(PSQL, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', pgUrl, '-c', `CREATE DATABASE ${name}`],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    const u = new URL(pgUrl);
    u.pathname = `/${name}`;
    return u.toString();
  }

  /** Runs a one-shot command against database db. */
  function gatehouse(args, db, env = {}) {
    return runGatehouse(args, {
      env: { GATEHOUSE_DATABASE: db, GATEHOUSE_DATA_DIR: work, GATEHOUSE_LOG_LEVEL: 'warn', ...env },
      timeoutMs: 60_000,
    });
  }

  async function exportTo(db, file) {
    const r = await gatehouse(['export', file], db);
    assert.equal(r.code, 0, r.stderr);
    return r;
  }

  async function importFrom(db, file) {
    const r = await gatehouse(['import', file], db);
    assert.equal(r.code, 0, r.stderr);
    return r;
  }

  /** Writes lines (an array) as an export file; returns its path. */
  function writeLines(name, lines) {
    const f = path.join(work, name);
    fs.writeFileSync(f, lines.join('\n'));
    return f;
  }

  before(async () => {
    pgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-export-pg-'));
    fs.rmSync(pgDir, { recursive: true }); // pg.sh wants to create it (or find it empty)
    pgUrl = execFileSync('bash', [path.join(REPO_ROOT, 'scripts', 'pg.sh'), 'start', pgDir], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
    work = await makeTempDir();
    mail = await startMailSink();
  });

  after(async () => {
    await mail?.stop();
    if (pgDir) {
      execFileSync('bash', [path.join(REPO_ROOT, 'scripts', 'pg.sh'), 'stop', pgDir], { stdio: 'ignore' });
    }
  });

  // Filled by the first test, used by the rest.
  const src = { db: null, file: null, users: null, counts: null, auditIds: null, people: [] };
  let signedUp; // { email, password, client }
  let pgDb;

  test('SQLite → export → import into PostgreSQL → export again gives the same rows', async () => {
    src.db = path.join(work, 'src.db');
    const a = await startServer({
      token, masterKey, env: { GATEHOUSE_DATABASE: src.db, GATEHOUSE_SMTP_URL: mail.url },
    });
    // Users through SCIM, with passwords; one patched (version 2), one deleted.
    for (let i = 0; i < 4; i++) {
      const email = `move-${i}-${randomHex(3)}@example.com`;
      const password = strong();
      const r = await scim(a, 'POST', '/Users', userBody(email, { password, externalId: `ext-${i}`, displayName: `Mover ${i}` }));
      assert.equal(r.status, 201, r.text);
      src.people.push({ email, password, id: r.body.id });
    }
    const patched = await scim(a, 'PATCH', `/Users/${src.people[1].id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: 'displayName', value: 'Renamed Mover' }],
    });
    assert.equal(patched.status, 200, patched.text);
    assert.equal((await scim(a, 'DELETE', `/Users/${src.people[3].id}`)).status, 204);
    src.people.pop();
    // A signed-up account: sign-up, the code from the mail, signed in.
    signedUp = { email: `signup-${randomHex(3)}@example.com`, password: strong(), client: new Client() };
    await signedUp.client.call(a, 'GET', '/api/v1/session');
    const s = await signedUp.client.call(a, 'POST', '/api/v1/signup', { email: signedUp.email, password: signedUp.password });
    assert.equal(s.status, 200, JSON.stringify(s.json));
    const msg = await mail.waitFor((m) => JSON.stringify(m.to).includes(signedUp.email), 10_000);
    const code = /\b(\d{6})\b/.exec(msg.text)[1];
    const v = await signedUp.client.call(a, 'POST', '/api/v1/verify', { flow_id: s.json.flow_id, code });
    assert.equal(v.status, 200, JSON.stringify(v.json));
    // A failed sign-in leaves a throttle row and an audit event.
    assert.equal((await new Client().signIn(a, src.people[0].email, 'not-the-password')).status, 401);

    src.users = await scimUsers(a);
    assert.equal(src.users.length, 4);
    assert.equal(await a.stop(), 0);

    src.counts = counts(src.db);
    for (const t of ['users', 'credentials', 'sessions', 'email_flows', 'throttles', 'mail_outbox', 'mail_attempts', 'audit_events']) {
      assert.ok(src.counts[t] > 0, `the source should have ${t} rows: ${JSON.stringify(src.counts)}`);
    }
    src.auditIds = sql(src.db, 'SELECT seq, id FROM audit_events ORDER BY seq');

    src.file = path.join(work, 'sqlite.jsonl');
    const ex = await exportTo(src.db, src.file);
    assert.match(ex.stderr, /exported \d+ rows/);
    assert.equal((fs.statSync(src.file).mode & 0o777), 0o600, 'the export holds secrets: owner only');
    const lines = fs.readFileSync(src.file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    const header = lines[0];
    assert.equal(header.format, 'gatehouse-export');
    assert.equal(header.version, 1);
    assert.equal(header.schema_version, Number(sql(src.db, 'SELECT max(version) AS v FROM schema_migrations')[0].v));
    const trailer = lines.at(-1);
    assert.equal(trailer.end, true);
    assert.equal(trailer.rows, lines.length - 2);
    const total = Object.values(src.counts).reduce((x, y) => x + y, 0);
    assert.equal(trailer.rows, total, 'every row of every table is in the file');
    // Parents first; integer columns as integers; NULL as null.
    const order = lines.slice(1, -1).map((l) => l.t);
    assert.deepEqual(order.slice(0, 1), ['tenants']);
    assert.ok(order.lastIndexOf('users') < order.indexOf('credentials'));
    const user = lines.find((l) => l.t === 'users').r;
    assert.equal(typeof user.version, 'number');
    assert.equal(typeof user.created_at, 'number');
    assert.ok(Object.values(lines.find((l) => l.t === 'credentials').r).includes(null));

    pgDb = newPgDatabase();
    const im = await importFrom(pgDb, src.file);
    assert.match(im.stdout, /^\s+users\s+4$/m);
    assert.match(im.stdout, new RegExp(`^\\s+audit_events\\s+${src.counts.audit_events}$`, 'm'));
    assert.match(im.stderr, /same master key/, 'import reminds the operator of the master key');
    assert.deepEqual(counts(pgDb), src.counts);

    const again = path.join(work, 'pg.jsonl');
    await exportTo(pgDb, again);
    assert.deepEqual(body(again), body(src.file), 'PostgreSQL gives back byte for byte the rows it took');
    assert.equal(JSON.parse(fs.readFileSync(again, 'utf8').split('\n')[0]).source, 'postgresql');
  });

  test('a server on the PostgreSQL copy: same users, ids and versions; passwords, sessions and audit intact', async () => {
    assert.ok(pgDb, 'needs the first test');
    const b = await startServer({ token, masterKey, env: { GATEHOUSE_DATABASE: pgDb, GATEHOUSE_SMTP_URL: mail.url } });
    try {
      assert.deepEqual(await scimUsers(b), src.users);
      const one = await scim(b, 'GET', `/Users/${src.people[1].id}`);
      assert.equal(one.body.displayName, 'Renamed Mover');
      assert.equal(one.headers.get('etag'), src.users.find((u) => u.id === src.people[1].id).meta.version);

      // A SCIM user and the signed-up account sign in with their passwords.
      const c = new Client();
      const r = await c.signIn(b, src.people[2].email, src.people[2].password);
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal((await new Client().signIn(b, signedUp.email, signedUp.password)).status, 200);
      assert.equal((await new Client().signIn(b, src.people[2].email, src.people[0].password)).status, 401);
      // The session made on SQLite before the move is still signed in.
      const kept = await signedUp.client.call(b, 'GET', '/api/v1/session');
      assert.equal(kept.json.authenticated, true);
      assert.equal(kept.json.user.email, signedUp.email);

      // Every audit event is there with its number; new ones come after them.
      const moved = sql(pgDb, 'SELECT seq, id FROM audit_events ORDER BY seq').map((e) => ({ seq: Number(e.seq), id: e.id }));
      assert.deepEqual(moved.slice(0, src.auditIds.length), src.auditIds.map((e) => ({ seq: Number(e.seq), id: e.id })));
      assert.ok(moved.length > src.auditIds.length, 'the sign-ins were audited');
      const lastOld = Number(src.auditIds.at(-1).seq);
      assert.ok(moved.slice(src.auditIds.length).every((e) => e.seq > lastOld));
    } finally {
      await b.stop('SIGTERM', { keepData: true });
    }
  });

  test('PostgreSQL → export → import into a new SQLite file: same rows, and a server on it works', async () => {
    assert.ok(pgDb, 'needs the first test');
    const file = path.join(work, 'pg-after.jsonl');
    await exportTo(pgDb, file);
    const dst = path.join(work, 'nested', 'dst.db'); // the directory is created
    await importFrom(dst, file);
    assert.deepEqual(counts(dst), counts(pgDb));
    const back = path.join(work, 'sqlite-again.jsonl');
    await exportTo(dst, back);
    assert.deepEqual(body(back), body(file));

    const c = await startServer({ token, masterKey, env: { GATEHOUSE_DATABASE: dst } });
    try {
      assert.deepEqual(await scimUsers(c), src.users);
      assert.equal((await new Client().signIn(c, src.people[0].email, src.people[0].password)).status, 200);
      const seqs = sql(dst, 'SELECT seq FROM audit_events ORDER BY seq DESC LIMIT 2').map((e) => Number(e.seq));
      assert.ok(seqs[0] > seqs[1], 'new audit events continue the numbering');
    } finally {
      await c.stop();
    }
  });

  test('export to standard output writes the same rows', async () => {
    const r = await gatehouse(['export', '-'], src.db);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n').slice(1), body(src.file));
  });

  describe('refusals change nothing', () => {
    let target;

    before(async () => {
      // A migrated, empty PostgreSQL target; what it holds is compared after each refusal.
      target = newPgDatabase();
      const m = await gatehouse(['migrate'], target);
      assert.equal(m.code, 0, m.stderr);
    });

    function snapshot() {
      return {
        counts: counts(target),
        tenants: sql(target, 'SELECT id, name, created_at FROM tenants ORDER BY id'),
        seq: sql(target, "SELECT last_value, is_called FROM audit_events_seq_seq").at(0) ?? null,
      };
    }

    async function refused(file, expectCode, pattern) {
      const prior = snapshot();
      const r = await gatehouse(['import', file], target);
      assert.equal(r.code, expectCode, `exit code; stderr:\n${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.match(r.stderr, /nothing was imported/);
      assert.deepEqual(snapshot(), prior);
      return r;
    }

    test('a file without its trailer (truncated) is refused: exit 1, no row lands', async () => {
      const lines = fs.readFileSync(src.file, 'utf8').trimEnd().split('\n');
      const truncated = writeLines('no-trailer.jsonl', lines.slice(0, -1));
      await refused(truncated, 1, /trailer/);
      // The same on SQLite: the default tenant keeps its values, no user lands.
      const lite = path.join(work, 'truncated-target.db');
      assert.equal((await gatehouse(['migrate'], lite)).code, 0);
      const tenants = sql(lite, 'SELECT * FROM tenants');
      const fresh = counts(lite); // the default tenant and audit_legacy's one row
      const r = await gatehouse(['import', truncated], lite);
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(sql(lite, 'SELECT * FROM tenants'), tenants);
      assert.deepEqual(counts(lite), fresh);
      assert.equal(Object.values(fresh).reduce((x, y) => x + y, 0), 2);
    });

    test('a file cut in the middle of a line is refused', async () => {
      const text = fs.readFileSync(src.file, 'utf8');
      const cut = path.join(work, 'cut.jsonl');
      fs.writeFileSync(cut, text.slice(0, Math.floor(text.length * 0.6)));
      await refused(cut, 1, /line \d+|trailer/);
    });

    test('a trailer whose count does not match is refused', async () => {
      const lines = fs.readFileSync(src.file, 'utf8').trimEnd().split('\n');
      // One row gone: the last audit event, which no other row refers to.
      lines.splice(lines.findLastIndex((l) => JSON.parse(l).t === 'audit_events'), 1);
      await refused(writeLines('short.jsonl', lines), 1, /trailer counts/);
    });

    test('a row of an unknown table is refused', async () => {
      const lines = fs.readFileSync(src.file, 'utf8').trimEnd().split('\n');
      const trailer = JSON.parse(lines.pop());
      lines.splice(2, 0, JSON.stringify({ t: 'secrets', r: { id: 'x' } }));
      lines.push(JSON.stringify({ end: true, rows: trailer.rows + 1 }));
      await refused(writeLines('unknown-table.jsonl', lines), 1, /unknown table "secrets"/);
    });

    test('a column the table does not have is refused, never put into SQL', async () => {
      const lines = fs.readFileSync(src.file, 'utf8').trimEnd().split('\n');
      const i = lines.findIndex((l) => JSON.parse(l).t === 'users');
      const row = JSON.parse(lines[i]);
      row.r['id" text); DROP TABLE users; --'] = 'x';
      lines[i] = JSON.stringify(row);
      await refused(writeLines('unknown-column.jsonl', lines), 1, /has no column/);
      assert.ok(tableNames(target).includes('users'));
    });

    test('a missing column, a wrong type, or tables out of order are refused', async () => {
      const lines = fs.readFileSync(src.file, 'utf8').trimEnd().split('\n');
      const i = lines.findIndex((l) => JSON.parse(l).t === 'credentials');
      const missing = [...lines];
      const row = JSON.parse(missing[i]);
      delete row.r.data;
      missing[i] = JSON.stringify(row);
      await refused(writeLines('missing-column.jsonl', missing), 1, /has no column data/);

      const typed = [...lines];
      const row2 = JSON.parse(typed[i]);
      row2.r.created_at = 'yesterday';
      typed[i] = JSON.stringify(row2);
      await refused(writeLines('wrong-type.jsonl', typed), 1, /must be an integer/);

      const swapped = [...lines];
      const users = swapped.findIndex((l) => JSON.parse(l).t === 'users');
      [swapped[users], swapped[i]] = [swapped[i], swapped[users]];
      await refused(writeLines('out-of-order.jsonl', swapped), 1, /must come in order|conflicts/);
    });

    test('a row that conflicts (a duplicate key) rolls back everything before it', async () => {
      const lines = fs.readFileSync(src.file, 'utf8').trimEnd().split('\n');
      const trailer = JSON.parse(lines.pop());
      const last = lines.findLastIndex((l) => JSON.parse(l).t === 'audit_events');
      lines.splice(last + 1, 0, lines[last]);
      lines.push(JSON.stringify({ end: true, rows: trailer.rows + 1 }));
      await refused(writeLines('duplicate.jsonl', lines), 1, /conflicts/);
    });

    test('a file at another schema version, or of another format version, is refused with exit 2', async () => {
      const lines = fs.readFileSync(src.file, 'utf8').trimEnd().split('\n');
      const header = JSON.parse(lines[0]);
      await refused(writeLines('schema.jsonl', [JSON.stringify({ ...header, schema_version: 999 }), ...lines.slice(1)]), 2,
        /schema version 999/);
      await refused(writeLines('format.jsonl', [JSON.stringify({ ...header, version: 2 }), ...lines.slice(1)]), 2,
        /format version 2/);
    });

    test('a file that is not an export, or has an overlong line, is refused', async () => {
      await refused(writeLines('junk.jsonl', ['hello', '{}']), 1, /not a JSON object|header/);
      const lines = fs.readFileSync(src.file, 'utf8').trimEnd().split('\n');
      const huge = JSON.stringify({ t: 'users', r: { id: 'x'.repeat(17 << 20) } });
      await refused(writeLines('huge.jsonl', [lines[0], huge, ...lines.slice(1)]), 1, /longer than/);
    });

    test('after all that, the same target takes the good file', async () => {
      await importFrom(target, src.file);
      assert.deepEqual(counts(target), src.counts);
    });

    test('a database that already holds users is refused with exit 2', async () => {
      const r = await gatehouse(['import', src.file], target);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /already holds users/);
      // the database it opened, then one line of why
      const lines = r.stderr.trim().split('\n');
      assert.match(lines[0], /^gatehouse: database /);
      assert.equal(lines.length, 2, `one line after the database:\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /:[^@/]*@/, 'no password of a database URL');
      assert.deepEqual(counts(target), src.counts);
      // The same on SQLite.
      const s = await gatehouse(['import', src.file], src.db);
      assert.equal(s.code, 2, s.stderr);
      assert.match(s.stderr, /already holds users/);
    });
  });

  test('usage errors exit 2; help describes both commands', async () => {
    for (const args of [['export'], ['import'], ['export', 'a', 'b'], ['import', '--force', 'x']]) {
      const r = await gatehouse(args, src.db ?? path.join(work, 'x.db'));
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /usage: gatehouse (export|import) FILE/);
    }
    const missing = await gatehouse(['import', path.join(work, 'no-such-file.jsonl')], path.join(work, 'y.db'));
    assert.equal(missing.code, 2);
    const noDb = await gatehouse(['export', path.join(work, 'z.jsonl')], path.join(work, 'no-such.db'));
    assert.equal(noDb.code, 2);
    assert.match(noDb.stderr, /does not exist/);
    assert.ok(!fs.existsSync(path.join(work, 'no-such.db')), 'export does not create a database');
    for (const cmd of ['export', 'import']) {
      const h = await runGatehouse(['help', cmd]);
      assert.equal(h.code, 0, h.stderr);
      assert.match(h.stdout, new RegExp(`Usage: gatehouse ${cmd} FILE`));
      assert.match(h.stdout, /master key/);
    }
    const u = await runGatehouse(['--help']);
    assert.match(u.stdout, /\bexport\b/);
    assert.match(u.stdout, /\bimport\b/);
  });
});
