// Graceful shutdown: SIGTERM lets in-flight requests finish, stops accepting
// new connections, leaves a sound database and exits 0; SIGINT exits 0.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import {
  startServer, stopAll, scim, rawRequest, sql, integrityCheck, userBody, randomHex, sleep,
} from './lib/server.mjs';
import { Browser } from './lib/browser.mjs';

after(stopAll);

/** 'refused' if a TCP connection to the port is refused, else 'connected'. */
function tryConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.setTimeout(2000);
    sock.once('connect', () => { sock.destroy(); resolve('connected'); });
    sock.once('timeout', () => { sock.destroy(); resolve('timeout'); });
    sock.once('error', (err) => resolve(err.code === 'ECONNREFUSED' ? 'refused' : err.code));
  });
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms); }),
  ]);
}

describe('shutdown', () => {
  test('SIGTERM during an in-flight request: it completes with 201, new connections are refused, exit 0, database intact', async () => {
    const server = await startServer();
    const userName = 'inflight@example.com';
    const body = Buffer.from(JSON.stringify(userBody(userName, { password: `Quartz-${randomHex(12)}-Pass` })));
    const half = Math.floor(body.length / 2);

    const response = rawRequest(server, {
      method: 'POST',
      path: '/scim/v2/Users',
      headers: {
        authorization: `Bearer ${server.token}`,
        'content-type': 'application/scim+json',
        'content-length': body.length,
      },
      write: async (req) => {
        req.write(body.subarray(0, half));
        await sleep(700);
        req.end(body.subarray(half));
      },
    });

    await sleep(250);
    server.proc.kill('SIGTERM');
    await sleep(200);
    // Still before the second half: the in-flight request is open, but the
    // listening socket must already be closed.
    const during = await tryConnect(server.port);

    const r = await response;
    assert.equal(r.status, 201, `the in-flight request should complete: ${r.text}`);
    assert.equal(r.body?.userName, userName);
    const { code, signal } = await withTimeout(server.exited, 10_000, 'exit after SIGTERM');
    assert.equal(signal, null, `killed by ${signal}; stderr:\n${server.logs().join('\n')}`);
    assert.equal(code, 0, `exit code; stderr:\n${server.logs().join('\n')}`);
    assert.equal(during, 'refused', 'a new connection after SIGTERM must be refused');

    assert.equal(integrityCheck(server), 'ok');
    const rows = sql(server, 'SELECT * FROM users');
    assert.ok(rows.some((row) => Object.values(row).includes(r.body.id)), 'the user created during shutdown is stored');

    // And it is there for the next start on the same data.
    const again = await startServer({ dir: server.dir, token: server.token, masterKey: server.masterKey });
    try {
      const g = await scim(again, 'GET', `/Users/${r.body.id}`);
      assert.equal(g.status, 200, g.text);
      assert.equal(g.body.userName, userName);
    } finally {
      assert.equal(await again.stop(), 0);
    }
  });

  // Issue 15 item 13. Before the fix libmicrohttpd was stopped while jobs
  // were still queued for the worker pool: it panicked ("called while we
  // have suspended connections") or freed request contexts a worker still
  // used. E2E_GATEHOUSE_BIN=build-asan/gatehouse runs this under ASan
  // (scripts/test.sh does).
  test('SIGTERM during a queued burst of sign-ups: every client gets a response or a closed connection, no panic, exit 0', async () => {
    const server = await startServer({
      env: {
        GATEHOUSE_WORKERS: 1,
        GATEHOUSE_SHUTDOWN_GRACE: 1,
        // each hash takes a while, so the one worker cannot empty the queue within the grace
        GATEHOUSE_ARGON2_MEMORY_KIB: 65536,
        GATEHOUSE_ARGON2_ITERATIONS: 3,
      },
    });
    const browsers = [];
    for (let i = 0; i < 4; i++) {
      const b = new Browser(server);
      await b.session();
      browsers.push(b);
    }
    const outcome = (p) => p.then(
      (r) => ({ status: r.status, retryAfter: r.headers['retry-after'] ?? r.headers.get?.('retry-after') }),
      (err) => ({ error: err.name === 'TimeoutError' || /no response within/.test(err.message) ? 'hang' : 'closed', message: err.message }),
    );
    const jobs = [];
    for (let i = 0; i < 24; i++) {
      const body = Buffer.from(JSON.stringify(userBody(`burst${i}-${randomHex(3)}@example.com`, { password: `Quartz-${randomHex(12)}-Pass` })));
      jobs.push(outcome(rawRequest(server, {
        method: 'POST',
        path: '/scim/v2/Users',
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/scim+json', 'content-length': body.length },
        write: (req) => req.end(body),
        timeoutMs: 30_000,
      })));
    }
    for (const [i, b] of browsers.entries()) {
      jobs.push(outcome(b.post('/api/v1/signup', { email: `signup${i}-${randomHex(3)}@example.com`, password: `Quartz-${randomHex(12)}-Pass` })));
    }
    await sleep(400); // the requests reach the queue
    server.proc.kill('SIGTERM');

    const results = await withTimeout(Promise.all(jobs), 40_000, 'every client answered or closed');
    const { code, signal } = await withTimeout(server.exited, 20_000, 'exit after SIGTERM');
    const stderr = server.logs().join('\n');
    assert.equal(signal, null, `killed by ${signal}; stderr:\n${stderr}`);
    assert.equal(code, 0, `exit code; stderr:\n${stderr}`);
    assert.doesNotMatch(stderr, /panic|suspended connections|AddressSanitizer|runtime error|LeakSanitizer/i, stderr);
    assert.ok(!results.some((r) => r.error === 'hang'), `a client got neither a response nor a closed connection: ${JSON.stringify(results)}`);
    for (const r of results) {
      if (r.status) assert.ok([200, 201, 503].includes(r.status), `unexpected status: ${JSON.stringify(r)}`);
      if (r.status === 503) assert.equal(r.retryAfter, '1', 'a job failed at shutdown says when to retry');
    }
    assert.ok(results.some((r) => r.status === 503), `the worker could not have run every job in the grace: ${JSON.stringify(results)}`);
    assert.equal(integrityCheck(server), 'ok');
  });

  test('SIGTERM on an idle server exits 0 promptly', async () => {
    const server = await startServer();
    const t0 = Date.now();
    const code = await server.stop('SIGTERM');
    assert.equal(code, 0);
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
    assert.equal(await tryConnect(server.port), 'refused');
  });

  test('SIGINT exits 0', async () => {
    const server = await startServer();
    await scim(server, 'GET', '/Users');
    const code = await server.stop('SIGINT');
    assert.equal(code, 0, `stderr:\n${server.logs().join('\n')}`);
  });
});
