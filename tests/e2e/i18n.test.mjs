// Pages and mails in the customer's language (issue 20 item 7;
// docs/i18n.md), over real HTTP against the real server: the language comes
// from ui_locales of the authorization request (carried in return_to), then
// the account's saved locale, then the language switch's cookie, then
// Accept-Language; English by default. German mails in the SMTP sink; a
// catalog dropped into GATEHOUSE_LOCALES_DIR adds a language with no code
// change; the German catalog lacks no string of any page, script or mail.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

import {
  startServer, stopAll, randomHex, makeTempDir, freePort, runGatehouse, REPO_ROOT,
} from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, sentTo, codeFrom } from './lib/mail.mjs';
import { Browser, newUser, signedIn } from './lib/browser.mjs';
import { registerClient, REDIRECT } from './lib/oidc.mjs';
import { enrolTotp } from './lib/factors.mjs';

const ctx = {};
before(async () => {
  ctx.mail = await startMailSink();
  ctx.server = await startServer({ env: { GATEHOUSE_SMTP_URL: ctx.mail.url } });
});
after(async () => {
  await stopAll();
  await stopAllMailSinks();
});

const langOf = (html) => /<html lang="([^"]+)"/.exec(html)?.[1];
const h1Of = (html) => /<h1[^>]*>([^<]*)<\/h1>/.exec(html)?.[1];

/** GET a page as a browser would (b: a Browser for its cookies, or none). */
async function page(p, headers = {}, b = new Browser(ctx.server)) {
  const r = await b.raw('GET', p, { headers: { accept: 'text/html', ...headers } });
  return { status: r.status, html: r.text, lang: langOf(r.text), h1: h1Of(r.text), headers: r.headers };
}

/** The /signin URL that /authorize sends a signed-out browser to, for an
 * authorization request with these extra parameters. */
async function signinFromAuthorize(extra, headers = {}) {
  const reg = ctx.reg ??= await registerClient(ctx.server, { client_name: 'Shop' });
  const q = new URLSearchParams({
    client_id: reg.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid',
    state: randomHex(8), code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256', ...extra,
  });
  const b = new Browser(ctx.server);
  const r = await b.raw('GET', `/authorize?${q}`, { headers });
  assert.equal(r.status, 302, r.text);
  const loc = new URL(r.headers.get('location'), ctx.server.issuer);
  assert.equal(loc.pathname, '/signin');
  return loc.pathname + loc.search;
}

/** Saves tag as the signed-in customer's locale (PATCH /api/v1/profile). */
async function saveLocale(b, tag) {
  const r = await b.raw('PATCH', '/api/v1/profile', {
    body: JSON.stringify({ locale: tag }),
    headers: { 'content-type': 'application/json', 'x-csrf-token': b.csrf, origin: b.origin },
  });
  assert.equal(r.status, 200, r.text);
}

describe('choosing the language', () => {
  test('Accept-Language: a German browser gets German pages, with lang, Content-Language and the switch', async () => {
    const p = await page('/signin', { 'accept-language': 'de-DE,de;q=0.9,en;q=0.8' });
    assert.equal(p.status, 200);
    assert.equal(p.lang, 'de');
    assert.equal(p.h1, 'Anmelden');
    assert.match(p.html, /<label for="password">Passwort<\/label>/);
    assert.match(p.html, />Passwort vergessen\?</);
    assert.match(p.html, /<title>Anmelden · Gatehouse<\/title>/);
    assert.equal(p.headers.get('content-language'), 'de');
    assert.match(p.html, /<nav class="languages" aria-label="Sprache wählen">/);
    assert.match(p.html, /data-lang="de" lang="de" aria-current="true">Deutsch</);
    assert.match(p.html, /<script type="application\/json" id="gh-i18n">/, 'the page script gets the catalog');
    // q-values count: German is preferred over English here too
    assert.equal((await page('/signin', { 'accept-language': 'en;q=0.4, de;q=0.7' })).lang, 'de');
  });

  test('an unknown language, or none, falls back to English, which is the page as written', async () => {
    const file = fs.readFileSync(path.join(REPO_ROOT, 'web/signin.html'), 'utf8');
    for (const al of ['xx-YY', 'fr, it;q=0.5', '', 'de;q=0']) {
      const p = await page('/signin', al ? { 'accept-language': al } : {});
      assert.equal(p.lang, 'en', al);
      assert.equal(p.h1, 'Sign in');
      assert.equal(p.headers.get('content-language'), 'en');
      assert.doesNotMatch(p.html, /gh-i18n/);
      // the English page is the file plus the language switch, nothing else (and the
      // branding stylesheet's link carries its version, docs/branding.md)
      assert.equal(p.html.replace(/\n<nav class="languages"[\s\S]*?<\/nav>\n/, '')
        .replace(/href="\/branding\.css\?v=[0-9a-f]{16}"/, 'href="/branding.css"'), file);
    }
  });

  test('ui_locales of a real /authorize request is carried to the sign-in page and beats the browser', async () => {
    const de = await signinFromAuthorize({ ui_locales: 'fr-CA de' }, { 'accept-language': 'en' });
    assert.match(decodeURIComponent(de), /ui_locales=fr-CA(%20|\+| )de/);
    const p = await page(de, { 'accept-language': 'en' });
    assert.equal(p.lang, 'de');
    assert.equal(p.h1, 'Anmelden');
    // every page of that sign-in carries the same return_to
    const back = new URL(de, ctx.server.issuer).searchParams.get('return_to');
    for (const next of ['/signup', '/recover', '/signin/mfa', '/verify']) {
      const q = new URLSearchParams({ return_to: back });
      assert.equal((await page(`${next}?${q}`, { 'accept-language': 'en' })).lang, 'de', next);
    }
    // and English asked for by the application beats a German browser
    const en = await signinFromAuthorize({ ui_locales: 'en' }, { 'accept-language': 'de' });
    assert.equal((await page(en, { 'accept-language': 'de' })).lang, 'en');
  });

  test('precedence: ui_locales, then the saved locale, then the switch\'s cookie, then Accept-Language', async () => {
    const user = await newUser(ctx.server, 'lang');
    const b = await signedIn(ctx.server, user);
    await saveLocale(b, 'de-CH');
    // the saved locale beats an English browser and an English switch choice
    b.jar.set('gh_lang', 'en');
    assert.equal((await page('/account', { 'accept-language': 'en' }, b)).lang, 'de');
    // ui_locales beats the saved locale
    const en = await signinFromAuthorize({ ui_locales: 'en' });
    assert.equal((await page(en, { 'accept-language': 'de' }, b)).lang, 'en');
    // signed out: the switch's cookie beats Accept-Language
    const anon = new Browser(ctx.server);
    anon.jar.set('gh_lang', 'de');
    assert.equal((await page('/signin', { 'accept-language': 'en' }, anon)).lang, 'de');
    anon.jar.set('gh_lang', 'en');
    assert.equal((await page('/signin', { 'accept-language': 'de' }, anon)).lang, 'en');
  });

  test('every page has its lang, a translated title and heading, and the switch', async () => {
    const pages = ['/signin', '/signup', '/verify', '/account', '/error', '/signin/mfa',
      '/account/authenticator', '/account/recovery-codes', '/recover', '/recover/password',
      '/recover/wait', '/recover/cancel', '/recover/lock', '/account/password-upgrade', '/consent'];
    for (const p of pages) {
      const en = await page(p);
      const de = await page(p, { 'accept-language': 'de' });
      assert.equal(en.status, 200, p);
      assert.equal(en.lang, 'en', p);
      assert.equal(de.lang, 'de', p);
      assert.notEqual(de.h1, en.h1, `${p}: "${en.h1}" is translated`);
      assert.match(de.html, /aria-label="Sprache wählen"/, p);
      assert.doesNotMatch(de.html, /<title>[^<]*\b(Sign|Your|Reset|Choose|Page|Allow)\b/, p);
    }
    // a page the server writes itself: the /authorize error for an unknown application
    const unknown = await page(`/authorize?client_id=nobody-${randomHex(3)}&redirect_uri=${encodeURIComponent(REDIRECT)}`
      + '&response_type=code&scope=openid', { 'accept-language': 'de' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.lang, 'de');
    assert.equal(unknown.h1, 'Unbekannte Anwendung');
    assert.match(unknown.html, /nicht registriert\./);
    assert.equal((await page(`/authorize?client_id=nobody&redirect_uri=${encodeURIComponent(REDIRECT)}`
      + '&response_type=code&scope=openid')).h1, 'Unknown application');
    const missing = await page(`/no-such-page-${randomHex(3)}`, { 'accept-language': 'de' });
    assert.equal(missing.status, 404);
    assert.equal(missing.lang, 'de');
    assert.equal(missing.h1, 'Seite nicht gefunden');
  });
});

describe('mails in the customer\'s language', () => {
  test('a German browser signs up: the verification mail is German (subject, text, HTML with lang) and its code works', async () => {
    const b = new Browser(ctx.server);
    const email = `de-${randomHex(4)}@example.com`;
    const r = await b.post('/api/v1/signup', { email, password: `Leuchtturm-${randomHex(6)}-Wiese` },
      { headers: { 'accept-language': 'de-DE,de;q=0.9' } });
    assert.equal(r.status, 200, r.text);
    const m = await ctx.mail.waitFor(sentTo(email), 10_000);
    assert.equal(m.subject, 'Bestätigen Sie Ihre E-Mail-Adresse');
    assert.match(m.text, /Ihr Bestätigungscode lautet/);
    assert.match(m.html, /<html lang="de">/);
    assert.match(m.html, /E-Mail-Adresse bestätigen<\/a>/);
    const v = await b.post('/api/v1/verify', { flow_id: r.json.flow_id, code: codeFrom(m) });
    assert.equal(v.status, 200, v.text);
  });

  test('ui_locales in the sign-up\'s return_to picks the mail\'s language over the browser', async () => {
    const back = new URL(await signinFromAuthorize({ ui_locales: 'de' }), ctx.server.issuer)
      .searchParams.get('return_to');
    const b = new Browser(ctx.server);
    const email = `ui-${randomHex(4)}@example.com`;
    const r = await b.post('/api/v1/signup', { email, password: `Leuchtturm-${randomHex(6)}-Wiese`, return_to: back },
      { headers: { 'accept-language': 'en' } });
    assert.equal(r.status, 200, r.text);
    const m = await ctx.mail.waitFor(sentTo(email), 10_000);
    assert.equal(m.subject, 'Bestätigen Sie Ihre E-Mail-Adresse');
  });

  test('a customer who saved German gets a German security notice; an English one stays English', async () => {
    const user = await newUser(ctx.server, 'notice');
    const b = await signedIn(ctx.server, user);
    await saveLocale(b, 'de');
    await enrolTotp(b);
    const m = await ctx.mail.waitFor((x) => sentTo(user.email)(x) && x.subject === 'Ihre Anmeldemethoden wurden geändert', 10_000);
    assert.match(m.text, /Ihrem Konto wurde eine Authenticator-App hinzugefügt\./);
    assert.match(m.html, /<html lang="de">/);
    assert.doesNotMatch(m.text, /[A-Z][a-z]+ was added/);

    const other = await newUser(ctx.server, 'notice-en');
    await enrolTotp(await signedIn(ctx.server, other));
    const en = await ctx.mail.waitFor((x) => sentTo(other.email)(x) && /sign-in methods changed/.test(x.subject), 10_000);
    assert.match(en.html, /<html lang="en">/);
  });
});

describe('catalogs are data files', () => {
  test('GATEHOUSE_LOCALES_DIR adds a language with no code change', async () => {
    const dir = await makeTempDir();
    fs.writeFileSync(path.join(dir, 'fr.json'), JSON.stringify({
      language: 'fr', name: 'Français',
      strings: { 'Sign in': 'Se connecter', 'Sign in · Gatehouse': 'Se connecter · Gatehouse', 'Translations': 'Choisir la langue' },
    }));
    const server = await startServer({ env: { GATEHOUSE_LOCALES_DIR: dir } });
    const b = new Browser(server);
    const r = await b.raw('GET', '/signin', { headers: { accept: 'text/html', 'accept-language': 'fr-FR, en;q=0.5' } });
    assert.equal(langOf(r.text), 'fr');
    assert.equal(h1Of(r.text), 'Se connecter');
    assert.match(r.text, /aria-label="Choisir la langue"/);
    assert.match(r.text, /data-lang="fr" lang="fr" aria-current="true">Français</);
    assert.match(r.text, />Forgot password\?</, 'what the catalog lacks stays English');
    assert.match(r.text, /data-lang="de" lang="de">Deutsch</, 'the shipped languages stay');
  });

  test('a malformed catalog stops the start with an error naming the file and the fault', async () => {
    const dir = await makeTempDir();
    fs.writeFileSync(path.join(dir, 'it.json'), '{"language": "it", "name": "Italiano", "strings": {"Sign in": 1}}');
    const data = await makeTempDir();
    const r = await runGatehouse(['serve'], {
      env: {
        GATEHOUSE_LISTEN: `127.0.0.1:${await freePort()}`, GATEHOUSE_DATA_DIR: data,
        GATEHOUSE_DATABASE: path.join(data, 'db.sqlite'), GATEHOUSE_MASTER_KEY: randomHex(32),
        GATEHOUSE_LOCALES_DIR: dir,
      },
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /it\.json/);
    assert.match(r.stderr, /member \\"Sign in\\" must be a string/);
    const gone = await runGatehouse(['serve'], {
      env: { GATEHOUSE_LISTEN: `127.0.0.1:${await freePort()}`, GATEHOUSE_DATA_DIR: data, GATEHOUSE_LOCALES_DIR: '/nonexistent-locales' },
    });
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /LOCALES_DIR/);
  });

  test('the completeness check finds every page, script and mail string in the German catalog', () => {
    const out = execFileSync(process.execPath, [path.join(REPO_ROOT, 'tools/i18n-check.mjs')], { encoding: 'utf8' });
    // every template of the server's mail (its table in gh_mail_templates.c)
    const table = fs.readFileSync(path.join(REPO_ROOT, 'src/core/gh_mail_templates.c'), 'utf8')
      .split('static const struct template templates[] = {')[1].split('};')[0];
    const templates = (table.match(/^\s+\{"[a-z_]+",/gm) || []).length;
    assert.ok(templates >= 17, `${templates} templates`);
    assert.match(out, new RegExp(`de\\.json \\(de\\): complete, \\d+ strings and ${templates} mails`));
  });

  test('the check lists a missing string as a ready-to-fill entry and fails', async () => {
    const dir = await makeTempDir();
    const cat = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'share/locales/de.json'), 'utf8'));
    delete cat.strings['Forgot password?'];
    delete cat.mail.signin_code;
    const file = path.join(dir, 'de.json');
    fs.writeFileSync(file, JSON.stringify(cat));
    let failed = null;
    try {
      execFileSync(process.execPath, [path.join(REPO_ROOT, 'tools/i18n-check.mjs'), file], { encoding: 'utf8' });
    } catch (e) {
      failed = e;
    }
    assert.ok(failed, 'the check fails');
    assert.match(failed.stdout, /"Forgot password\?": ""/);
    assert.match(failed.stdout, /signin_code/);
  });
});
