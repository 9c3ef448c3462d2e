// The audit log's hash chain (issue 22 item 8, docs/audit.md; SECURITY.md
// #47: authentication events are logged, and a change to the log is
// detected). After a scripted journey `gatehouse audit verify` passes; a
// row altered or deleted by someone with database access (the append-only
// trigger dropped first, as such an attacker would) makes it exit 1 naming
// the event; a deleted customer's erasure and an export/import keep it
// passing (on PostgreSQL also into a fresh PostgreSQL database, and through
// SQLite and back); two instances appending at once on one database never
// fork a chain; a checkpoint falls due by time as well as by count, and its
// signature is checked. Runs on SQLite, and on PostgreSQL when
// GATEHOUSE_TEST_DATABASE_URL is set.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import {
  startServer, stopAll, runGatehouse, scim, sql, sqlExec, userBody, randomHex, makeTempDir, freshDatabase, sleep,
} from './lib/server.mjs';
import { Browser, newUser, signedIn } from './lib/browser.mjs';
import { registerClient, codeTokens, refresh } from './lib/oidc.mjs';

// The server of the time-based checkpoint (the last test): checkpoints by
// count out of reach (the maximum, 1000000) and by time after the minimum, a
// minute. Started and given its first events here, so that most of the
// minute it waits for passes while the other tests run.
const MINUTE_ENV = { GATEHOUSE_AUDIT_CHECKPOINT_EVENTS: '1000000', GATEHOUSE_AUDIT_CHECKPOINT_MINUTES: '1' };

const ctx = {};
before(async () => {
  ctx.server = await startServer({ env: { GATEHOUSE_AUDIT_CHECKPOINT_EVENTS: '5' } });
  ctx.timed = await startServer({ env: MINUTE_ENV });
  for (let i = 0; i < 3; i++) await scimUser(ctx.timed, `early${i}`);
  await sealed(ctx.timed);
});
after(stopAll);

/** A user made through SCIM on server s (one scim.user.created event); its id. */
async function scimUser(s, name) {
  const r = await scim(s, 'POST', '/Users', userBody(`${name}-${randomHex(3)}@example.com`));
  assert.equal(r.status, 201, r.text);
  return r.body.id;
}

/** `gatehouse ARGS` against database db (default: the server's) with its master key. */
const gatehouse = (args, db = ctx.server.dbPath) =>
  runGatehouse(args, { env: { ...ctx.server.env, GATEHOUSE_DATABASE: db }, timeoutMs: 60_000 });
const verify = (db) => gatehouse(['audit', 'verify'], db);
const isPg = () => ctx.server.backend === 'postgres';

/**
 * What an attacker with database access does first: an append-only trigger
 * out of the way (SQLite: the one named; PostgreSQL: the table's own ones).
 */
function dropTrigger(target, name = 'audit_no_update', table = 'audit_events') {
  sqlExec(target, /^postgres/.test(target)
    ? `ALTER TABLE ${table} DISABLE TRIGGER USER`
    : `DROP TRIGGER IF EXISTS ${name}`);
}
const dropDeleteTrigger = (target) => dropTrigger(target, 'audit_no_delete');
const dropCheckpointTrigger = (target) => dropTrigger(target, 'audit_checkpoints_no_update', 'audit_checkpoints');

/**
 * Waits until the sealer of server s has chained every event (it runs
 * moments after each request's commit, docs/audit.md "Appending"); the ms
 * it took. Rows that can never be sealed are left out with `except`.
 */
async function sealed(s, except = "''") {
  const t0 = Date.now();
  for (;;) {
    const [r] = sql(s, `SELECT count(*) AS n FROM audit_events WHERE hash IS NULL AND id NOT IN (${except})`);
    if (Number(r.n) === 0) return Date.now() - t0;
    assert.ok(Date.now() - t0 < 10_000, `${r.n} events still unsealed after 10 s`);
    await sleep(10);
  }
}

/** The value of one series of s's /metrics (0 when absent). */
async function metric(s, series) {
  const res = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${s.token}` } });
  assert.equal(res.status, 200);
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
const SEALED = 'gatehouse_audit_sealed_total{result="sealed"}';
const REFUSED = 'gatehouse_audit_sealed_total{result="refused"}';
const DELAYS = 'gatehouse_audit_seal_delay_seconds_count';

/** A journey: accounts made, a wrong and a right password, tokens issued and refreshed. */
async function journey() {
  const user = await newUser(ctx.server, 'chain');
  const wrong = await new Browser(ctx.server).post('/api/v1/signin', { email: user.email, password: `${user.password}-no` });
  assert.equal(wrong.status, 401);
  const b = await signedIn(ctx.server, user);
  const reg = await registerClient(ctx.server, { client_name: 'chain app' });
  const t = await codeTokens(ctx.server, b, reg);
  const r = await refresh(ctx.server, reg, t.refresh_token);
  assert.equal(r.status, 200);
  await sealed(ctx.server);
  return user;
}

test('after a journey every event is chained, checkpoints are signed, and verify passes', async () => {
  const user = await journey();
  await journey();
  const rows = sql(ctx.server, "SELECT chain_n, hash, prev_hash, type FROM audit_events WHERE tenant_id = 'default' ORDER BY seq");
  assert.ok(rows.length >= 10, `${rows.length} events`);
  rows.forEach((r, i) => {
    assert.equal(Number(r.chain_n), i + 1);
    assert.match(r.hash, /^[0-9a-f]{64}$/);
    assert.equal(r.prev_hash, i ? rows[i - 1].hash : '0'.repeat(64));
  });
  assert.ok(rows.some((r) => r.type === 'token.issued'), 'token issuance is chained');
  const cps = sql(ctx.server, "SELECT n, jws FROM audit_checkpoints WHERE tenant_id = 'default' ORDER BY n");
  assert.ok(cps.length >= 2, 'a checkpoint every 5 events');
  assert.equal(JSON.parse(Buffer.from(cps[0].jws.split('.')[0], 'base64url')).alg, 'ES256');
  // no personal field is in the chain in clear: the digest is keyed
  assert.ok(!JSON.stringify(sql(ctx.server, 'SELECT pii_digest, hash FROM audit_events')).includes(user.email));
  const v = await verify();
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /tenant default: intact: \d+ events, [1-9]\d* signed checkpoints/);
  assert.match(v.stdout, /audit log intact/);
});

// SECURITY.md #47: the chain is written after the request's commit, so an
// event waits a moment unchained; its seal MAC (keyed from the master key)
// is what the sealer checks before chaining it. A row inserted by hand in
// that state, without the key, is never chained, and verify names it.
test('an event is chained moments after its request; a row inserted by hand is never chained and verify names it', async () => {
  const s = ctx.server;
  const [sealed0, delays0, refused0] = [await metric(s, SEALED), await metric(s, DELAYS), await metric(s, REFUSED)];
  await scimUser(s, 'prompt');
  const ms = await sealed(s);
  assert.ok(ms < 2_000, `sealed after ${ms} ms`);
  // the operator sees it at /metrics: one more event sealed, its delay observed
  assert.equal(await metric(s, SEALED), sealed0 + 1);
  assert.equal(await metric(s, DELAYS), delays0 + 1);
  const forged = `forged-${randomHex(4)}`;
  sqlExec(s.dbPath, `INSERT INTO audit_events (tenant_id, id, time, type, subject, actor, outcome, details) VALUES ('default', '${forged}', ${Date.now()}, 'signin.succeeded', 'nobody', 'nobody', 'success', '{}')`);
  // copying a real event's seal MAC onto it does not help: the MAC covers the id
  const [real] = sql(s, "SELECT seal_mac, pii_digest FROM audit_events WHERE seal_mac IS NOT NULL ORDER BY seq DESC LIMIT 1");
  const copied = `${forged}-copy`;
  sqlExec(s.dbPath, `INSERT INTO audit_events (tenant_id, id, time, type, subject, actor, outcome, details, pii_digest, seal_mac) VALUES ('default', '${copied}', ${Date.now()}, 'signin.succeeded', 'nobody', 'nobody', 'success', '{}', '${real.pii_digest}', '${real.seal_mac}')`);
  await scimUser(s, 'after-forgery'); // wakes the sealer; its turn passes over both
  await sealed(s, `'${forged}', '${copied}'`);
  await sleep(1_200); // and an idle turn too
  const left = sql(s, `SELECT seq, id, hash FROM audit_events WHERE id IN ('${forged}', '${copied}') ORDER BY seq`);
  assert.deepEqual(left.map((r) => r.hash), [null, null], 'neither was chained');
  assert.equal(await metric(s, REFUSED), refused0 + 2, 'each refusal counted once, however many turns');
  const v = await verify();
  assert.equal(v.code, 1, v.stdout);
  assert.match(v.stdout, new RegExp(`BROKEN at event seq ${left[0].seq} \\(chain position 0\\): .*inserted by hand`));
  // the attacker takes them out again: an unchained row leaves no trace
  dropDeleteTrigger(s.dbPath);
  sqlExec(s.dbPath, `DELETE FROM audit_events WHERE id IN ('${forged}', '${copied}')`);
  assert.equal((await verify()).code, 0);
});

test('a row altered with the trigger dropped: verify exits 1 naming that event; restored, it passes', async () => {
  await journey();
  const [row] = sql(ctx.server, "SELECT seq, outcome FROM audit_events WHERE tenant_id = 'default' ORDER BY seq LIMIT 1 OFFSET 3");
  dropTrigger(ctx.server.dbPath);
  sqlExec(ctx.server.dbPath, `UPDATE audit_events SET outcome = 'failure' WHERE seq = ${row.seq}`);
  const v = await verify();
  assert.equal(v.code, 1, v.stdout);
  assert.match(v.stdout, new RegExp(`BROKEN at event seq ${row.seq} \\(chain position 4\\): .*altered`));
  assert.match(v.stdout, /audit log BROKEN/);
  sqlExec(ctx.server.dbPath, `UPDATE audit_events SET outcome = '${row.outcome}' WHERE seq = ${row.seq}`);
  assert.equal((await verify()).code, 0);

  // a personal field changed (not an erasure) is caught through pii_digest
  const [ev] = sql(ctx.server, "SELECT seq, subject FROM audit_events WHERE tenant_id = 'default' AND subject IS NOT NULL ORDER BY seq DESC LIMIT 1");
  sqlExec(ctx.server.dbPath, `UPDATE audit_events SET subject = 'someone-else' WHERE seq = ${ev.seq}`);
  const p = await verify();
  assert.equal(p.code, 1);
  assert.match(p.stdout, new RegExp(`BROKEN at event seq ${ev.seq} .*do not match pii_digest`));
  sqlExec(ctx.server.dbPath, `UPDATE audit_events SET subject = '${ev.subject}' WHERE seq = ${ev.seq}`);
  assert.equal((await verify()).code, 0);
});

test("a deleted customer's erasure keeps verify passing", async () => {
  const user = await journey();
  const before = sql(ctx.server, `SELECT count(*) AS n FROM audit_events WHERE subject = '${user.id}'`)[0].n;
  assert.ok(Number(before) > 0);
  const d = await gatehouse(['user', 'delete', user.id]);
  assert.equal(d.code, 0, d.stderr);
  await sealed(ctx.server);
  assert.equal(Number(sql(ctx.server, `SELECT count(*) AS n FROM audit_events WHERE subject = '${user.id}'`)[0].n), 0);
  const v = await verify();
  assert.equal(v.code, 0, v.stdout);
  const erased = Number(v.stdout.match(/(\d+) with personal fields erased/)[1]);
  assert.ok(erased >= Number(before), v.stdout);
});

/** Imports the export file into the empty database db; verify there must
 * print exactly `expected` (the same events, checkpoints and erasures). */
async function importVerifies(file, db, expected) {
  const imp = await gatehouse(['import', file], db);
  assert.equal(imp.code, 0, imp.stderr);
  const v = await verify(db);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.equal(v.stdout, expected, `the same chain, events and checkpoints in ${db.replace(/\/\/[^@/]*@/, '//')}`); // no password in a report
}

test('export then import into a new database still verifies (PostgreSQL: into PostgreSQL, SQLite and back), and a row altered there is named', async () => {
  const dir = await makeTempDir();
  const file = path.join(dir, 'export.jsonl');
  await sealed(ctx.server);
  assert.equal((await gatehouse(['export', file])).code, 0);
  const here = (await verify()).stdout;
  assert.match(here, /signed checkpoints \(last at [1-9]/);
  // a fresh database of the backend under test: SQLite → SQLite, PostgreSQL → PostgreSQL
  const copy = await freshDatabase();
  await importVerifies(file, copy, here);
  if (isPg()) {
    // PostgreSQL → SQLite, then that file's export → PostgreSQL (SQLite → PostgreSQL)
    const lite = path.join(dir, 'imported.db');
    await importVerifies(file, lite, here);
    const again = path.join(dir, 'from-sqlite.jsonl');
    assert.equal((await gatehouse(['export', again], lite)).code, 0);
    await importVerifies(again, await freshDatabase(), here);
  }
  // the copy is checked, not trusted: an event altered there is named
  const [row] = sql(copy, "SELECT seq, chain_n FROM audit_events WHERE tenant_id = 'default' ORDER BY seq LIMIT 1 OFFSET 2");
  dropTrigger(copy);
  sqlExec(copy, `UPDATE audit_events SET time = time + 1 WHERE seq = ${row.seq}`);
  const v = await verify(copy);
  assert.equal(v.code, 1, v.stdout);
  assert.match(v.stdout, new RegExp(`BROKEN at event seq ${row.seq} \\(chain position ${row.chain_n}\\): .*altered`));
});

test('a deleted row: verify exits 1 at the event after it', async () => {
  await journey();
  const rows = sql(ctx.server, "SELECT seq FROM audit_events WHERE tenant_id = 'default' ORDER BY seq DESC LIMIT 3");
  dropDeleteTrigger(ctx.server.dbPath);
  sqlExec(ctx.server.dbPath, `DELETE FROM audit_events WHERE seq = ${rows[1].seq}`);
  const v = await verify();
  assert.equal(v.code, 1, v.stdout);
  assert.match(v.stdout, new RegExp(`BROKEN at event seq ${rows[0].seq} .*events before it are missing`));
});

test('two instances on one database appending at once keep one chain', async () => {
  const a = await startServer({ env: { GATEHOUSE_AUDIT_CHECKPOINT_EVENTS: '7' } });
  const b = await startServer({ token: a.token, masterKey: a.masterKey, env: { GATEHOUSE_DATABASE: a.dbPath } });
  const make = (s, i) => scim(s, 'POST', '/Users', userBody(`twin${i}-${randomHex(3)}@example.com`));
  const results = await Promise.all(Array.from({ length: 60 }, (_, i) => make(i % 2 ? a : b, i)));
  assert.ok(results.every((r) => r.status === 201), results.map((r) => r.status).join(','));
  await sealed(a);
  // chained in the order their transactions committed, which on PostgreSQL
  // need not be seq order: every position once, none twice
  const rows = sql(a, "SELECT chain_n FROM audit_events WHERE tenant_id = 'default' ORDER BY chain_n");
  assert.ok(rows.length >= 60, `${rows.length} events`);
  assert.deepEqual(rows.map((r) => Number(r.chain_n)), rows.map((_, i) => i + 1), 'no fork: positions 1..n');
  const v = await runGatehouse(['audit', 'verify'], { env: a.env, timeoutMs: 60_000 });
  assert.equal(v.code, 0, v.stdout + v.stderr);
  await b.stop('SIGTERM', { keepData: true });
});

// SECURITY.md #47: a checkpoint bounds how much of the log's end can go
// unnoticed; by time, an idle tenant's last events are signed at its next
// event once GATEHOUSE_AUDIT_CHECKPOINT_MINUTES has passed (docs/audit.md
// "Checkpoints"), however few they are.
test('a checkpoint falls due by time (GATEHOUSE_AUDIT_CHECKPOINT_MINUTES), not count, and verify checks its signature', async () => {
  const s = ctx.timed;
  const [head] = sql(s, "SELECT n, cp_n, cp_time FROM audit_chain_heads WHERE tenant_id = 'default'");
  assert.ok(Number(head.n) >= 3, `${head.n} events`);
  assert.equal(Number(head.cp_n), 0);
  assert.equal(sql(s, 'SELECT n FROM audit_checkpoints').length, 0, 'none within the minute');
  // the minute from the chain's start (most of it passed in the tests above), and a little
  const wait = Number(head.cp_time) + 60_000 + 250 - Date.now();
  if (wait > 0) await sleep(wait);
  const id = await scimUser(s, 'late');
  await sealed(s);
  const [ev] = sql(s, `SELECT chain_n, time FROM audit_events WHERE type = 'scim.user.created' AND subject = '${id}'`);
  const cps = sql(s, "SELECT n, time, jws FROM audit_checkpoints WHERE tenant_id = 'default'");
  assert.equal(cps.length, 1, 'one checkpoint, by time');
  const n = Number(cps[0].n);
  assert.equal(n, Number(ev.chain_n), 'at the first event after the minute');
  assert.ok(n < 100, `${n} events: far below the count of 1000000`);
  assert.ok(Number(cps[0].time) - Number(head.cp_time) >= 60_000);

  const run = () => runGatehouse(['audit', 'verify'], { env: s.env, timeoutMs: 60_000 });
  const ok = await run();
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, new RegExp(`1 signed checkpoints \\(last at ${n}\\)`));

  // one character of its ES256 signature changed: verify names the checkpoint
  const [h, p, sig] = cps[0].jws.split('.');
  const bad = `${h}.${p}.${sig.slice(0, 20)}${sig[20] === 'A' ? 'B' : 'A'}${sig.slice(21)}`;
  dropCheckpointTrigger(s.dbPath);
  sqlExec(s.dbPath, `UPDATE audit_checkpoints SET jws = '${bad}' WHERE tenant_id = 'default' AND n = ${n}`);
  const v = await run();
  assert.equal(v.code, 1, v.stdout);
  assert.match(v.stdout, new RegExp(`BROKEN at chain position ${n}: checkpoint at position ${n}: its signature does not verify`));
});
