// End-to-end harness: runs the real build/gatehouse binary on a free loopback
// port with a fresh data directory and talks to it over real HTTP.
//
// Every server started here is tracked; call stopAll() from an `after` hook so
// that no test leaves a server behind, whatever happened in the test.

import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
// E2E_GATEHOUSE_BIN may point at another build (e.g. a sanitizer build dir).
export const BINARY = process.env.E2E_GATEHOUSE_BIN
  ? path.resolve(process.env.E2E_GATEHOUSE_BIN)
  : path.join(REPO_ROOT, 'build', 'gatehouse');

export const SCIM_USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCIM_ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const SCIM_LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const SCIM_PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 8_000;

const running = new Set();
const tempDirs = new Set();

// PostgreSQL: when GATEHOUSE_TEST_DATABASE_URL names a database on a test
// cluster (scripts/pg.sh prints one), each data directory gets a fresh
// database of its own on that cluster instead of a SQLite file.
const PG_ADMIN_URL = process.env.GATEHOUSE_TEST_DATABASE_URL || null;
/** The backend the servers started here use: 'sqlite' or 'postgres'. */
export const BACKEND = PG_ADMIN_URL ? 'postgres' : 'sqlite';
const pgDatabases = new Map(); // data dir -> { name, url }

function isPostgresUrl(db) {
  return typeof db === 'string' && /^postgres(ql)?:\/\//.test(db);
}

// The client tools themselves: Debian's wrappers in PATH cost a Perl start each.
const PG_BIN = process.env.PGBIN ?? '/usr/lib/postgresql/15/bin';
function pgTool(name) {
  const p = path.join(PG_BIN, name);
  return fs.existsSync(p) ? p : name;
}

/** Runs psql on a database URL; returns its standard output. */
function psql(url, args) {
  return execFileSync(pgTool('psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** The database of a data dir: a SQLite file in it, or its own PostgreSQL database. */
function databaseFor(dir) {
  if (!PG_ADMIN_URL) return path.join(dir, 'gatehouse.db');
  const known = pgDatabases.get(dir);
  if (known) return known.url;
  const name = `gh_e2e_${randomHex(8)}`;
  psql(PG_ADMIN_URL, ['-c', `CREATE DATABASE ${name}`]);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  pgDatabases.set(dir, { name, url: url.toString() });
  return url.toString();
}

/**
 * A new, empty database of the backend in use, for a command to import into:
 * a SQLite file path in a new temporary directory, or a new database on the
 * PostgreSQL test cluster (dropped by stopAll, like a server's).
 */
export async function freshDatabase() {
  return databaseFor(await makeTempDir());
}

/** Drops the PostgreSQL database of a data dir, if it has one. */
function dropDatabaseOf(dir) {
  const db = pgDatabases.get(dir);
  if (!db) return;
  pgDatabases.delete(dir);
  try {
    psql(PG_ADMIN_URL, ['-c', `DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`]);
  } catch { /* best effort: the cluster is thrown away at the end anyway */ }
}

/** A port that was free a moment ago: listen on port 0, note it, close. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export async function makeTempDir() {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'gatehouse-e2e-'));
  tempDirs.add(dir);
  return dir;
}

export function randomHex(bytes) {
  return randomBytes(bytes).toString('hex');
}

/**
 * The environment for a gatehouse process: the runner's environment without
 * any GATEHOUSE_* variable, plus the test settings, plus overrides. An
 * override whose value is undefined or null removes that variable.
 */
export function buildEnv({ port, dir, token, masterKey, overrides = {} }) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('GATEHOUSE_')) env[k] = v;
  }
  Object.assign(env, {
    GATEHOUSE_LISTEN: `127.0.0.1:${port}`,
    // An override of the database must not leave a PostgreSQL database behind.
    GATEHOUSE_DATABASE: 'GATEHOUSE_DATABASE' in overrides ? undefined : databaseFor(dir),
    GATEHOUSE_DATA_DIR: dir,
    GATEHOUSE_ADMIN_TOKEN: token,
    GATEHOUSE_MASTER_KEY: masterKey,
  });
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined || v === null) delete env[k];
    else env[k] = String(v);
  }
  return env;
}

function assertBinary() {
  if (!fs.existsSync(BINARY)) {
    throw new Error(`${BINARY} does not exist: build it with "meson setup build && ninja -C build"`);
  }
}

/**
 * Runs `build/gatehouse ARGS...` to completion.
 * Resolves {code, signal, stdout, stderr, timedOut}.
 */
export function runGatehouse(args, { env = {}, cwd, timeoutMs = 10_000, inheritEnv = false } = {}) {
  assertBinary();
  let fullEnv = env;
  if (!inheritEnv) {
    fullEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!k.startsWith('GATEHOUSE_')) fullEnv[k] = v;
    }
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined || v === null) delete fullEnv[k];
      else fullEnv[k] = String(v);
    }
  }
  return new Promise((resolve, reject) => {
    const child = spawn(BINARY, args, {
      env: fullEnv,
      cwd: cwd ?? os.tmpdir(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/**
 * Starts `build/gatehouse serve` and waits until GET /healthz/ready says 200.
 *
 * options:
 *   env    - overrides merged over the defaults (undefined value = unset)
 *   dir    - reuse this data directory instead of making a fresh one
 *   port   - the port the server will listen on (default: a free one); give it
 *            when the listen address comes from somewhere other than
 *            GATEHOUSE_LISTEN (e.g. a config file)
 *   token, masterKey - reuse these secrets (e.g. for a restart)
 *   args   - extra arguments after "serve"
 */
export async function startServer(options = {}) {
  // A port from freePort() may be taken again before the server binds it
  // (the SQLite and PostgreSQL suites run side by side): then the server
  // exits with "in use?" and is started again on another port.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      if (options.port !== undefined || attempt === 5 || !/in use\?/.test(err.message)) throw err;
    }
  }
}

/**
 * True when process PID holds the socket listening on PORT: a 200 from the
 * port alone could come from another test's server that took it first.
 */
function listensOn(pid, port) {
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = fs.readFileSync(table, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[1].endsWith(hexPort) && f[3] === '0A') inodes.add(`socket:[${f[9]}]`);
    }
  }
  let fds = [];
  try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch { return false; }
  return fds.some((fd) => {
    try { return inodes.has(fs.readlinkSync(`/proc/${pid}/fd/${fd}`)); } catch { return false; }
  });
}

async function startOnce({ env = {}, dir, port, token, masterKey, args = [] } = {}) {
  assertBinary();
  port ??= await freePort();
  dir ??= await makeTempDir();
  token ??= randomHex(32);
  masterKey ??= randomHex(32);
  const fullEnv = buildEnv({ port, dir, token, masterKey, overrides: env });

  const proc = spawn(BINARY, ['serve', ...args], {
    env: fullEnv,
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);

  const stderrLines = [];
  const stdoutChunks = [];
  let partial = '';
  proc.stderr.setEncoding('utf8').on('data', (d) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop();
    for (const line of parts) if (line.length) stderrLines.push(line);
  });
  proc.stdout.setEncoding('utf8').on('data', (d) => stdoutChunks.push(d));

  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      if (partial.length) { stderrLines.push(partial); partial = ''; }
      running.delete(proc);
      resolve({ code, signal });
    });
  });
  let exitInfo = null;
  exited.then((info) => { exitInfo = info; });

  const url = `http://127.0.0.1:${port}`;
  const issuer = fullEnv.GATEHOUSE_ISSUER ?? `http://localhost:${port}`;

  const server = {
    url,
    port,
    token,
    masterKey,
    dir,
    /** The SQLite file path, or the PostgreSQL URL; give it (or the server) to sql(). */
    dbPath: fullEnv.GATEHOUSE_DATABASE,
    backend: isPostgresUrl(fullEnv.GATEHOUSE_DATABASE) ? 'postgres' : 'sqlite',
    issuer,
    env: fullEnv,
    proc,
    exited,
    logs: () => stderrLines.slice(),
    /** stderr lines parsed as JSON (lines that are not JSON are skipped). */
    jsonLogs: () => stderrLines.flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } }),
    stdout: () => stdoutChunks.join(''),
    /**
     * Sends a signal (default SIGTERM); resolves with the exit code. Then
     * drops the server's PostgreSQL database unless keepData is true (a
     * SQLite file stays in the data dir either way): pass it to start again
     * on the same data with startServer({ dir }).
     */
    async stop(signal = 'SIGTERM', { keepData = false } = {}) {
      let code;
      if (exitInfo) {
        code = exitInfo.code;
      } else {
        proc.kill(signal);
        const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
        const info = await exited;
        clearTimeout(timer);
        code = info.code;
      }
      if (!keepData) dropDatabaseOf(dir);
      return code;
    },
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = 'no answer';
  while (Date.now() < deadline) {
    if (exitInfo) {
      throw new Error(`gatehouse serve exited (code ${exitInfo.code}, signal ${exitInfo.signal}) before it was ready; stderr:\n${stderrLines.join('\n')}`);
    }
    try {
      const res = await fetch(`${url}/healthz/ready`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200 && listensOn(proc.pid, port)) return server;
      if (res.status === 200) lastError = `port ${port} answers, but not from this server`;
      lastError = `status ${res.status}`;
    } catch (err) {
      lastError = err.cause?.code ?? err.message;
    }
    await sleep(50);
  }
  await server.stop('SIGKILL');
  throw new Error(`gatehouse serve was not ready within ${READY_TIMEOUT_MS} ms (${lastError}); stderr:\n${stderrLines.join('\n')}`);
}

/**
 * Stops every server this harness started that is still running, then drops
 * every PostgreSQL database still left (servers that exited on their own,
 * environments from buildEnv that never ran a server).
 */
export async function stopAll() {
  await Promise.all([...running].map((proc) => new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', resolve);
    proc.kill('SIGTERM');
    setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
  })));
  for (const dir of [...pgDatabases.keys()]) dropDatabaseOf(dir);
}

process.on('exit', () => {
  for (const proc of running) {
    try { proc.kill('SIGKILL'); } catch { /* already gone */ }
  }
  for (const dir of tempDirs) {
    try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
  }
  for (const dir of [...pgDatabases.keys()]) dropDatabaseOf(dir);
});

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A SCIM request with the admin bearer token (or opts.token; pass
 * token: null for no Authorization header). body: an object (sent as JSON),
 * a string or a Buffer (sent as is), or undefined.
 */
export async function scim(server, method, urlPath, body, { token, headers = {} } = {}) {
  const h = { accept: 'application/scim+json', ...headers };
  const bearer = token === undefined ? server.token : token;
  if (bearer !== null && !Object.keys(h).some((k) => k.toLowerCase() === 'authorization')) {
    h.authorization = `Bearer ${bearer}`;
  }
  let payload;
  if (body !== undefined) {
    payload = (typeof body === 'string' || Buffer.isBuffer(body)) ? body : JSON.stringify(body);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) {
      h['content-type'] = 'application/scim+json';
    }
  }
  const target = urlPath.startsWith('http') ? urlPath : `${server.url}${urlPath.startsWith('/scim') ? '' : '/scim/v2'}${urlPath}`;
  const res = await fetch(target, { method, headers: h, body: payload, signal: AbortSignal.timeout(15_000) });
  return toResult(res);
}

/** Plain fetch against the server; resolves {status, headers, body, text}. */
export async function request(server, method, urlPath, { headers = {}, body } = {}) {
  const res = await fetch(`${server.url}${urlPath}`, { method, headers, body, signal: AbortSignal.timeout(15_000) });
  return toResult(res);
}

async function toResult(res) {
  const text = await res.text();
  let body = null;
  try { body = text.length ? JSON.parse(text) : null; } catch { body = null; }
  return { status: res.status, headers: res.headers, body, text };
}

/**
 * A request over node:http, for what fetch cannot express (chunked bodies
 * written piece by piece, declared lengths, raw bytes). `write(req)` gets the
 * ClientRequest and must end it. Resolves {status, headers, text, body}.
 * Write errors after the server answered (it may close early) are ignored.
 */
export function rawRequest(server, { method = 'GET', path: p = '/', headers = {}, write, timeoutMs = 15_000 }) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const req = http.request({
      host: '127.0.0.1', port: server.port, method, path: p, headers, agent: false,
    });
    const timer = setTimeout(() => {
      if (!settled) { settled = true; req.destroy(); reject(new Error(`${method} ${p}: no response within ${timeoutMs} ms`)); }
    }, timeoutMs);
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        let body = null;
        try { body = text.length ? JSON.parse(text) : null; } catch { body = null; }
        resolve({ status: res.statusCode, headers: res.headers, text, body });
      });
      res.on('error', (err) => {
        if (!settled) { settled = true; clearTimeout(timer); reject(err); }
      });
    });
    req.on('error', (err) => {
      // The server may answer (e.g. 413) and close while we are still
      // sending; give the response a moment to arrive before failing.
      setTimeout(() => {
        if (!settled) { settled = true; clearTimeout(timer); reject(err); }
      }, 500);
    });
    req.state = { get answered() { return settled; } };
    if (write) Promise.resolve(write(req)).catch(() => {});
    else req.end();
  });
}

/** Runs sqlite3 -json on the database; resolves parsed rows ([] for none). */
export function sqlite(dbPath, sql) {
  const out = execFileSync('sqlite3', ['-cmd', '.timeout 5000', '-json', dbPath, sql], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out.trim().length ? JSON.parse(out) : [];
}

/** Runs sqlite3 in its default output mode; returns the trimmed output. */
export function sqliteText(dbPath, sql) {
  return execFileSync('sqlite3', ['-cmd', '.timeout 5000', dbPath, sql], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

/**
 * Runs a query on a server's database, whichever the backend; resolves rows
 * as objects ([] for none). target: a server, or its dbPath (a SQLite file
 * or a PostgreSQL URL). Integers come back as numbers on both.
 */
export function sql(target, query) {
  const db = typeof target === 'string' ? target : target.dbPath;
  if (!isPostgresUrl(db)) return sqlite(db, query);
  const q = query.trim().replace(/;+$/, '');
  const out = psql(db, ['-At', '-c', `SELECT json_agg(t) FROM (${q}) t`]).trim();
  return out.length ? JSON.parse(out) : [];
}

/** Runs one statement without rows (a write) on a server's database,
 * whichever the backend; throws when the database refuses it. */
export function sqlExec(target, statement) {
  const db = typeof target === 'string' ? target : target.dbPath;
  if (!isPostgresUrl(db)) sqliteText(db, statement);
  else psql(db, ['-c', statement]);
}

/** The names of the tables in the database (none when it does not exist yet). */
export function tableNames(target) {
  const db = typeof target === 'string' ? target : target.dbPath;
  if (!isPostgresUrl(db)) {
    if (!fs.existsSync(db)) return [];
    return sqlite(db, "SELECT name FROM sqlite_master WHERE type = 'table'").map((t) => t.name);
  }
  return sql(db, 'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()')
    .map((t) => t.name);
}

/**
 * 'ok' when the database is sound. SQLite: PRAGMA integrity_check.
 * PostgreSQL has no such check without the amcheck extension; every table is
 * read in full instead, which fails on a damaged page.
 */
export function integrityCheck(target) {
  const db = typeof target === 'string' ? target : target.dbPath;
  if (!isPostgresUrl(db)) return sqliteText(db, 'PRAGMA integrity_check');
  try {
    for (const name of tableNames(db)) sql(db, `SELECT count(*) AS n FROM "${name}"`);
    return 'ok';
  } catch (err) {
    return String(err.stderr || err.message).trim();
  }
}

/**
 * True if text appears anywhere in the stored data. SQLite: the bytes of the
 * database file and its journals. PostgreSQL: a data-only dump of the
 * database (what any reader of the tables could see).
 */
export function databaseContains(target, text) {
  const db = typeof target === 'string' ? target : target.dbPath;
  if (!isPostgresUrl(db)) return databaseBytes(db).includes(Buffer.from(text));
  const dump = execFileSync(pgTool('pg_dump'), ['--data-only', '--no-owner', '-d', db], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
    maxBuffer: 256 * 1024 * 1024,
  });
  return dump.includes(Buffer.from(text));
}

/** The bytes of the database file and of its -wal and -journal files, if any. */
export function databaseBytes(dbPath) {
  return Buffer.concat(['', '-wal', '-journal', '-shm']
    .map((s) => dbPath + s)
    .filter((f) => fs.existsSync(f))
    .map((f) => fs.readFileSync(f)));
}

/** A SCIM user body. */
export function userBody(userName, extra = {}) {
  const local = userName.split('@')[0];
  return {
    schemas: [SCIM_USER_SCHEMA],
    userName,
    name: { givenName: local.charAt(0).toUpperCase() + local.slice(1), familyName: 'Tester' },
    emails: [{ value: userName.toLowerCase(), primary: true }],
    ...extra,
  };
}

/** Waits until pred(logs) is true or timeoutMs passes; returns the last value. */
export async function waitFor(pred, timeoutMs = 2000, stepMs = 25) {
  const deadline = Date.now() + timeoutMs;
  let v = pred();
  while (!v && Date.now() < deadline) {
    await sleep(stepMs);
    v = pred();
  }
  return v;
}
