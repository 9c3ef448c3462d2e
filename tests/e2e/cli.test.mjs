// The command line: subcommands, settings validation, the config file, the
// generated master key and `migrate`.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  runGatehouse, startServer, stopAll, makeTempDir, freePort, randomHex, buildEnv,
  tableNames, integrityCheck, scim, userBody, request,
} from './lib/server.mjs';

after(stopAll);

/** A valid SCIM user as JSON text, padded with whitespace to `size` bytes. */
function paddedUser(userName, size) {
  const json = JSON.stringify(userBody(userName));
  return json + ' '.repeat(size - Buffer.byteLength(json));
}

/** Env for a one-shot command against a fresh data dir. */
async function freshEnv(overrides = {}) {
  const dir = await makeTempDir();
  const port = await freePort();
  const env = buildEnv({ port, dir, token: randomHex(32), masterKey: randomHex(32), overrides });
  return { dir, port, env, dbPath: env.GATEHOUSE_DATABASE };
}

describe('gatehouse CLI', () => {
  test('`version` prints "gatehouse <version>" and exits 0', async () => {
    const r = await runGatehouse(['version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.split('\n')[0], /^gatehouse v?\d+\.\d+\.\d+\S*\s*$/);
  });

  for (const args of [['--help'], ['help']]) {
    test(`\`${args.join(' ')}\` prints usage listing serve, migrate and version, exit 0`, async () => {
      const r = await runGatehouse(args);
      assert.equal(r.code, 0, r.stderr);
      for (const cmd of ['serve', 'migrate', 'version']) {
        assert.match(r.stdout, new RegExp(`\\b${cmd}\\b`), `usage should list "${cmd}":\n${r.stdout}`);
      }
    });
  }

  test('`help serve` documents the GATEHOUSE_ environment variables, exit 0', async () => {
    const r = await runGatehouse(['help', 'serve']);
    assert.equal(r.code, 0, r.stderr);
    for (const name of [
      'GATEHOUSE_LISTEN', 'GATEHOUSE_ISSUER', 'GATEHOUSE_DATABASE', 'GATEHOUSE_DATA_DIR',
      'GATEHOUSE_ADMIN_TOKEN', 'GATEHOUSE_MASTER_KEY', 'GATEHOUSE_MASTER_KEY_FILE',
      'GATEHOUSE_MAX_BODY', 'GATEHOUSE_CONFIG',
    ]) {
      assert.ok(r.stdout.includes(name), `help serve should mention ${name}:\n${r.stdout}`);
    }
  });

  test('`help COMMAND` prints that command\'s usage and the settings it reads, not the whole table (issue 19 item 5)', async () => {
    for (const [cmd, usage] of [['client', /gatehouse client/], ['export', /Usage: gatehouse export FILE/], ['keys', /gatehouse keys rotate\|list/]]) {
      const r = await runGatehouse(['help', cmd]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, usage);
      assert.ok(r.stdout.includes('GATEHOUSE_DATABASE'), `${cmd}: the store it opens`);
      assert.ok(!r.stdout.includes('GATEHOUSE_LISTEN'), `${cmd}: not every setting`);
      assert.match(r.stdout, /Every setting: gatehouse help serve/);
    }
  });

  test('an unknown subcommand exits 2 with a message on stderr', async () => {
    const r = await runGatehouse(['frobnicate']);
    assert.equal(r.code, 2);
    assert.notEqual(r.stderr.trim(), '', 'the user should be told what went wrong');
  });
});

describe('invalid settings stop the start before anything is opened', () => {
  const cases = [
    ['GATEHOUSE_LISTEN', 'nonsense', /GATEHOUSE_LISTEN|\blisten\b/i],
    ['GATEHOUSE_LISTEN', '127.0.0.1:99999', /GATEHOUSE_LISTEN|\blisten\b/i],
    ['GATEHOUSE_MAX_BODY', 'abc', /GATEHOUSE_MAX_BODY|\bmax_body\b/i],
    ['GATEHOUSE_MASTER_KEY', 'tooshort', /GATEHOUSE_MASTER_KEY|\bmaster_key\b/i],
  ];
  for (const [name, value, naming] of cases) {
    test(`${name}=${value} → exit 2, one stderr line naming it, no database created`, async () => {
      const { env, dbPath, dir } = await freshEnv({ [name]: value });
      const r = await runGatehouse(['serve'], { env, cwd: dir, timeoutMs: 5000 });
      assert.equal(r.timedOut, false, 'serve must not start with an invalid setting');
      assert.equal(r.code, 2, `stderr: ${r.stderr}`);
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      assert.equal(lines.length, 1, `expected exactly one stderr line, got:\n${r.stderr}`);
      assert.match(lines[0], naming);
      assert.equal(fs.existsSync(dbPath), false, 'the database must not be created');
      assert.deepEqual(tableNames(dbPath), [], 'no schema may be created (PostgreSQL: the database exists, empty)');
      assert.deepEqual(fs.readdirSync(dir), [], 'nothing (database, master.key) may be created in the data dir');
      // The secret of a bad master key must not be echoed back into logs
      // (SECURITY.md #47 / ASVS 16.3 no secrets in logs): only checked for the key.
      if (name === 'GATEHOUSE_MASTER_KEY') assert.ok(!lines[0].includes(value));
    });
  }
});

describe('config file (GATEHOUSE_CONFIG)', () => {
  test('settings come from the file; comments are ignored', async () => {
    const dir = await makeTempDir();
    const port = await freePort();
    const file = path.join(dir, 'gatehouse.conf');
    fs.writeFileSync(file, [
      '# Gatehouse test configuration',
      `listen = 127.0.0.1:${port}`,
      '  # an indented comment',
      'max_body = 2048',
      '',
    ].join('\n'));
    const server = await startServer({
      dir, port, env: { GATEHOUSE_LISTEN: undefined, GATEHOUSE_CONFIG: file },
    });
    try {
      // Listening where the file says (startServer polled that port).
      const live = await request(server, 'GET', '/healthz/live');
      assert.equal(live.status, 200);
      // max_body from the file applies.
      const r = await scim(server, 'POST', '/Users', paddedUser('big@example.com', 2100));
      assert.equal(r.status, 413, r.text);
    } finally {
      await server.stop();
    }
  });

  test('the environment wins over the file', async () => {
    const dir = await makeTempDir();
    const filePort = await freePort();
    const file = path.join(dir, 'gatehouse.conf');
    fs.writeFileSync(file, `listen = 127.0.0.1:${filePort}\nmax_body = 2048\n`);
    const server = await startServer({
      dir, env: { GATEHOUSE_CONFIG: file, GATEHOUSE_MAX_BODY: 65536 },
    });
    try {
      assert.notEqual(server.port, filePort);
      // Listening on the env's port (startServer checked), not the file's.
      await assert.rejects(
        fetch(`http://127.0.0.1:${filePort}/healthz/live`, { signal: AbortSignal.timeout(2000) }),
        'nothing should listen on the port named only in the file',
      );
      const r = await scim(server, 'POST', '/Users', paddedUser('big@example.com', 2100));
      assert.equal(r.status, 201, r.text);
    } finally {
      await server.stop();
    }
  });
});

describe('master key', () => {
  test('without a master key the server generates <data dir>/master.key (0600), warns, and reuses it', async () => {
    const dir = await makeTempDir();
    const noKey = { GATEHOUSE_MASTER_KEY: undefined, GATEHOUSE_MASTER_KEY_FILE: undefined };
    const keyPath = path.join(dir, 'master.key');

    const first = await startServer({ dir, env: noKey });
    let content;
    try {
      assert.ok(fs.existsSync(keyPath), 'master.key should be generated in the data dir');
      const st = fs.statSync(keyPath);
      assert.equal(st.mode & 0o777, 0o600, `master.key mode is ${(st.mode & 0o777).toString(8)}`);
      content = fs.readFileSync(keyPath);
      assert.ok(content.length >= 32, 'the key file should hold at least 32 bytes of key material');
      const warns = first.jsonLogs().filter((l) => l.level === 'warn');
      assert.ok(warns.length >= 1, `expected a "level":"warn" log line:\n${first.logs().join('\n')}`);
      assert.equal((await first.stop()), 0);
    } finally {
      await first.stop();
    }

    const second = await startServer({ dir, env: noKey });
    try {
      assert.deepEqual(fs.readFileSync(keyPath), content, 'a second start must reuse the same key');
    } finally {
      await second.stop();
    }
  });
});

describe('master key file', () => {
  test('GATEHOUSE_MASTER_KEY_FILE is used: no key is generated in the data dir', async () => {
    const dir = await makeTempDir();
    const keyDir = await makeTempDir();
    const keyFile = path.join(keyDir, 'key.hex');
    fs.writeFileSync(keyFile, `${randomHex(32)}\n`, { mode: 0o600 });
    const server = await startServer({
      dir, env: { GATEHOUSE_MASTER_KEY: undefined, GATEHOUSE_MASTER_KEY_FILE: keyFile },
    });
    try {
      assert.equal(fs.existsSync(path.join(dir, 'master.key')), false);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});

describe('migrate', () => {
  test('`migrate` creates the schema and exits 0; running it again is harmless', async () => {
    const { env, dbPath, dir } = await freshEnv();
    const r = await runGatehouse(['migrate'], { env, cwd: dir, timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stderr);
    const tables = tableNames(dbPath);
    for (const t of ['users', 'credentials', 'audit_events', 'tenants']) {
      assert.ok(tables.includes(t), `table ${t} missing; have ${tables.join(', ')}`);
    }
    const again = await runGatehouse(['migrate'], { env, cwd: dir, timeoutMs: 10_000 });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(integrityCheck(dbPath), 'ok');
  });
});
