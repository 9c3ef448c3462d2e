// Outgoing mail: the outbox, the sender thread and `gatehouse mail-test`,
// against a real SMTP server (tests/e2e/lib/mail.mjs) and the real binary.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';

import {
  BINARY, runGatehouse, startServer, stopAll, freePort, sql, sleep, waitFor, randomHex,
} from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, sentTo, codeFrom } from './lib/mail.mjs';
import { Browser } from './lib/browser.mjs';

after(async () => {
  await stopAll();
  await stopAllMailSinks();
});

const TO = 'alice@example.com';

/** Runs `gatehouse mail-test ARGS` with a server's settings (plus overrides). */
function mailTest(server, args, { env = {}, timeoutMs = 30_000 } = {}) {
  return runGatehouse(['mail-test', ...args], {
    env: { ...server.env, ...env }, cwd: server.dir, timeoutMs,
  });
}

function outbox(server) {
  return sql(server,
    'SELECT id, to_addr, template, status, attempts, last_error, params, sent_at FROM mail_outbox');
}

function attempts(server, id) {
  return sql(server,
    `SELECT attempt, outcome, error FROM mail_attempts WHERE outbox_id = '${id}' ORDER BY attempt`);
}

function logLines(r) {
  return r.stderr.split('\n').flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } });
}

describe('gatehouse mail-test', () => {
  test('delivers a test message with From, To, Subject, Date, Message-ID and text + HTML parts', async () => {
    const sink = await startMailSink();
    const server = await startServer({ env: { GATEHOUSE_SMTP_URL: sink.url, GATEHOUSE_MAIL_RETRY_BASE: 1 } });
    const r = await mailTest(server, [TO]);
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stdout, /\bsent\b/i);

    const msg = await sink.waitFor((m) => m.to === TO, 5000);
    assert.equal(sink.messages.length, 1, 'exactly one message');
    assert.match(msg.raw, /^From: Gatehouse <no-reply@localhost>\r?$/m);
    assert.equal(msg.fromName, 'Gatehouse');
    assert.equal(msg.fromAddress, 'no-reply@localhost');
    assert.match(msg.raw, /^To: alice@example\.com\r?$/m);
    assert.equal(msg.to, TO);
    assert.equal(msg.subject, 'Gatehouse test message');
    assert.match(msg.text, /test message from Gatehouse/);
    assert.match(msg.html, /<h1[^>]*>Gatehouse test message<\/h1>/);
    assert.deepEqual(msg.envelope, { from: 'no-reply@localhost', to: [TO] });
    assert.ok(msg.date instanceof Date && Math.abs(msg.date - Date.now()) < 60_000, `Date: ${msg.date}`);
    assert.match(msg.raw, /^Mime-Version: 1\.0\r?$/im);
    assert.match(msg.raw, /multipart\/alternative/);

    const rows = outbox(server);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].status, 'sent');
    assert.equal(rows[0].template, 'test');
    assert.equal(rows[0].to_addr, TO);
    assert.equal(rows[0].params, '', 'parameters are cleared once sent');
    assert.ok(rows[0].sent_at > 0);
    assert.equal(msg.messageId, `<${rows[0].id}@localhost>`);
    assert.deepEqual(attempts(server, rows[0].id).map((a) => a.outcome), ['sent']);
    assert.equal(await server.stop(), 0);
  });

  test('GATEHOUSE_MAIL_FROM sets the From header and the envelope sender', async () => {
    const sink = await startMailSink();
    const server = await startServer({
      env: { GATEHOUSE_SMTP_URL: sink.url, GATEHOUSE_MAIL_FROM: 'Acme Support <support@acme.test>' },
    });
    const r = await mailTest(server, ['bob@example.org']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const msg = await sink.waitFor((m) => m.to === 'bob@example.org', 5000);
    assert.match(msg.raw, /^From: Acme Support <support@acme\.test>\r?$/m);
    assert.equal(msg.fromName, 'Acme Support');
    assert.equal(msg.fromAddress, 'support@acme.test');
    assert.equal(msg.envelope.from, 'support@acme.test');
    assert.match(msg.messageId, /@acme\.test>$/);
  });

  test('a relay that refuses the first 2 deliveries with 451: retried with backoff, then delivered; 3 attempts recorded', async () => {
    const sink = await startMailSink({ failFirst: 2, failCode: 451 });
    const server = await startServer({ env: { GATEHOUSE_SMTP_URL: sink.url, GATEHOUSE_MAIL_RETRY_BASE: 1 } });
    const t0 = Date.now();
    const r = await mailTest(server, [TO]);
    const elapsed = Date.now() - t0;
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.equal(sink.rejected, 2);
    await sink.waitFor((m) => m.to === TO, 5000);
    assert.equal(sink.messages.length, 1, 'delivered exactly once');

    const [row] = outbox(server);
    assert.equal(row.status, 'sent');
    assert.equal(row.attempts, 3);
    const rows = attempts(server, row.id);
    assert.deepEqual(rows.map((a) => [a.attempt, a.outcome]), [[1, 'retry'], [2, 'retry'], [3, 'sent']]);
    assert.match(rows[0].error, /451/);
    assert.match(rows[1].error, /451/);
    assert.equal(rows[2].error, null);
    // base 1 s: the 2nd attempt waits 1 s, the 3rd 4 s more.
    assert.ok(elapsed >= 4500, `three attempts took only ${elapsed} ms: no backoff?`);
  });

  test('a 550 refusal of the message is permanent: failed after one attempt, exit 1', async () => {
    const sink = await startMailSink({ failFirst: 1, failCode: 550 });
    const server = await startServer({ env: { GATEHOUSE_SMTP_URL: sink.url, GATEHOUSE_MAIL_RETRY_BASE: 1 } });
    const r = await mailTest(server, [TO]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /failed/i);
    assert.match(r.stdout, /550/);
    const [row] = outbox(server);
    assert.equal(row.status, 'failed');
    assert.equal(row.params, '');
    assert.deepEqual(attempts(server, row.id).map((a) => a.outcome), ['failed']);
    assert.equal(sink.messages.length, 0);
  });

  test('no SMTP server listening: reports failure, exit 1, attempts recorded, message withdrawn', async () => {
    // Port 1: no test binds a privileged port, so the relay is refused at
    // once. A port from freePort() could be taken again before the server
    // dials it (by this server's own listener, or the other backend's run
    // beside it): then the relay "answered" nothing and timed out instead.
    const deadPort = 1;
    const server = await startServer({
      env: { GATEHOUSE_SMTP_URL: `smtp://127.0.0.1:${deadPort}`, GATEHOUSE_MAIL_RETRY_BASE: 1 },
    });
    const t0 = Date.now();
    const r = await mailTest(server, ['--timeout', '3', TO]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.ok(Date.now() - t0 < 15_000, 'mail-test must give up at its timeout');
    assert.match(r.stdout, /fail|not delivered/i);
    assert.match(r.stdout, /connect/i, 'the reason is shown');

    const [row] = outbox(server);
    assert.equal(row.status, 'failed', 'a test message that was given up on is not retried later');
    assert.equal(row.params, '');
    const rows = attempts(server, row.id);
    assert.ok(rows.length >= 2, `expected at least 2 attempts in 3 s, got ${rows.length}`);
    for (const a of rows) {
      assert.equal(a.outcome, 'retry');
      assert.match(a.error, /connect/i);
    }
    // The server (same relay setting) may have made some of the attempts:
    // between the two processes each attempt is logged exactly once.
    const attemptLogs = () => [...logLines(r), ...server.jsonLogs()].filter((l) => l.msg === 'mail attempt');
    await waitFor(() => attemptLogs().length >= rows.length, 3000);
    const logged = attemptLogs();
    assert.deepEqual(logged.map((l) => l.attempt).sort(), rows.map((a) => a.attempt).sort());
    for (const l of logged) {
      assert.equal(l.id, row.id);
      assert.equal(l.outcome, 'retry');
      assert.match(l.error, /connect/i);
    }
  });

  test('usage and settings errors exit 2', async () => {
    const sink = await startMailSink();
    const server = await startServer({ env: { GATEHOUSE_SMTP_URL: sink.url } });
    for (const args of [[], ['not-an-address'], ['a@b.c\r\nBcc: victim@example.com'], [TO, 'extra@example.com'],
      ['--timeout', '0', TO], ['--timeout', 'x', TO], ['--bogus', TO]]) {
      const r = await mailTest(server, args);
      assert.equal(r.code, 2, `${JSON.stringify(args)}: ${r.stdout}${r.stderr}`);
      assert.notEqual(r.stderr.trim(), '');
    }
    const noUrl = await mailTest(server, [TO], { env: { GATEHOUSE_SMTP_URL: undefined } });
    assert.equal(noUrl.code, 2);
    assert.match(noUrl.stderr, /GATEHOUSE_SMTP_URL/);
    assert.equal(outbox(server).length, 0, 'nothing is queued');
    assert.equal(sink.messages.length, 0);
  });

  test('`help mail-test` documents it and `help` lists it', async () => {
    const h = await runGatehouse(['help', 'mail-test']);
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, /gatehouse mail-test/);
    assert.match(h.stdout, /GATEHOUSE_SMTP_URL/);
    assert.match(h.stdout, /GATEHOUSE_MAIL_FROM/);
    assert.match(h.stdout, /GATEHOUSE_MAIL_RETRY_BASE/);
    const u = await runGatehouse(['help']);
    assert.match(u.stdout, /\bmail-test\b/);
  });
});

describe('the sender thread in `serve`', () => {
  test('a server started with an SMTP URL sends nothing on its own (the outbox is empty)', async () => {
    const sink = await startMailSink();
    const server = await startServer({ env: { GATEHOUSE_SMTP_URL: sink.url, GATEHOUSE_MAIL_RETRY_BASE: 1 } });
    await sleep(1500);
    assert.equal(sink.messages.length, 0);
    assert.equal(sink.attempts, 0);
    assert.deepEqual(outbox(server), []);
    assert.equal(server.jsonLogs().filter((l) => l.msg === 'mail attempt').length, 0);
    assert.equal(await server.stop(), 0);
  });

  test('a message another process left pending is delivered by the server', async () => {
    const sink = await startMailSink();
    const server = await startServer({ env: { GATEHOUSE_SMTP_URL: sink.url, GATEHOUSE_MAIL_RETRY_BASE: 1 } });
    // Another instance (here: mail-test pointed at a dead relay) makes one
    // attempt and dies before the retry, which is 3 s later. Port 1: see
    // 'no SMTP server listening' above.
    const deadPort = 1;
    const env = { ...server.env, GATEHOUSE_SMTP_URL: `smtp://127.0.0.1:${deadPort}`, GATEHOUSE_MAIL_RETRY_BASE: 3 };
    const child = spawn(BINARY, ['mail-test', TO], { env, cwd: server.dir, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      const first = await waitFor(() => {
        const rows = sql(server, 'SELECT outcome FROM mail_attempts');
        return rows.length >= 1 ? rows : null;
      }, 5000, 20);
      assert.ok(first, 'the other process made its first attempt');
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const msg = await sink.waitFor((m) => m.to === TO, 10_000);
    // The relay accepted it a moment before the server records the attempt.
    const row = await waitFor(() => outbox(server).find((o) => o.status === 'sent'), 3000);
    assert.ok(row, JSON.stringify(outbox(server)));
    assert.equal(msg.messageId, `<${row.id}@localhost>`);
    assert.deepEqual(attempts(server, row.id).map((a) => a.outcome), ['retry', 'sent']);
    // The row is written just before the log line.
    const logged = await waitFor(() => server.jsonLogs().some(
      (l) => l.msg === 'mail attempt' && l.outcome === 'sent' && l.id === row.id), 3000);
    assert.ok(logged, `the server logged its attempt:\n${server.logs().join('\n')}`);
  });

  test('a relay that says nothing for 4 s holds up no request: sign-up, verification and health answer at once; the code arrives when it talks', async () => {
    const sink = await startMailSink();
    // In front of the sink: a relay that accepts the connection and stays
    // silent for 4 s (no greeting) before it passes the bytes through.
    const held = new Set();
    const relay = net.createServer((client) => {
      held.add(client);
      client.on('error', () => {});
      setTimeout(() => {
        const up = net.connect(sink.port, '127.0.0.1');
        up.on('error', () => client.destroy());
        client.pipe(up);
        up.pipe(client);
      }, 4000);
    });
    await new Promise((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      const server = await startServer({
        env: { GATEHOUSE_SMTP_URL: `smtp://127.0.0.1:${relay.address().port}`, GATEHOUSE_MAIL_RETRY_BASE: 1 },
      });
      const timed = async (fn) => {
        const t0 = Date.now();
        const r = await fn();
        return { r, ms: Date.now() - t0 };
      };
      const email = `slowrelay-${Date.now()}@example.com`;
      const b = new Browser(server);
      const up = await timed(() => b.post('/api/v1/signup', { email, password: 'Lantern-Harbor-Quill-58' }));
      assert.equal(up.r.status, 200, up.r.text);
      assert.equal(up.r.json.status, 'verification_required');
      assert.ok(up.ms < 1500, `sign-up took ${up.ms} ms`);
      const connected = await waitFor(() => held.size >= 1, 2000);
      assert.ok(connected, 'the server is delivering (connected to the relay) while it answers');
      // While that delivery waits for the relay's greeting, the server answers.
      const other = new Browser(server);
      const second = await timed(() => other.post('/api/v1/signup', { email: `other-${email}`, password: 'Lantern-Harbor-Quill-59' }));
      assert.equal(second.r.status, 200, second.r.text);
      assert.ok(second.ms < 1500, `a second sign-up took ${second.ms} ms`);
      const wrong = await timed(() => b.post('/api/v1/verify', { flow_id: up.r.json.flow_id, code: '000000' }));
      assert.equal(wrong.r.status, 400, wrong.r.text);
      assert.ok(wrong.ms < 1500, `a verification took ${wrong.ms} ms`);
      for (let i = 0; i < 5; i++) {
        const live = await timed(() => fetch(`${server.url}/healthz/live`));
        assert.equal(live.r.status, 200);
        assert.ok(live.ms < 500, `health check took ${live.ms} ms`);
      }
      assert.equal(sink.messages.length, 0, 'nothing was delivered yet: the relay is still silent');
      // Once the relay talks, the code arrives and works.
      const msg = await sink.waitFor(sentTo(email), 15_000);
      const ok = await b.post('/api/v1/verify', { flow_id: up.r.json.flow_id, code: codeFrom(msg) });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.status, 'signed_in');
      assert.equal(await server.stop(), 0);
    } finally {
      for (const c of held) c.destroy();
      await new Promise((resolve) => relay.close(resolve));
    }
  });

  test('a server with a mail relay shuts down promptly with exit 0', async () => {
    const sink = await startMailSink();
    const server = await startServer({ env: { GATEHOUSE_SMTP_URL: sink.url } });
    const t0 = Date.now();
    assert.equal(await server.stop(), 0);
    assert.ok(Date.now() - t0 < 3000, `stop took ${Date.now() - t0} ms`);
  });

  test('without GATEHOUSE_SMTP_URL the server warns once that mail delivery is off', async () => {
    const server = await startServer();
    const warns = server.jsonLogs().filter((l) => l.level === 'warn' && /mail/i.test(l.msg));
    assert.equal(warns.length, 1, server.logs().join('\n'));
    assert.match(warns[0].detail, /GATEHOUSE_SMTP_URL/);
    assert.equal(await server.stop(), 0);
  });
});

/** A self-signed certificate for 127.0.0.1 (made now with openssl, nothing committed). */
function selfSigned() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-smtp-tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: fs.readFileSync(key), cert: fs.readFileSync(cert), certFile: cert };
}

// ASVS 5.0 12.3.1 (TLS for outbound connections): smtp:// upgrades with
// STARTTLS when the relay offers it, and with GATEHOUSE_SMTP_TLS=required
// (the default for a relay not on loopback) never sends in clear.
describe('SMTP STARTTLS', () => {
  const tls = selfSigned();

  test('a loopback relay offering STARTTLS gets the mail over TLS (certificate checked against GATEHOUSE_SMTP_CA_FILE)', async () => {
    const sink = await startMailSink({ tls });
    const server = await startServer({ env: { GATEHOUSE_SMTP_URL: sink.url, GATEHOUSE_SMTP_CA_FILE: tls.certFile } });
    const r = await mailTest(server, [TO]);
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    const msg = await sink.waitFor((m) => m.to === TO, 5000);
    assert.equal(msg.secure, true, 'delivered over STARTTLS');
  });

  test('required: the same relay with GATEHOUSE_SMTP_TLS=required still delivers over TLS', async () => {
    const sink = await startMailSink({ tls });
    const server = await startServer({
      env: { GATEHOUSE_SMTP_URL: sink.url, GATEHOUSE_SMTP_CA_FILE: tls.certFile, GATEHOUSE_SMTP_TLS: 'required' },
    });
    const r = await mailTest(server, [TO]);
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.equal((await sink.waitFor((m) => m.to === TO, 5000)).secure, true);
  });

  test('required and a relay without STARTTLS: nothing is sent in clear, the attempts are recorded as failed', async () => {
    const sink = await startMailSink();
    const server = await startServer({
      env: { GATEHOUSE_SMTP_URL: sink.url, GATEHOUSE_SMTP_TLS: 'required', GATEHOUSE_MAIL_RETRY_BASE: 1 },
    });
    const r = await mailTest(server, ['--timeout', '2', TO]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(sink.messages.length, 0, 'no message reached the relay');
    const [row] = outbox(server);
    assert.equal(row.status, 'failed');
    const rows = attempts(server, row.id);
    assert.ok(rows.length >= 1);
    for (const a of rows) {
      assert.notEqual(a.outcome, 'sent');
      assert.match(a.error, /TLS|SSL/i);
    }
  });

  test('a certificate the relay cannot prove (no CA file) is refused, not skipped', async () => {
    const sink = await startMailSink({ tls });
    const server = await startServer({ env: { GATEHOUSE_SMTP_URL: sink.url, GATEHOUSE_MAIL_RETRY_BASE: 1 } });
    const r = await mailTest(server, ['--timeout', '2', TO]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(sink.messages.length, 0);
  });
});

describe('mail settings', () => {
  for (const [name, value] of [
    ['GATEHOUSE_MAIL_FROM', 'Gatehouse <no-reply@localhost>\r\nBcc: victim@example.com'],
    ['GATEHOUSE_MAIL_FROM', 'no address here'],
    ['GATEHOUSE_MAIL_RETRY_BASE', '0'],
    ['GATEHOUSE_MAIL_RETRY_BASE', 'soon'],
    ['GATEHOUSE_SMTP_TLS', 'sometimes'],
    ['GATEHOUSE_OUTBOUND_ALLOW', 'localhost'],
    ['GATEHOUSE_MAX_SESSIONS_PER_ACCOUNT', '0'],
  ]) {
    test(`${name}=${JSON.stringify(value)} → exit 2 naming the setting`, async () => {
      const port = await freePort();
      const r = await runGatehouse(['serve'], {
        env: { GATEHOUSE_LISTEN: `127.0.0.1:${port}`, GATEHOUSE_DATA_DIR: '/nonexistent/never', [name]: value },
        timeoutMs: 5000,
      });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(name));
      assert.equal(r.stderr.trim().split('\n').length, 1);
    });
  }
});

// Development mail (issue 19 item 1): GATEHOUSE_SMTP_URL=log: writes every
// mail to the log and to DATA_DIR/mail/ instead of sending it, on a
// loopback listen address only.
describe('development mail (GATEHOUSE_SMTP_URL=log:)', () => {
  test('a sign-up\'s code is in the log and in DATA_DIR/mail/<id>.eml (0600), and it verifies the account', async () => {
    const server = await startServer({ env: { GATEHOUSE_SMTP_URL: 'log:' } });
    try {
      assert.ok(server.jsonLogs().some((l) => l.msg === 'development mail' && /instead of being sent/.test(l.detail ?? JSON.stringify(l))),
        'a start-up line says mail is not sent');
      const b = new Browser(server);
      const email = `devmail-${randomHex(4)}@example.com`;
      const r = await b.post('/api/v1/signup', { email, password: `Lantern-${randomHex(8)}-Orchard` });
      assert.equal(r.status, 200, r.text);
      let entry;
      await waitFor(() => (entry = server.jsonLogs().find((l) => l.msg === 'development mail' && l.to === email)), 10_000);
      assert.equal(entry.subject, 'Verify your email address');
      const code = /(?<!\d)(\d{6})(?!\d)/.exec(entry.text.replace(/https?:\/\/\S+/g, ' '))[1];
      assert.equal(path.dirname(entry.file), path.join(server.dir, 'mail'));
      const st = fs.statSync(entry.file);
      assert.equal(st.mode & 0o777, 0o600, 'the file holds a code: owner only');
      const eml = fs.readFileSync(entry.file, 'utf8');
      assert.match(eml, new RegExp(`^To: ${email}\\r$`, 'm'));
      assert.ok(eml.includes(code) && /Content-Type: text\/html/.test(eml));
      const v = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code });
      assert.equal(v.status, 200, v.text);
      const row = sql(server, `SELECT status FROM mail_outbox WHERE to_addr = '${email}'`);
      assert.equal(row[0].status, 'sent');
    } finally {
      await server.stop();
    }
  });

  test('log: on an address others can reach → exit 2 naming the setting, nothing started', async () => {
    const port = await freePort();
    const r = await runGatehouse(['serve'], {
      env: { GATEHOUSE_LISTEN: `0.0.0.0:${port}`, GATEHOUSE_DATA_DIR: '/nonexistent/never', GATEHOUSE_SMTP_URL: 'log:' },
      timeoutMs: 5000,
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /GATEHOUSE_SMTP_URL: log: .*loopback/);
  });
});
