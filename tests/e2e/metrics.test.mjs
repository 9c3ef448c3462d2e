// Journey metrics (docs/metrics.md): a real Prometheus (Debian's package)
// scrapes Gatehouse's metrics listener with the admin token, a scripted
// journey runs, and PromQL over Prometheus' HTTP API returns the funnel.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { startServer, stopAll, freePort, makeTempDir, randomHex, request, sleep, REPO_ROOT } from './lib/server.mjs';
import { startMailSink, codeFrom, sentTo as to } from './lib/mail.mjs';
import { Browser, newUser, signedIn } from './lib/browser.mjs';
import { enrolTotp, codeAt, currentStep, wrongCode, awayFromStepEdge } from './lib/factors.mjs';
import { registerClient, codeTokens, refresh, REDIRECT } from './lib/oidc.mjs';

after(stopAll);

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
const PROMTOOL = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';

/** Starts Prometheus on loopback with one scrape job for target (host:port),
 * its own config and storage in a temporary directory. */
async function startPrometheus(target, token) {
  const dir = await makeTempDir();
  const port = await freePort();
  // JSON is YAML: no YAML library needed to write the config.
  const config = {
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    scrape_configs: [{
      job_name: 'gatehouse',
      scrape_interval: '1s',
      scrape_timeout: '1s',
      metrics_path: '/metrics',
      authorization: { credentials: token },
      static_configs: [{ targets: [target] }],
    }],
  };
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), JSON.stringify(config));
  const proc = spawn(PROMETHEUS, [
    `--config.file=${path.join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`prometheus exited: ${log}`);
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) break;
    } catch { /* not listening yet */ }
    if (Date.now() > until) throw new Error(`prometheus not ready: ${log}`);
    await sleep(100);
  }
  return {
    url,
    log: () => log,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((resolve) => proc.once('exit', resolve));
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One instant PromQL query: the value of its only sample, or null. */
async function query(prom, promql) {
  const res = await fetch(`${prom.url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
  const body = await res.json();
  assert.equal(body.status, 'success', JSON.stringify(body));
  const r = body.data.result;
  return r.length ? Number(r[0].value[1]) : null;
}

/** Waits until every query gives its expected value (a scrape after the
 * journey has landed), then returns what each gave. */
async function expectQueries(prom, want, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  let got;
  for (;;) {
    got = {};
    for (const q of Object.keys(want)) got[q] = await query(prom, q);
    if (Object.keys(want).every((q) => got[q] === want[q]) || Date.now() > until) break;
    await sleep(250);
  }
  assert.deepEqual(got, want);
}

async function metricsText(url, token) {
  const res = await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('metrics: /metrics, scraped by a real Prometheus', () => {
  let server;
  let mail;
  let prom;
  let metricsUrl;

  before(async () => {
    mail = await startMailSink();
    const metricsPort = await freePort();
    server = await startServer({
      env: { GATEHOUSE_SMTP_URL: mail.url, GATEHOUSE_METRICS_LISTEN: `127.0.0.1:${metricsPort}` },
    });
    metricsUrl = `http://127.0.0.1:${metricsPort}`;
    prom = await startPrometheus(`127.0.0.1:${metricsPort}`, server.token);
  });
  after(async () => { await prom?.stop(); await server?.stop(); await mail?.stop(); });

  test('without the admin token: 401 on both listeners, and no series in the answer', async () => {
    for (const url of [server.url, metricsUrl]) {
      for (const token of [null, 'not-the-token', `${server.token}x`]) {
        const r = await metricsText(url, token);
        assert.equal(r.status, 401, `${url} with ${token}`);
        assert.doesNotMatch(r.text, /gatehouse_/);
      }
    }
  });

  test('the metrics listener serves /metrics only', async () => {
    const r = await fetch(`${metricsUrl}/healthz/ready`);
    assert.equal(r.status, 404);
    const s = await fetch(`${metricsUrl}/api/v1/signin`, { method: 'POST', body: '{}' });
    assert.equal(s.status, 404);
  });

  test('the text is Prometheus 0.0.4 that promtool accepts, with the series of later features at zero', async () => {
    const r = await metricsText(server.url, server.token);
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/plain; version=0\.0\.4/);
    assert.match(r.text, /^# TYPE gatehouse_risk_decisions_total counter$/m);
    assert.match(r.text, /^gatehouse_risk_decisions_total\{tenant="default",outcome="deny",rule="none"\} 0$/m);
    assert.match(r.text, /^gatehouse_rate_limited_total\{tenant="default",class="signin"\} 0$/m);
    assert.match(r.text, /^gatehouse_signups_total\{tenant="default",stage="abandoned"\} 0$/m);
    assert.match(r.text, /^gatehouse_mail_outbox_backlog \d+$/m);
    if (fs.existsSync(PROMTOOL)) {
      const p = spawnSync(PROMTOOL, ['check', 'metrics'], { input: r.text, encoding: 'utf8' });
      assert.equal(p.status, 0, `promtool: ${p.stdout}${p.stderr}`);
    }
  });

  test('a scripted journey shows in PromQL: sign-up funnel, sign-in outcomes, recovery, tokens by grant', async () => {
    // sign-up, then the emailed code
    const b = new Browser(server);
    const email = `funnel-${randomHex(4)}@example.com`;
    const password = `Harbour-${randomHex(6)}-Lantern`;
    const r = await b.post('/api/v1/signup', { email, password });
    assert.equal(r.status, 200, r.text);
    const msg = await mail.waitFor(to(email), 10_000);
    const v = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code: codeFrom(msg) });
    assert.equal(v.status, 200, v.text);

    // a wrong password, then the right one, in another browser
    const b2 = new Browser(server);
    const wrong = await b2.post('/api/v1/signin', { email, password: `${password}-no` });
    assert.equal(wrong.status, 401);
    const right = await b2.post('/api/v1/signin', { email, password });
    assert.equal(right.status, 200, right.text);

    // tokens: a code grant and a refresh
    const reg = await registerClient(server, { client_name: 'Metrics app' });
    const t = await codeTokens(server, b2, reg);
    assert.equal((await refresh(server, reg, t.refresh_token)).status, 200);

    // a forgotten password asked for: the account's, and an unknown address (no event)
    const b3 = new Browser(server);
    assert.equal((await b3.post('/api/v1/recovery', { email })).status, 200);
    assert.equal((await new Browser(server).post('/api/v1/recovery', { email: `nobody-${randomHex(4)}@example.com` })).status, 200);

    await expectQueries(prom, {
      'gatehouse_recoveries_total{stage="started"}': 1,
      'gatehouse_recoveries_total{stage="completed"}': 0,
      'gatehouse_signups_total{stage="started"}': 1,
      'gatehouse_signups_total{stage="completed"}': 1,
      'gatehouse_signups_total{stage="abandoned"}': 0,
      'gatehouse_signins_total{outcome="failure",reason="wrong_password"}': 1,
      'sum(gatehouse_signins_total{outcome="success"})': 2, // the verified sign-up, then the password
      'gatehouse_tokens_issued_total{grant_type="authorization_code"}': 1,
      'gatehouse_tokens_issued_total{grant_type="refresh_token"}': 1,
      'gatehouse_tokens_issued_total{grant_type="client_credentials"}': 0,
      'sum(gatehouse_http_requests_total{route="/api/v1/signin",method="POST",code="4xx"})': 1,
      'sum(gatehouse_http_requests_total{route="/api/v1/signin",method="POST",code="2xx"})': 1,
      'gatehouse_http_request_duration_seconds_count{route="/token"}': 2,
      'gatehouse_rate_limited_total{class="signin"}': 0,
    });
    // the funnel's conversion, as a dashboard computes it
    assert.equal(await query(prom,
      'gatehouse_signups_total{stage="completed"} / ignoring(stage) gatehouse_signups_total{stage="started"}'), 1);
  });

  test('second factors and step-up: asked, a wrong code, passed by method', async () => {
    const user = await newUser(server, 'metrics-mfa');
    const b = await signedIn(server, user); // password only: aal1
    const { secret } = await enrolTotp(b);

    // /authorize asks this aal1 session for aal2: a step-up
    const reg = await registerClient(server, { client_name: 'Step-up app' });
    const q = new URLSearchParams({
      client_id: reg.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid',
      state: randomHex(8), code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256', acr_values: 'urn:gatehouse:aal2',
    });
    const az = await b.raw('GET', `/authorize?${q}`);
    assert.equal(az.status, 302, az.text);
    assert.match(az.headers.get('location'), /^\/signin\/mfa\?acr=/);

    // a sign-in: the password, a wrong code, the right code
    const b2 = new Browser(server);
    const p = await b2.post('/api/v1/signin', { email: user.email, password: user.password });
    assert.equal(p.json.status, 'mfa_required', p.text);
    await awayFromStepEdge();
    assert.equal((await b2.post('/api/v1/signin/mfa', { code: wrongCode(secret) })).status, 401);
    const m = await b2.post('/api/v1/signin/mfa', { code: codeAt(secret, currentStep()) });
    assert.equal(m.status, 200, m.text);

    await expectQueries(prom, {
      'gatehouse_stepups_total{stage="asked"}': 1,
      'gatehouse_signins_total{outcome="challenged",reason="second_factor"}': 1,
      'gatehouse_second_factor_total{stage="challenged",method="any"}': 2, // the step-up and the sign-in
      'gatehouse_second_factor_total{stage="failed",method="any"}': 1,
      'gatehouse_second_factor_total{stage="passed",method="totp"}': 1,
    });
  });

  test('every query of the Grafana dashboard (docs/grafana-dashboard.json) is PromQL this Prometheus accepts', async () => {
    const dash = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'docs', 'grafana-dashboard.json'), 'utf8'));
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    assert.ok(exprs.length >= 15, `${exprs.length} queries`);
    for (const e of exprs) {
      const promql = e.replaceAll('$tenant', '.*').replaceAll('$__rate_interval', '1m').replaceAll('$__range', '5m');
      assert.doesNotMatch(promql, /\$/, e);
      const res = await fetch(`${prom.url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
      const body = await res.json();
      assert.equal(body.status, 'success', `${e}: ${JSON.stringify(body)}`);
    }
    // the funnel panels find their series
    const metricNames = new Set(exprs.flatMap((e) => e.match(/gatehouse_[a-z_]+/g)));
    const text = (await metricsText(server.url, server.token)).text;
    for (const m of metricNames) assert.match(text, new RegExp(`^${m}[{ ]`, 'm'), m);
  });

  test('label sets stay bounded: random paths and methods add no series', async () => {
    const before = await metricsText(server.url, server.token);
    const tag = randomHex(8);
    for (let i = 0; i < 30; i++) {
      await request(server, 'GET', `/${tag}/${i}/${randomHex(4)}`);
      await request(server, 'POST', `/users/${tag}-${i}`, { body: 'x' });
    }
    await fetch(`${server.url}/${tag}`, { method: 'PROPFIND' });
    const after_ = await metricsText(server.url, server.token);
    assert.doesNotMatch(after_.text, new RegExp(tag));
    const series = (t) => new Set(t.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/ [^ ]+$/, '')));
    const added = [...series(after_.text)].filter((s) => !series(before.text).has(s));
    // at most the unmatched route's series for the methods used
    for (const s of added) assert.match(s, /route="unmatched"|\/metrics/, s);
    assert.ok(added.length <= 8, added.join('\n'));
    // and Prometheus sees one route label value for all of them
    await expectQueries(prom, {
      'count(count by (route) (gatehouse_http_requests_total{route="unmatched"}))': 1,
    });
  });
});
