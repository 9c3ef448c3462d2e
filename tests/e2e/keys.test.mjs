// Signing keys and the JWK Set: GET /jwks as a relying party's JOSE library
// sees it, keys kept across restarts and sealed under the master key, and
// `gatehouse keys rotate|list` against running servers (the new keys reach
// every instance within GATEHOUSE_KEYS_REFRESH, the old ones stay published
// until every token they signed has expired, then leave).
// Runs on both backends (GATEHOUSE_TEST_DATABASE_URL for PostgreSQL).

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  calculateJwkThumbprint, createRemoteJWKSet, importJWK, jwtVerify, SignJWT, generateKeyPair,
} from 'jose';

import {
  startServer, stopAll, runGatehouse, request, sql, sleep, waitFor, buildEnv, freePort,
  randomHex, BACKEND,
} from './lib/server.mjs';

after(stopAll);

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

async function jwks(server) {
  const r = await request(server, 'GET', '/jwks');
  assert.equal(r.status, 200, r.text);
  assert.ok(Array.isArray(r.body?.keys), r.text);
  return r.body.keys;
}

const kids = (keys) => keys.map((k) => k.kid).sort();

/** Polls the JWK Set until pred(keys) holds; returns the last keys seen. */
async function jwksUntil(server, pred, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let keys = await jwks(server);
  while (!pred(keys) && Date.now() < deadline) {
    await sleep(100);
    keys = await jwks(server);
  }
  return keys;
}

/** `gatehouse keys list` rows as {kid, alg, state}. */
async function listKeys(server) {
  const r = await runGatehouse(['keys', 'list'], { env: server.env });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^KID\s+ALG\s+STATE\s+CREATED\s+RETIRED\s+EXPIRES$/);
  return lines.slice(1).map((l) => {
    const [kid, alg, state] = l.split(/\s+/);
    return { kid, alg, state };
  });
}

describe(`signing keys and JWKS (${BACKEND})`, () => {
  test('GET /jwks: an ES256 and an RS256 key with kid, use and alg, public members only, usable by jose', async () => {
    const server = await startServer();
    // The RS256 key is made just after start (RSA generation is too slow for
    // start-up); the ES256 one is there at once.
    await jwksUntil(server, (k) => k.length === 2, 5000);
    const r = await request(server, 'GET', '/jwks');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.match(r.headers.get('cache-control'), /\bpublic\b/);
    assert.match(r.headers.get('cache-control'), /\bmax-age=60\b/);
    const keys = r.body.keys;
    assert.equal(keys.length, 2);
    assert.deepEqual(keys.map((k) => k.alg).sort(), ['ES256', 'RS256']);
    for (const jwk of keys) {
      assert.equal(typeof jwk.kid, 'string');
      assert.equal(jwk.use, 'sig');
      for (const m of PRIVATE_MEMBERS) assert.equal(jwk[m], undefined, `${jwk.alg} key has "${m}"`);
      // kid is the RFC 7638 thumbprint, as jose computes it.
      assert.equal(jwk.kid, await calculateJwkThumbprint(jwk, 'sha256'));
      if (jwk.alg === 'ES256') {
        assert.equal(jwk.kty, 'EC');
        assert.equal(jwk.crv, 'P-256');
      } else {
        assert.equal(jwk.kty, 'RSA');
        assert.equal(Buffer.from(jwk.n, 'base64url').length, 256); // 2048 bits
      }
      const key = await importJWK(jwk, jwk.alg);
      assert.equal(key.type, 'public');
    }

    // A relying party's remote key set finds each key by kid and alg...
    const remote = createRemoteJWKSet(new URL('/jwks', server.url));
    for (const jwk of keys) {
      const key = await remote({ alg: jwk.alg, kid: jwk.kid });
      assert.equal(key.type, 'public');
    }
    // ...and a token signed by another key under our kid does not verify.
    const ec = keys.find((k) => k.alg === 'ES256');
    const forger = await generateKeyPair('ES256');
    const forged = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'ES256', kid: ec.kid })
      .sign(forger.privateKey);
    await assert.rejects(jwtVerify(forged, remote), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });

    // The private keys are stored sealed; the public column matches the set.
    const rows = sql(server, 'SELECT kid, alg, private_jwk, public_jwk, retired_at, expires_at FROM signing_keys');
    assert.equal(rows.length, 2);
    for (const row of rows) {
      assert.match(row.private_jwk, /^[A-Za-z0-9_-]+$/);
      assert.ok(!row.private_jwk.includes('"d"'));
      assert.equal(row.retired_at, null);
      assert.equal(row.expires_at, null);
      assert.deepEqual(JSON.parse(row.public_jwk), keys.find((k) => k.kid === row.kid));
    }
    assert.equal((await request(server, 'POST', '/jwks')).status, 405);
  });

  test('keys are made once and kept across restarts; another master key cannot start', async (t) => {
    const first = await startServer();
    const before = kids(await jwksUntil(first, (k) => k.length === 2, 5000));
    const made = first.jsonLogs().filter((l) => l.msg === 'signing key created');
    assert.equal(made.length, 2);
    await first.stop('SIGTERM', { keepData: true });

    const again = await startServer({ dir: first.dir, masterKey: first.masterKey, token: first.token });
    assert.deepEqual(kids(await jwks(again)), before);
    const logs = again.jsonLogs();
    assert.equal(logs.filter((l) => l.msg === 'signing key created').length, 0);
    const loaded = logs.find((l) => l.msg === 'signing keys loaded');
    const listening = logs.find((l) => l.msg === 'listening');
    t.diagnostic(`restart with existing keys: keys loaded in ${loaded.ms} ms, startup_ms ${listening.startup_ms}`);
    assert.ok(loaded.ms < 1000);
    await again.stop('SIGTERM', { keepData: true });

    // The keys cannot be opened with another master key: exit 1, one line.
    const env = buildEnv({ port: await freePort(), dir: first.dir, token: first.token, masterKey: randomHex(32) });
    const r = await runGatehouse(['serve'], { env, timeoutMs: 10_000 });
    assert.equal(r.code, 1, r.stderr);
    const failed = r.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === 'start failed');
    assert.match(failed.detail, /signing key .* cannot be decrypted/);
    assert.equal(sql(first.dbPath, 'SELECT count(*) AS n FROM signing_keys')[0].n, 2);
  });

  test('`keys rotate` on running servers: new keys published at once, old ones until their tokens expired, then gone', { timeout: 150_000 }, async (t) => {
    const env = {
      GATEHOUSE_KEYS_REFRESH: '1',
      GATEHOUSE_ACCESS_TOKEN_TTL: '10',
      GATEHOUSE_ID_TOKEN_TTL: '10',
    };
    const a = await startServer({ env });
    // A second instance on the same database and master key.
    const b = await startServer({ masterKey: a.masterKey, token: a.token, env: { ...env, GATEHOUSE_DATABASE: a.dbPath } });
    const old = kids(await jwksUntil(a, (k) => k.length === 2, 5000));
    assert.deepEqual(kids(await jwksUntil(b, (k) => k.length === 2, 5000)), old);
    const changesBefore = new Map([a, b].map((s) => [s, s.jsonLogs().filter((l) => l.msg === 'signing keys changed').length]));

    const r = await runGatehouse(['keys', 'rotate'], { env: a.env });
    assert.equal(r.code, 0, r.stderr);
    const fresh = [...r.stdout.matchAll(/new (ES256|RS256) key (\S+)/g)].map((m) => m[2]).sort();
    assert.equal(fresh.length, 2, r.stdout);
    const all = [...old, ...fresh].sort();

    // Both instances publish old and new keys within the refresh interval
    // and log that they now sign with the new ones.
    for (const server of [a, b]) {
      const keys = await jwksUntil(server, (k) => k.length === 4, 5000);
      assert.deepEqual(kids(keys), all);
      const changed = await waitFor(() => server.jsonLogs().filter((l) => l.msg === 'signing keys changed')[changesBefore.get(server)], 5000);
      assert.ok(changed, 'the running server picked up the rotation');
      assert.deepEqual([changed.ES256, changed.RS256].sort(), fresh);
    }

    let list = await listKeys(a);
    assert.deepEqual(list.filter((k) => k.state === 'active').map((k) => k.kid).sort(), fresh);
    assert.deepEqual(list.filter((k) => k.state === 'retired').map((k) => k.kid).sort(), old);

    // Retired keys stay published for the longest token lifetime + 60 s.
    const rows = sql(a, 'SELECT kid, retired_at, expires_at FROM signing_keys WHERE retired_at IS NOT NULL');
    assert.equal(rows.length, 2);
    for (const row of rows) assert.equal(Number(row.expires_at) - Number(row.retired_at), (10 + 60) * 1000);
    const expiresAt = Math.max(...rows.map((row) => Number(row.expires_at)));
    t.diagnostic(`waiting ${Math.round((expiresAt - Date.now()) / 1000)} s for the retired keys to expire`);
    await sleep(Math.max(0, expiresAt - Date.now() - 3000));
    assert.deepEqual(kids(await jwks(a)), all, 'still published just before expires_at');
    await sleep(Math.max(0, expiresAt - Date.now()) + 200);
    for (const server of [a, b]) {
      const keys = await jwksUntil(server, (k) => k.length === 2, 3000);
      assert.deepEqual(kids(keys), fresh);
    }
    list = await listKeys(a);
    assert.deepEqual(list.filter((k) => k.state === 'expired').map((k) => k.kid).sort(), old);

    // The next rotation deletes the expired rows.
    const r2 = await runGatehouse(['keys', 'rotate'], { env: a.env });
    assert.equal(r2.code, 0, r2.stderr);
    list = await listKeys(a);
    assert.equal(list.length, 4);
    assert.ok(list.every((k) => !old.includes(k.kid)));
    assert.deepEqual(list.filter((k) => k.state === 'retired').map((k) => k.kid).sort(), fresh);
  });

  test('`keys rotate` with another master key refuses and changes nothing', async () => {
    const server = await startServer();
    await jwksUntil(server, (k) => k.length === 2, 5000); // the RS256 key comes just after start
    const before = sql(server, 'SELECT kid, retired_at FROM signing_keys ORDER BY kid');
    const r = await runGatehouse(['keys', 'rotate'], { env: { ...server.env, GATEHOUSE_MASTER_KEY: randomHex(32) } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot be decrypted/);
    assert.deepEqual(sql(server, 'SELECT kid, retired_at FROM signing_keys ORDER BY kid'), before);
  });

  test('`keys` usage: help, and exit 2 for a missing or unknown subcommand', async () => {
    const help = await runGatehouse(['help', 'keys']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /gatehouse keys rotate\|list/);
    const usage = await runGatehouse(['--help']);
    assert.match(usage.stdout, /keys rotate\|list/);
    for (const args of [['keys'], ['keys', 'spin'], ['keys', 'rotate', 'now']]) {
      const r = await runGatehouse(args, { env: { GATEHOUSE_DATA_DIR: '/nonexistent/never' } });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /usage: gatehouse keys rotate\|list/);
    }
  });
});
