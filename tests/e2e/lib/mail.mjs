// An SMTP sink for end-to-end tests: a real SMTP server (smtp-server) on a
// free loopback port that keeps every message it accepts, parsed with
// mailparser.
//
//   const sink = await startMailSink();
//   ... env GATEHOUSE_SMTP_URL: sink.url ...
//   const msg = await sink.waitFor((m) => m.to === 'alice@example.com');
//   await sink.stop();
//
// Options:
//   failFirst  - reject the first n deliveries (default 0), so retries can be
//                tested; each rejection is counted in sink.rejected
//   failCode   - the SMTP reply code of a rejection (default 451, "try again
//                later"; a 5xx reply to the message is a permanent refusal)
//   failAt     - where to reject: 'data' (after the message, default) or 'rcpt'
//   tls        - {key, cert} (PEM): offer STARTTLS with this certificate
//                (default: plain SMTP only, no STARTTLS)
//
// Every message is {to, from, fromAddress, fromName, subject, text, html,
// messageId, date, headers, envelope: {from, to: []}, raw, secure}: secure
// is true when the message came over TLS (STARTTLS): `to` and `from`
// are the header addresses as mailparser writes them (a bare address stays
// as it is; a display name is quoted: '"Gatehouse" <no-reply@localhost>').

import assert from 'node:assert/strict';

import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

import { sleep } from './server.mjs';

const running = new Set();

/** A waitFor() predicate: the message is addressed to email. */
export const sentTo = (email) => (m) => JSON.stringify(m.to ?? '').toLowerCase().includes(email.toLowerCase());

/** The 6-digit code in a message's text; a run of digits inside a link's
 * token does not count. */
export function codeFrom(m) {
  const text = (m.text ?? '').replace(/https?:\/\/\S+/g, ' ');
  const found = text.match(/(?<!\d)(\d{6})(?!\d)/);
  assert.ok(found, `no 6-digit code in the mail: ${m.text}`);
  return found[1];
}

/** The link with a flow and its token in a message's text (/verify, or
 * /recover for a password reset), as a URL. */
export function linkFrom(message) {
  const m = /(https?:\/\/\S+\/(?:verify|recover)\?flow=[\w-]+&token=[\w-]+)/.exec(message.text ?? '');
  assert.ok(m, `no verification link in the mail: ${message.text}`);
  return new URL(m[1]);
}

export async function startMailSink({ failFirst = 0, failCode = 451, failAt = 'data', tls = null } = {}) {
  const messages = [];
  const waiters = new Set();
  let rejected = 0;
  let attempts = 0;

  function rejectNow() {
    if (rejected >= failFirst) return null;
    rejected += 1;
    const err = new Error(failCode >= 500 ? 'Mailbox unavailable (test sink)' : 'Try again later (test sink)');
    err.responseCode = failCode;
    return err;
  }

  const server = new SMTPServer({
    // Plain SMTP only unless a certificate is given; no AUTH, as on a
    // local relay.
    disabledCommands: tls ? ['AUTH'] : ['STARTTLS', 'AUTH'],
    ...(tls ? { key: tls.key, cert: tls.cert } : {}),
    authOptional: true,
    logger: false,
    banner: 'Gatehouse test sink',
    size: 10 * 1024 * 1024,
    onRcptTo(address, session, callback) {
      if (failAt === 'rcpt') {
        attempts += 1;
        const err = rejectNow();
        if (err) return callback(err);
      }
      return callback();
    },
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('error', callback);
      stream.on('end', async () => {
        if (failAt === 'data') {
          attempts += 1;
          const err = rejectNow();
          if (err) return callback(err);
        }
        const raw = Buffer.concat(chunks);
        try {
          const parsed = await simpleParser(raw);
          const msg = {
            to: parsed.to?.text ?? '',
            from: parsed.from?.text ?? '',
            fromAddress: parsed.from?.value?.[0]?.address ?? '',
            fromName: parsed.from?.value?.[0]?.name ?? '',
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            messageId: parsed.messageId ?? '',
            date: parsed.date ?? null,
            headers: parsed.headers,
            envelope: {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
            },
            raw: raw.toString('utf8'),
            secure: Boolean(session.secure),
          };
          messages.push(msg);
          for (const w of [...waiters]) w.check(msg);
          callback(null, 'Queued (test sink)');
        } catch (err) {
          callback(err);
        }
      });
    },
  });
  server.on('error', () => { /* a client that hangs up is not a test failure */ });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.server.address();

  const sink = {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    /** Deliveries refused so far because of failFirst. */
    get rejected() { return rejected; },
    /** Deliveries tried so far (accepted or refused). */
    get attempts() { return attempts; },
    /**
     * Resolves with the first message (already received or arriving) for
     * which pred(msg) is true; rejects after timeoutMs.
     */
    waitFor(pred = () => true, timeoutMs = 10_000) {
      const found = messages.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = {
          check(msg) {
            if (!pred(msg)) return;
            waiters.delete(w);
            clearTimeout(w.timer);
            resolve(msg);
          },
        };
        w.timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`no matching mail within ${timeoutMs} ms; received ${messages.length}: ${
            JSON.stringify(messages.map((m) => ({ to: m.to, subject: m.subject })))}`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    async stop() {
      if (!running.has(sink)) return;
      running.delete(sink);
      for (const w of [...waiters]) clearTimeout(w.timer);
      waiters.clear();
      await Promise.race([new Promise((resolve) => server.close(resolve)), sleep(2000)]);
    },
  };
  running.add(sink);
  return sink;
}

/** Stops every sink still running (for an `after` hook). */
export async function stopAllMailSinks() {
  await Promise.all([...running].map((s) => s.stop()));
}
