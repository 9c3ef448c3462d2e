// Geolocation in the risk engine (docs/risk.md "Geolocation"): with
// GATEHOUSE_GEOIP_DB and GATEHOUSE_ASN_DB naming MaxMind-format databases,
// a sign-in carries its country and network operator, new_country and
// new_asn compare them with the account's latest sign-ins, and
// impossible_travel compares the great-circle distance from the last
// sign-in's place over the time since with GATEHOUSE_RISK_TRAVEL_KMH. The
// databases are written for the test by Debian's libmaxmind-db-writer-perl
// (scripts/install-deps.sh --test), placing local addresses (Linux routes
// 127/8 to loopback) in Berlin, Potsdam and New York.
//
// SECURITY.md #33 (notify on suspicious sign-in, ASVS 6.3.5): the first test
// checks the second step a sign-in from far away is asked and the reason its
// answer gives; no notification mail is checked here.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { startServer, stopAll, makeTempDir, runGatehouse } from './lib/server.mjs';
import { newUser } from './lib/browser.mjs';
import { BrowserFrom } from './lib/from.mjs';

const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

// Writes a city or ASN database: NET,VALUES... per network.
const WRITER = String.raw`
use strict; use warnings;
use MaxMind::DB::Writer::Tree;
my ($kind, $out, @nets) = @ARGV;
my %types = (country => 'map', iso_code => 'utf8_string', location => 'map',
  latitude => 'double', longitude => 'double',
  autonomous_system_number => 'uint32', autonomous_system_organization => 'utf8_string');
my $tree = MaxMind::DB::Writer::Tree->new(ip_version => 6, record_size => 24,
  database_type => $kind eq 'asn' ? 'GeoLite2-ASN' : 'GeoLite2-City', languages => ['en'],
  description => { en => 'gatehouse test' }, map_key_type_callback => sub { $types{$_[0]} },
  remove_reserved_networks => 0, alias_ipv6_to_ipv4 => 1);
for my $n (@nets) {
  my ($net, @v) = split /,/, $n;
  $tree->insert_network($net, $kind eq 'asn'
    ? { autonomous_system_number => $v[0] + 0, autonomous_system_organization => $v[1] }
    : { country => { iso_code => $v[0] }, location => { latitude => $v[1] + 0, longitude => $v[2] + 0 } });
}
open my $fh, '>:raw', $out or die "$out: $!"; $tree->write_tree($fh); close $fh;
`;

const BERLIN = '127.0.50.1';
const POTSDAM = '127.0.52.1'; // 27 km from Berlin, the same operator
const NEW_YORK = '127.0.51.1';

let writerMissing = false;
try {
  execFileSync('perl', ['-MMaxMind::DB::Writer::Tree', '-e', '1'], { stdio: 'ignore' });
} catch {
  writerMissing = 'libmaxmind-db-writer-perl is not installed (scripts/install-deps.sh --test)';
}

class From extends BrowserFrom {
  raw(method, p, { body, headers = {} } = {}) {
    return super.raw(method, p, { body, headers: { 'user-agent': CHROME, ...headers } });
  }
}

const ctx = {};
before(async () => {
  if (writerMissing) return;
  const dir = await makeTempDir();
  const writer = path.join(dir, 'writer.pl');
  fs.writeFileSync(writer, WRITER);
  ctx.city = path.join(dir, 'city.mmdb');
  ctx.asn = path.join(dir, 'asn.mmdb');
  execFileSync('perl', [writer, 'city', ctx.city,
    '127.0.50.0/24,DE,52.52,13.405', '127.0.52.0/24,DE,52.39,13.065', '127.0.51.0/24,US,40.713,-74.006']);
  execFileSync('perl', [writer, 'asn', ctx.asn,
    '127.0.50.0/24,64500,Berlin Net', '127.0.52.0/24,64500,Berlin Net', '127.0.51.0/24,64501,New York Net']);
  ctx.server = await startServer({ env: { GATEHOUSE_GEOIP_DB: ctx.city, GATEHOUSE_ASN_DB: ctx.asn } });
});
after(async () => {
  await stopAll();
});

async function latest(userId) {
  const res = await fetch(`${ctx.server.url}/admin/v1/users/${userId}/risk`, { headers: { authorization: `Bearer ${ctx.server.token}` } });
  assert.equal(res.status, 200);
  return (await res.json()).decisions[0];
}

const signIn = (user, address) => new From(ctx.server, address).post('/api/v1/signin', { email: user.email, password: user.password });

test('SECURITY.md #33: a sign-in from the other side of the world minutes after one in Berlin asks for a second step, and says why; a nearby one passes', { skip: writerMissing }, async () => {
  const user = await newUser(ctx.server, 'geo');
  const first = await signIn(user, BERLIN);
  assert.equal(first.status, 200, first.text);
  assert.equal(first.json.status, 'signed_in');
  let d = await latest(user.id);
  assert.equal(d.signals.country, 'DE');
  assert.equal(d.signals.asn, 'AS64500');
  assert.equal(d.signals.new_country, 1); // no sign-in before
  assert.equal(d.signals.impossible_travel, 0);

  // the honest case: Potsdam, 27 km away, moments later
  const near = await signIn(user, POTSDAM);
  assert.equal(near.status, 200, near.text);
  assert.equal(near.json.status, 'signed_in');
  d = await latest(user.id);
  assert.equal(d.signals.new_country, 0);
  assert.equal(d.signals.new_asn, 0);
  assert.equal(d.signals.impossible_travel, 0);
  assert.equal(d.outcome, 'allow');

  // New York, 6,400 km away, moments later: faster than any aeroplane
  const far = await signIn(user, NEW_YORK);
  assert.equal(far.status, 200, far.text);
  assert.equal(far.json.status, 'email_code_required'); // no second factor: the mailbox
  assert.equal(far.json.reason, 'impossible_travel');
  d = await latest(user.id);
  assert.equal(d.journey, 'signin');
  assert.equal(d.outcome, 'step_up');
  assert.equal(d.signals.country, 'US');
  assert.equal(d.signals.new_country, 1);
  assert.equal(d.signals.new_asn, 1);
  assert.equal(d.signals.impossible_travel, 1);
  const rules = d.fired.map((f) => f.rule);
  assert.ok(rules.includes('impossible_travel') && rules.includes('new_country'), rules.join());
});

test('deletion keeps the decisions without the country and network operator they saw', { skip: writerMissing }, async () => {
  const user = await newUser(ctx.server, 'geodel');
  const r = await signIn(user, BERLIN);
  assert.equal(r.status, 200, r.text);
  const d = await latest(user.id);
  assert.equal(d.signals.country, 'DE');
  const del = await runGatehouse(['user', 'delete', user.id], { env: ctx.server.env, timeoutMs: 15_000 });
  assert.equal(del.code, 0, del.stderr);
  const res = await fetch(`${ctx.server.url}/admin/v1/risk/decisions/${d.id}`, { headers: { authorization: `Bearer ${ctx.server.token}` } });
  const kept = await res.json();
  assert.match(kept.user_id, /^pseud:/);
  assert.equal(kept.signals.country, undefined);
  assert.equal(kept.signals.asn, undefined);
  assert.equal(kept.signals.new_country, 1);
});

// Needs no database writer: it runs wherever the binary was built with
// libmaxminddb (a build without it refuses any database, naming none).
test('a database file that is not one stops the start, naming the file', async (t) => {
  const dir = await makeTempDir();
  const bad = path.join(dir, 'bad.mmdb');
  fs.writeFileSync(bad, 'not a MaxMind database');
  let message = '';
  await assert.rejects(startServer({ env: { GATEHOUSE_GEOIP_DB: bad } }), (e) => { message = e.message; return true; });
  if (/need a build with libmaxminddb/.test(message)) {
    t.skip('this gatehouse was built without libmaxminddb');
    return;
  }
  assert.ok(message.includes(bad), message);
});
