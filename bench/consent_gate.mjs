// The consent gate's cost per signed-in request (issue 20; docs/privacy.md
// "The gate's cost"): a server of this build, one signed-in customer, N
// sequential GET /api/v1/sessions with the session cookie, with 0 purposes
// and with 5 (one required with a document, four optional with one), the
// customer having decided all. Prints µs per request (median of 5 rounds).
//   node bench/consent_gate.mjs [N]      (GATEHOUSE_TEST_DATABASE_URL for PostgreSQL)
import { startServer, stopAll, request } from '../tests/e2e/lib/server.mjs';
import { newUser, signedIn } from '../tests/e2e/lib/browser.mjs';

const N = Number(process.argv[2] || 2000);

async function admin(server, path, body) {
  const r = await request(server, 'POST', path, {
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (r.status !== 201) throw new Error(`${path}: ${r.status} ${r.text}`);
}

async function round(server, b) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const r = await b.raw('GET', '/api/v1/sessions');
    if (r.status !== 200) throw new Error(`status ${r.status}`);
  }
  return Number(process.hrtime.bigint() - t0) / 1000 / N;
}

async function measure(server, b) {
  const us = [];
  for (let k = 0; k < 5; k++) us.push(await round(server, b));
  us.sort((x, y) => x - y);
  return us[2];
}

const server = await startServer();
try {
  const u = await newUser(server, 'gate');
  const b = await signedIn(server, u);
  await measure(server, b); // warm
  const none = await measure(server, b);
  for (let i = 0; i < 5; i++) {
    const key = `p${i}`;
    await admin(server, '/admin/v1/consent/purposes', { key, title: `Purpose ${i}`, required: i === 0 });
    await admin(server, `/admin/v1/consent/purposes/${key}/documents`,
      { version: '1', url: `https://example.com/${key}`, text: `text ${i} `.repeat(200), effective_at: '2020-01-01' });
  }
  await b.post('/api/v1/consent/update', { decision: 'accept' });
  const five = await measure(server, b);
  console.log(JSON.stringify({ backend: process.env.GATEHOUSE_TEST_DATABASE_URL ? 'postgresql' : 'sqlite', requests: N, us_per_request_0_purposes: +none.toFixed(1), us_per_request_5_purposes: +five.toFixed(1) }));
} finally {
  await stopAll();
}
