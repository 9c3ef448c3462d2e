// `gatehouse tenant update ID --policy FILE` (docs/tenants.md "Policy")
// against a running server: a valid file applies within seconds, without a
// restart; an oversized file, broken JSON, a member the policy does not
// know and a value out of bounds are refused with a message naming the
// problem, and change nothing (the stored tenant and what the server does).
// Runs on both backends (GATEHOUSE_TEST_DATABASE_URL for PostgreSQL).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { startServer, stopAll, runGatehouse, randomHex, sql, sleep, BACKEND } from './lib/server.mjs';
import { Browser, newUser } from './lib/browser.mjs';
import { tenantView, admin } from './lib/tenants.mjs';

after(stopAll);

const ctx = {};
const POLICY_FILE_MAX = 64 * 1024; // src/cmd/gh_cmd_tenant.c

/** Writes text to a fresh file in the server's directory; returns its path. */
function policyFile(text) {
  const file = path.join(ctx.server.dir, `policy-${randomHex(4)}.json`);
  fs.writeFileSync(file, text);
  return file;
}

const cli = (args) => runGatehouse(['tenant', ...args], { env: ctx.server.env, timeoutMs: 20_000 });

async function show(id) {
  const r = await cli(['show', id]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** Polls async fn until it returns something truthy or ms pass; returns the last value. */
async function until(fn, ms) {
  const deadline = Date.now() + ms;
  let v = await fn();
  while (!v && Date.now() < deadline) {
    await sleep(200);
    v = await fn();
  }
  return v;
}

const passwordSignIn = (T, user) => new Browser(T).post('/api/v1/signin', { email: user.email, password: user.password });

describe(`tenant update --policy FILE (${BACKEND})`, () => {
  before(async () => {
    ctx.server = await startServer();
    ctx.id = `polcli-${randomHex(3)}`;
    const made = await cli(['create', ctx.id, '--name', 'Policy by file']);
    assert.equal(made.code, 0, made.stderr);
    ctx.T = tenantView(ctx.server, ctx.id);
    ctx.user = await newUser(ctx.T, 'polcli');
  });

  test('a valid file applies: the running server follows it within seconds', async () => {
    const { T, user, id } = ctx;
    assert.equal((await passwordSignIn(T, user)).status, 200, 'password sign-in is allowed by default');
    const file = policyFile(JSON.stringify({ signin_methods: ['email_code', 'passkey'], password_min_length: 20, session_idle_seconds: 900 }));
    const r = await cli(['update', id, '--policy', file]);
    assert.equal(r.code, 0, r.stderr);
    const shown = JSON.parse(r.stdout).policy;
    assert.deepEqual(shown.signin_methods, ['email_code', 'passkey']);
    assert.equal(shown.password_min_length, 20);
    assert.equal(shown.session_idle_seconds, 900);
    assert.equal(shown.mfa_required, false, 'members the file leaves out take their defaults');
    // the server compares the tenants table's fingerprint once a second
    const refused = await until(async () => {
      const s = await passwordSignIn(T, user);
      return s.status === 403 ? s : null;
    }, 5000);
    assert.ok(refused, 'the running server refuses password sign-in within 5 s');
    assert.equal(refused.json.error, 'method_not_allowed');
    // the default tenant keeps its own policy
    const root = await admin(ctx.server, 'GET', '/admin/v1/tenants/default');
    assert.equal(root.status, 200, root.text);
    assert.equal(root.body.policy.signin_methods.includes('password'), true);

    // and back: password allowed again, from a file on the same path rewritten
    fs.writeFileSync(file, JSON.stringify({ signin_methods: ['password'] }));
    assert.equal((await cli(['update', id, '--policy', file])).code, 0);
    const allowed = await until(async () => (await passwordSignIn(T, user)).status === 200, 5000);
    assert.ok(allowed, 'password sign-in works again within 5 s');
  });

  test('an oversized file, broken JSON, unknown members and bad values are refused by name and change nothing', async () => {
    const { T, user, id } = ctx;
    const before = await show(id);
    const row = () => sql(ctx.server, `SELECT policy, updated_at FROM tenants WHERE id = '${id}'`)[0];
    const rowBefore = row();
    // a valid policy padded with spaces past the limit: refused for its size alone
    const padded = JSON.stringify({ signin_methods: ['passkey'] }) + ' '.repeat(POLICY_FILE_MAX);
    const cases = [
      { text: padded, why: new RegExp(`is over ${POLICY_FILE_MAX} bytes`) },
      { text: '{"signin_methods": ["passkey"', why: /invalid JSON at line 1/ },
      { text: '{"signin_method": ["passkey"]}', why: /unknown policy member: signin_method\b/ },
      { text: '{"signin_methods": ["passkey"], "allow_everyone": true}', why: /unknown policy member: allow_everyone/ },
      { text: '{"signin_methods": ["telepathy"]}', why: /signin_methods\[0\] must be one of/ },
      { text: '{"password_min_length": 4}', why: /password_min_length must be an integer from 8 to 64/ },
      { text: '[["passkey"]]', why: /the policy must be a JSON object/ },
      { text: '', why: /\.json: is empty/ },
      { text: `{"signin_methods": ${'['.repeat(12)}${']'.repeat(12)}}`, why: /nesting deeper than 8 levels/ },
    ];
    for (const c of cases) {
      const r = await cli(['update', id, '--policy', policyFile(c.text)]);
      assert.equal(r.code, 1, `${c.why}: exit ${r.code}, ${r.stderr}`);
      assert.match(r.stderr, c.why);
      assert.equal(r.stdout, '', 'nothing printed as if it had worked');
    }
    const missing = await cli(['update', id, '--policy', path.join(ctx.server.dir, 'no-such-policy.json')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no-such-policy\.json: cannot be read/);

    assert.deepEqual(await show(id), before, 'the tenant is as it was');
    assert.deepEqual(row(), rowBefore, 'the stored policy and updated_at are untouched');
    assert.equal((await passwordSignIn(T, user)).status, 200, 'the server still follows the policy in force');
  });
});
