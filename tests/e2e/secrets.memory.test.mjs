// Secrets do not linger where another process can read them (issue 15 item
// 14). The server wipes GATEHOUSE_MASTER_KEY's value in its environment and
// unsets it once the settings are read: /proc/PID/environ (readable by the
// same user, and shown in crash reports) no longer holds it. The in-process
// wiping of request and response buffers is covered by the gh_buf and
// gh_arena unit tests.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import { startServer, stopAll, scim, userBody, randomHex } from './lib/server.mjs';

after(stopAll);

describe('secrets in process memory', () => {
  test('GATEHOUSE_MASTER_KEY is gone from /proc/PID/environ of the running server; the key still works', async () => {
    const server = await startServer({ env: { GATEHOUSE_LOG_LEVEL: 'info' } });
    try {
      const environ = fs.readFileSync(`/proc/${server.proc.pid}/environ`, 'latin1');
      assert.ok(environ.includes(`GATEHOUSE_ADMIN_TOKEN=${server.token}`), 'the file is the server\'s environment');
      assert.ok(!environ.includes(server.masterKey), 'the master key value is still in the environment');
      assert.ok(!environ.toLowerCase().includes(server.masterKey.slice(0, 16).toLowerCase()), 'a part of the master key is still in the environment');

      // The key was taken before it was wiped: sealing under it works.
      const r = await scim(server, 'POST', '/Users', userBody(`env-${randomHex(4)}@example.com`, { password: `Quartz-${randomHex(12)}-Pass` }));
      assert.equal(r.status, 201, r.text);
    } finally {
      assert.equal(await server.stop(), 0);
    }
    // and the next start with the same key opens the same sealed data
    const again = await startServer({ dir: server.dir, token: server.token, masterKey: server.masterKey });
    assert.equal(await again.stop(), 0, again.logs().join('\n'));
  });
});
