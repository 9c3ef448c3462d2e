#!/usr/bin/env node
// The catalog completeness check (docs/i18n.md): lists every user-visible
// string of the hosted pages (text, and the aria-label, placeholder, title
// and alt attributes, extracted the way the server's page translator reads
// them), every message the page scripts show (the MSG table and every
// tr('...') call), every mail template and the English prose that code puts
// into mails, and reports what each catalog in share/locales/ (or the files
// given) lacks.
//
//   node tools/i18n-check.mjs [catalog.json ...]      exit 1 when anything is missing
//   node tools/i18n-check.mjs --list                  every string, as JSON
//
// The output for a missing string is a ready-to-fill JSON object: paste it
// into the catalog's "strings" and translate the values.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// Text that reads the same in every language: not asked of a catalog.
const SAME_EVERYWHERE = new Set(['Gatehouse']);

// English prose the server hands to mail templates as values (the catalog's
// "strings" translate them at render time, gh_mail_templates.c), and the
// date format key. Keep in step with the code that writes them.
const MAIL_PROSE = [
  'Every other device signed in to your account was signed out.',
  'Your other devices stay signed in.',
  'Your authenticator apps, passkeys and recovery codes were removed, since you could not use '
    + 'them: set up new ones.',
  'an unknown network',
  'An authenticator app was added to your account.',
  'A passkey was added to your account.',
  'New recovery codes were made; the old ones no longer work.',
  'Signing in with an emailed code was turned on.',
  'Signing in with an emailed code was turned off.',
  'Your other sign-in methods are unchanged.',
  'You signed in with one of your sign-in methods.',
  'You cancelled it with the link in our email.',
  '{yyyy}-{mm}-{dd} {HH}:{MM} UTC',
];

// The pages the server writes itself (gh_i18n_html): the /authorize error
// page (error_page in src/handlers/gh_oidc.c) and the sign-out pages
// (src/handlers/gh_logout_endpoint.c). Keep in step with that code.
const SERVER_PAGES = [
  'Invalid request · Gatehouse', 'Invalid request', 'The sign-in request could not be read.',
  'A parameter was repeated.', 'Unknown application · Gatehouse', 'Unknown application',
  'The application that sent you here is not registered with this service.',
  'Invalid return address · Gatehouse', 'Invalid return address',
  'The application asked to return you to an address it has not registered.',
  'Sign out · Gatehouse', 'The sign-out request could not be read.',
  'The sign-out request carries an ID token we did not issue.',
  'The application asked to return you to an address it has not registered, so you were not signed out.',
  'Do you want to sign out of Gatehouse on this device?', 'Stay signed in',
];

// The words of the built-in scopes the consent API sends (scope_description
// in src/handlers/gh_oidc.c), which the consent page and "Connected apps"
// show through tr(). Keep in step with that code.
const SCOPE_WORDS = [
  'Sign you in with your Gatehouse account', 'See your name', 'See your email address',
  'Stay connected when you are not using it',
  'See your privacy choices, and record the ones you make in it',
];

const collapse = (s) => s.replace(/[ \t\r\n]+/g, ' ').trim();
const hasLetters = (s) => /\p{L}/u.test(s);

/** The strings of one HTML page, as the server's translator sees them. */
function pageStrings(html) {
  const out = [];
  const body = html.replace(/<script[\s\S]*?<\/script>|<style[\s\S]*?<\/style>/g, '<x>');
  for (const m of body.matchAll(/>([^<]+)</g)) {
    const t = collapse(m[1]);
    if (t && hasLetters(t)) out.push(t);
  }
  for (const m of body.matchAll(/<[^>]+>/g)) {
    for (const a of m[0].matchAll(/ (?:aria-label|placeholder|title|alt)="([^"]*)"/g)) {
      const t = collapse(a[1]);
      if (t && hasLetters(t)) out.push(t);
    }
  }
  return out;
}

/** The JS string literal (single-quoted) sequences joined by + starting at src[i]. */
function literalsAt(src, i) {
  let text = '';
  const re = /\s*(?:\+\s*)?'((?:[^'\\]|\\.)*)'/y;
  re.lastIndex = i;
  let m;
  let first = true;
  while ((m = re.exec(src))) {
    if (!first && !/^\s*\+/.test(m[0])) break;
    text += m[1].replace(/\\'/g, "'");
    first = false;
  }
  return text;
}

/** The messages a page script shows: MSG values, tr('...') arguments, the
 * error page's messages and the words put into lists. */
function scriptStrings(src) {
  const out = [];
  const msg = /const MSG = \{([\s\S]*?)\n\};/.exec(src);
  if (msg) {
    const block = msg[1];
    for (const m of block.matchAll(/^\s*\w+:/gm)) out.push(literalsAt(block, m.index + m[0].length));
  }
  for (const m of src.matchAll(/\btr\(/g)) {
    const t = literalsAt(src, m.index + 3);
    if (t) out.push(t);
  }
  for (const m of src.matchAll(/\btr\([^()]*\|\| '([^']+)'\)/g)) out.push(m[1]);
  for (const m of src.matchAll(/\[\s*'[a-z_]+',\s*'([^']+)'\s*\]/g)) {
    if (/\s/.test(m[1])) out.push(m[1]); // the error page's [code, message] pairs
  }
  const kinds = /const KIND_WORDS = \{([^}]*)\}/.exec(src);
  if (kinds) for (const m of kinds[1].matchAll(/'([^']+)'/g)) out.push(m[1]);
  return out.filter((t) => hasLetters(t));
}

/** The customer-facing error descriptions of the JSON APIs (capitalised
 * sentences; "Send ..." and lower-case ones are for developers), which the
 * page script shows through tr(). */
function apiStrings(src) {
  const out = [];
  const re = /gh_resp_error\(\s*r,\s*4\d\d,\s*"[a-z_]+",\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\)/g;
  for (const m of src.matchAll(re)) {
    const t = [...m[1].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((x) => x[1]).join('').replace(/\\"/g, '"');
    if (/^[A-Z]/.test(t) && !/^Send /.test(t) && /[.!?]$/.test(t)) out.push(t);
  }
  // descriptions kept in a #define (WRONG_CODE, WRONG_CREDENTIALS, ...)
  for (const m of src.matchAll(/^#define [A-Z_]+\s+(?:\\\n\s*)?"((?:[^"\\]|\\.)*)"\s*$/gm)) {
    const t = m[1].replace(/\\"/g, '"');
    if (/^[A-Z][^/]* [^/]*[.!?]$/.test(t)) out.push(t);
  }
  return out;
}

/** Mail template names, from the template table of gh_mail_templates.c. */
function mailTemplates(src) {
  const table = /static const struct template templates\[\] = \{([\s\S]*?)\n\};/.exec(src);
  return table ? [...table[1].matchAll(/\{"([a-z_]+)",/g)].map((m) => m[1]) : [];
}

export function allStrings() {
  const strings = new Map(); // text -> where
  const add = (t, where) => {
    if (!SAME_EVERYWHERE.has(t) && !strings.has(t)) strings.set(t, where);
  };
  const web = join(root, 'web');
  for (const f of readdirSync(web).filter((n) => n.endsWith('.html')).sort()) {
    for (const t of pageStrings(readFileSync(join(web, f), 'utf8'))) add(t, `web/${f}`);
  }
  const assets = join(web, 'assets');
  for (const f of readdirSync(assets).filter((n) => n.endsWith('.js')).sort()) {
    for (const t of scriptStrings(readFileSync(join(assets, f), 'utf8'))) add(t, `web/assets/${f}`);
  }
  const apiFiles = ['src/proto/gh_pwpolicy.c']; // the password rules' refusals
  for (const dir of ['src/handlers', 'src/http']) {
    for (const f of readdirSync(join(root, dir)).filter((n) => n.endsWith('.c')).sort()) apiFiles.push(`${dir}/${f}`);
  }
  for (const f of apiFiles) {
    for (const t of apiStrings(readFileSync(join(root, f), 'utf8'))) add(t, `${f} (API error)`);
  }
  add('Translations', 'the language switch (src/http/gh_i18n_pages.c)');
  for (const t of SERVER_PAGES) add(t, 'pages the server writes (tools/i18n-check.mjs SERVER_PAGES)');
  for (const t of MAIL_PROSE) add(t, 'mail values (tools/i18n-check.mjs MAIL_PROSE)');
  for (const t of SCOPE_WORDS) add(t, 'scope words (tools/i18n-check.mjs SCOPE_WORDS)');
  const mails = mailTemplates(readFileSync(join(root, 'src/core/gh_mail_templates.c'), 'utf8'));
  return { strings, mails };
}

function check(file, { strings, mails }) {
  const cat = JSON.parse(readFileSync(file, 'utf8'));
  const have = cat.strings || {};
  const missing = {};
  for (const [t] of strings) if (typeof have[t] !== 'string' || !have[t]) missing[t] = '';
  const mail = cat.mail || {};
  const missingMail = mails.filter((m) => !mail[m]);
  return { language: cat.language, missing, missingMail };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const all = allStrings();
  if (process.argv.includes('--list')) {
    console.log(JSON.stringify({ strings: Object.fromEntries(all.strings), mail: all.mails }, null, 2));
    process.exit(0);
  }
  const dir = join(root, 'share/locales');
  const files = process.argv.slice(2).length ? process.argv.slice(2)
    : readdirSync(dir).filter((n) => n.endsWith('.json')).map((n) => join(dir, n));
  let bad = false;
  for (const f of files) {
    const { language, missing, missingMail } = check(f, all);
    const n = Object.keys(missing).length;
    if (!n && !missingMail.length) {
      console.log(`${f} (${language}): complete, ${all.strings.size} strings and ${all.mails.length} mails`);
      continue;
    }
    bad = true;
    console.log(`${f} (${language}): ${n} strings and ${missingMail.length} mails missing`);
    if (n) console.log(`strings to add to "strings":\n${JSON.stringify(missing, null, 2)}`);
    if (missingMail.length) {
      console.log(`mails to add to "mail" (subject, text, html; the English placeholders): ${missingMail.join(', ')}`);
    }
  }
  process.exit(bad ? 1 : 0);
}
