// Gatehouse hosted pages: one small script for all of them. <body data-page>
// picks what runs. Plain ES2020, no framework, no build step.
//
// Rules kept here: text reaches the page only through textContent (never
// innerHTML); every POST, PUT, PATCH and DELETE carries the CSRF token from
// GET /api/v1/session; the page's own ?return_to= is handed to the API and to
// links between the pages untouched, and only the API's answer (already
// checked by the server) is ever followed.
'use strict';

// A tenant reached by path (docs/tenants.md) has its pages and API under
// /t/{tenant}; the default tenant, and a tenant on its own host, at the root.
const BASE = (location.pathname.match(/^\/t\/[a-z0-9][a-z0-9-]*(?=\/|$)/) || [''])[0];
const API = `${BASE}/api/v1`;
const query = new URLSearchParams(location.search);
const returnTo = query.get('return_to');
let csrfToken = null;

// ---- language (docs/i18n.md) ----
// The server translates each page before sending it and, for a language
// other than English, adds its catalog as a JSON data block; the messages
// this script writes go through tr(), keyed by their English text.
const I18N = (() => {
  try {
    return JSON.parse((document.getElementById('gh-i18n') || {}).textContent || '{}');
  } catch {
    return {};
  }
})();
const LANG = document.documentElement.lang || 'en';

/** text in the page's language, its {name} markers filled from vars. */
function tr(text, vars = {}) {
  const t = (I18N.strings && typeof I18N.strings[text] === 'string' && I18N.strings[text]) || text;
  return t.replace(/\{(\w+)\}/g, (m, k) => (Object.hasOwn(vars, k) ? String(vars[k]) : m));
}

const MSG = {
  network: 'We could not reach the server. Check your connection and try again.',
  busy: 'Too many attempts. Wait a minute, then try again.',
  generic: 'Something went wrong. Please try again.',
  signedOut: 'You have signed out.',
  noFlow: 'This page needs the code or link from your email. Start again by creating an account or signing in.',
  checkingLink: 'Checking your link…',
  verified: 'Your email is verified. Sign in to continue.',
  resent: 'We sent a new code. It replaces the previous one.',
  reauth: 'Sign in again to change your sign-in methods.',
  enterEmail: 'Enter your email first, then choose “Email me a sign-in code”.',
  noPasskeys: 'This browser cannot use passkeys. Try another way to sign in.',
  passkeyCancelled: 'The passkey request was cancelled or timed out. Try again when you are ready.',
  passkeyKnown: 'This device already holds a passkey for your account.',
  flowExpired: 'This sign-in has expired. Sign in again.',
  sessionEnded: 'That session has ended.',
  othersEnded: 'Your other sessions have ended.',
  enterCode: 'Enter the 6-digit code from your authenticator app.',
  enterRecovery: 'Enter one of your recovery codes.',
  usePasskey: 'Use your passkey, or a recovery code if you cannot.',
  stepUp: 'To continue, confirm it’s you with your second step.',
  totpDone: 'Your authenticator app is set up. Next time you sign in we will ask for a code from it.',
  passkeyAdded: 'Your passkey is added. You can use it to sign in.',
  renamed: 'The name is saved.',
  passwordlessOn: 'You can now sign in with a code we email you.',
  passwordlessOff: 'Signing in with an emailed code is off.',
  newCodes: 'Your new recovery codes are below. The old ones no longer work.',
  recoverFactor: 'To reset your password, confirm it’s you with one of your sign-in methods.',
  recoverExpired: 'This reset has expired. Start again.',
  lockLinkBroken: 'This link is incomplete. Open it again from the email, or reset your password with “Forgot password?”.',
  lockedNoFlow: 'Your account is locked. To choose a new password, use “Forgot password?” on the sign-in page.',
  recoverCancelled: 'The reset is cancelled. Your password and sign-in methods are unchanged.',
  passwordChanged: 'Your password is changed.',
  emailChanged: 'Your email address is changed. Your old address was told, with a way to undo it.',
  profileSaved: 'Your profile is saved.',
  exported: 'Your data is downloading. Keep the file somewhere safe: it shows where and when you sign in.',
  exportPassword: 'Enter your password to download your data.',
  passwordKept: 'Your password is unchanged. You can choose a longer one any time in your account.',
  accountDeleted: 'Your account is deleted and you are signed out. Until the date in the email we sent you, '
    + 'you can restore it by signing in again.',
  enrolAgain: 'Your password is reset and your old sign-in methods were removed. Set up a new authenticator app or passkey below.',
};
for (const k of Object.keys(MSG)) MSG[k] = tr(MSG[k]);

const byId = (id) => document.getElementById(id);

// ---- API ----

/** One request to the API. Resolves {ok, status, data}; never throws. */
async function call(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (method !== 'GET') {
    if (!csrfToken) await call('GET', '/session');
    init.headers['Content-Type'] = 'application/json';
    if (csrfToken) init.headers['X-CSRF-Token'] = csrfToken;
    init.body = JSON.stringify(body || {});
  }
  let res;
  try {
    res = await fetch(API + path, init);
  } catch {
    return { ok: false, status: 0, data: {} };
  }
  let data = {};
  try {
    data = await res.json();
  } catch {
    data = {};
  }
  if (data && typeof data.csrf_token === 'string') csrfToken = data.csrf_token;
  return { ok: res.ok, status: res.status, data: data || {} };
}

/**
 * A POST (or PUT, PATCH, DELETE); a stale CSRF token (e.g. signed in or out
 * in another tab) is renewed once.
 */
async function send(method, path, body) {
  let r = await call(method, path, body);
  if (r.status === 403 && r.data.error === 'csrf') {
    csrfToken = null;
    r = await call(method, path, body);
  }
  return r;
}

const post = (path, body) => send('POST', path, body);

/**
 * POST /account/export ("Download my data"). Resolves {ok, status, data}
 * and, on success, the file: {blob, name} (the name from the server's
 * Content-Disposition). A stale CSRF token is renewed once, as send() does.
 */
async function fetchExport(body) {
  for (let attempt = 0; ; attempt++) {
    if (!csrfToken) await call('GET', '/session');
    let res;
    try {
      res = await fetch(`${API}/account/export`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { Accept: 'application/json', 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken || '' },
        body: JSON.stringify(body),
      });
    } catch {
      return { ok: false, status: 0, data: {} };
    }
    if (res.ok) {
      const named = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '');
      return { ok: true, status: res.status, data: {}, blob: await res.blob(), name: named ? named[1] : 'gatehouse-data.json' };
    }
    let data = {};
    try {
      data = (await res.json()) || {};
    } catch {
      data = {};
    }
    if (res.status === 403 && data.error === 'csrf' && attempt === 0) {
      csrfToken = null;
      continue;
    }
    return { ok: false, status: res.status, data };
  }
}

/** Hands blob to the browser as a download named name: a link to an object
 * URL with the download attribute (a navigation the page's CSP does not
 * restrict; no script or content is loaded from it). */
function saveFile(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// ---- page helpers ----

/** The server's messages built with a number (the password length rules,
 * the rate limit's wait), translated as patterns: null for any other. */
function numberedText(d) {
  let m = /^Use at least (\d+) characters\.$/.exec(d);
  if (m) return tr('Use at least {n} characters.', { n: m[1] });
  m = /^Use at most (\d+) characters\.$/.exec(d);
  if (m) return tr('Use at most {n} characters.', { n: m[1] });
  if (d === 'Too many requests. Try again in 1 second.') return tr('Too many requests. Try again in 1 second.');
  m = /^Too many requests\. Try again in (\d+) seconds\.$/.exec(d);
  if (m) return tr('Too many requests. Try again in {n} seconds.', { n: m[1] });
  return null;
}

function errorText(r) {
  if (typeof r.data.error_description === 'string' && r.data.error_description) {
    return numberedText(r.data.error_description) ?? tr(r.data.error_description);
  }
  if (r.status === 0) return MSG.network;
  if (r.status === 429) return MSG.busy;
  return MSG.generic;
}

function showAlert(text) {
  const el = byId('alert');
  el.textContent = '';
  el.hidden = false;
  // Set after a tick so that the same message twice is announced again.
  setTimeout(() => { el.textContent = text; }, 50);
  const status = byId('status');
  if (status) status.hidden = true;
}

function clearAlert() {
  const el = byId('alert');
  el.hidden = true;
  el.textContent = '';
}

function showStatus(text) {
  const el = byId('status');
  el.textContent = text;
  el.hidden = false;
}

/** path with this page's return_to (and any extra parameters) in its query. */
function withReturn(path, extra = {}) {
  const q = new URLSearchParams(extra);
  if (returnTo !== null) q.set('return_to', returnTo);
  const s = q.toString();
  return s ? `${BASE}${path}?${s}` : BASE + path;
}

/** Follows the server's (already validated) return_to. */
function go(target) {
  location.assign(typeof target === 'string' && target ? target : `${BASE}/account`);
}

function toVerify(data) {
  try {
    sessionStorage.setItem(`gh_verify_email:${data.flow_id}`, data.email || '');
  } catch { /* storage off: the page shows a general sentence instead */ }
  // the risk engine's reason code, shown in words there (risk.js)
  const why = typeof data.reason === 'string' ? { why: data.reason } : {};
  location.assign(withReturn('/verify', { flow: data.flow_id, ...why }));
}

/** Runs handler(FormData) on submit (button or Enter), one at a time. */
function onSubmit(form, handler) {
  let busy = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (busy) return;
    busy = true;
    form.setAttribute('aria-busy', 'true');
    clearAlert();
    try {
      await handler(new FormData(form));
    } finally {
      busy = false;
      form.removeAttribute('aria-busy');
    }
  });
}

const text = (fd, name) => String(fd.get(name) || '');

/** body with this page's return_to added, when it has one. */
function withReturnTo(body) {
  if (returnTo !== null) body.return_to = returnTo;
  return body;
}

/**
 * Changing sign-in methods needs a recent sign-in (403
 * reauthentication_required): sends the browser to sign in again and back to
 * this page. True when it did.
 */
function reauthIfNeeded(r) {
  if (r.status !== 403 || r.data.error !== 'reauthentication_required') return false;
  location.assign(`${BASE}/signin?${new URLSearchParams({ return_to: location.pathname, reauth: '1' })}`);
  return true;
}

/** Leaves a page that needs a session for sign-in, coming back afterwards. */
// Set while this page signs its customer out: the page's own loaders, still
// running, then get 401 and must not race the sign-out's navigation.
let signingOut = false;

function toSignIn() {
  if (signingOut) return;
  location.replace(`${BASE}/signin?${new URLSearchParams({ return_to: location.pathname })}`);
}

/** Runs an async click handler on button, one at a time, with aria-busy while it runs. */
function onClick(button, handler) {
  let busy = false;
  button.addEventListener('click', async (ev) => {
    ev.preventDefault();
    if (busy) return;
    busy = true;
    button.setAttribute('aria-busy', 'true');
    clearAlert();
    try {
      await handler();
    } finally {
      busy = false;
      button.removeAttribute('aria-busy');
    }
  });
}

/** Follows a sign-in answer: signed in → return_to, a second step → its page. True when it did. */
/** Follows a recovery step's answer to the next page. True when it did. */
function afterRecoveryStep(r) {
  if (!r.ok) return false;
  if (r.data.status === 'recovery_waiting') {
    showWaiting(r.data);
    return true;
  }
  if (r.data.status === 'recovery_password') {
    location.assign(withReturn('/recover/password'));
    return true;
  }
  if (r.data.status === 'recovery_factor_required') {
    location.assign(withReturn('/signin/mfa'));
    return true;
  }
  return false;
}

/** A waiting-period recovery is running: says until when, and nothing else to do. */
function showWaiting(data) {
  for (const id of ['ask', 'code-entry', 'explain', 'content', 'form']) {
    const el = byId(id);
    if (el) el.hidden = true;
  }
  // ends is the server's English text (UTC); other languages get the time
  // in their own format from ends_at (ms since the epoch).
  const ends = LANG !== 'en' && Number.isFinite(data.ends_at) ? new Date(data.ends_at).toLocaleString(LANG) : data.ends;
  showStatus(tr('Your password can be reset after {ends}. We emailed you about it. '
    + 'Come back then and choose “Forgot password?” again.', { ends }));
}

/** After a sign-in: a required document's new version is asked first (docs/privacy.md), then the target. */
async function onwardAfterSignIn(target) {
  const s = await call('GET', '/session');
  if (s.ok && s.data.consent_required) {
    const back = typeof target === 'string' && target ? target : `${BASE}/account`;
    location.assign(`${BASE}/consent/update?${new URLSearchParams({ return_to: back })}`);
    return;
  }
  go(target);
}

function afterSignIn(r) {
  if (r.ok && r.data.status === 'signed_in') {
    onwardAfterSignIn(r.data.return_to);
    return true;
  }
  if (r.ok && r.data.status === 'mfa_required' && typeof r.data.next === 'string' && r.data.next.startsWith('/')
      && !r.data.next.startsWith('//')) {
    location.assign(r.data.next);
    return true;
  }
  return false;
}

/**
 * Writes the current minimum length (GET /api/v1/password/policy, field
 * key) into the element id, which the Password field's hint holds; the
 * page's own sentence stays when the policy cannot be read.
 */
async function showPasswordRule(id, key) {
  const r = await call('GET', '/password/policy');
  const n = r.ok ? r.data[key] : null;
  if (Number.isInteger(n) && n > 0) byId(id).textContent = tr('At least {n} characters.', { n });
}

/** Fills the ordered list listId with codes and shows boxId. */
function showCodes(codes, boxId = 'new-codes', listId = 'new-codes-list') {
  const list = byId(listId);
  list.textContent = '';
  for (const c of codes) {
    const li = document.createElement('li');
    const code = document.createElement('code');
    code.textContent = c;
    li.append(code);
    list.append(li);
  }
  byId(boxId).hidden = false;
}

// ---- binary data and WebAuthn (passkeys) ----
//
// The server sends options as JSON with binary values in base64url and wants
// the credential back the same way (docs/mfa.md, "Passkeys").

function b64urlToBytes(s) {
  const b64 = String(s).replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function bytesToBase64(buf) {
  const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return btoa(bin);
}

function bytesToB64url(buf) {
  return bytesToBase64(buf).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** An SVG document as a data: URL for an <img> (the page CSP allows data: images, never inline SVG script). */
function svgDataUrl(svg) {
  return `data:image/svg+xml;base64,${bytesToBase64(new TextEncoder().encode(svg))}`;
}

/** The server's options ({publicKey: {...}} or the bare object) with binary fields decoded. */
function decodeOptions(json) {
  const pk = { ...(json && json.publicKey ? json.publicKey : json) };
  pk.challenge = b64urlToBytes(pk.challenge);
  if (pk.user) pk.user = { ...pk.user, id: b64urlToBytes(pk.user.id) };
  for (const key of ['excludeCredentials', 'allowCredentials']) {
    if (Array.isArray(pk[key])) pk[key] = pk[key].map((c) => ({ ...c, id: b64urlToBytes(c.id) }));
  }
  return { publicKey: pk };
}

/** A PublicKeyCredential as JSON, binary fields in base64url. */
function credentialJSON(cred) {
  const res = cred.response;
  const response = { clientDataJSON: bytesToB64url(res.clientDataJSON) };
  if (res.attestationObject) {
    response.attestationObject = bytesToB64url(res.attestationObject);
    if (typeof res.getTransports === 'function') response.transports = res.getTransports();
  } else {
    response.authenticatorData = bytesToB64url(res.authenticatorData);
    response.signature = bytesToB64url(res.signature);
    if (res.userHandle && res.userHandle.byteLength) response.userHandle = bytesToB64url(res.userHandle);
  }
  const out = { id: cred.id, rawId: bytesToB64url(cred.rawId), type: cred.type, response };
  if (cred.authenticatorAttachment) out.authenticatorAttachment = cred.authenticatorAttachment;
  if (typeof cred.getClientExtensionResults === 'function') {
    out.clientExtensionResults = cred.getClientExtensionResults();
  }
  return out;
}

/**
 * Asks the server for options at optionsPath, then the browser for a
 * credential (kind 'get' or 'create'). Resolves {credential} (JSON form) or
 * {error: text for the alert}, or {redirected: true} after a re-authentication
 * redirect.
 */
async function passkeyCeremony(optionsPath, kind) {
  if (!window.PublicKeyCredential || !navigator.credentials) return { error: MSG.noPasskeys };
  const opts = await post(optionsPath);
  if (reauthIfNeeded(opts)) return { redirected: true };
  if (!opts.ok) return { error: errorText(opts) };
  let cred;
  try {
    const decoded = decodeOptions(opts.data);
    cred = kind === 'create' ? await navigator.credentials.create(decoded) : await navigator.credentials.get(decoded);
  } catch (err) {
    if (err && err.name === 'InvalidStateError') return { error: MSG.passkeyKnown };
    if (err && (err.name === 'NotAllowedError' || err.name === 'AbortError')) return { error: MSG.passkeyCancelled };
    return { error: MSG.generic };
  }
  if (!cred) return { error: MSG.passkeyCancelled };
  return { credential: credentialJSON(cred) };
}

// The application's own privacy policy and terms on the consent page
// (docs/branding.md): links by their words, the address only as href, and
// only web addresses (the server has checked them already).
function consentLinks(app) {
  const list = byId('app-links');
  const words = [['policy_uri', tr('Privacy policy (opens in a new tab)')],
    ['tos_uri', tr('Terms of service (opens in a new tab)')]];
  for (const [key, text] of words) {
    const uri = app[key];
    if (typeof uri !== 'string' || !/^https?:\/\//.test(uri)) continue;
    const a = document.createElement('a');
    a.href = uri;
    a.textContent = text;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    const li = document.createElement('li');
    li.append(a);
    list.append(li);
    list.hidden = false;
  }
}

// The purposes an application asks about on the consent page (issue 20
// item 4): one unticked checkbox each, labelled with the exact words the
// ledger records; the description and the document's link describe it.
function consentPurposes(purposes) {
  const list = byId('purpose-list');
  for (const p of purposes) {
    const row = document.createElement('div');
    row.className = 'check';
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.id = `purpose-${p.key}`;
    input.dataset.purpose = p.key;
    const label = document.createElement('label');
    label.htmlFor = input.id;
    label.textContent = p.label;
    row.append(input, label);
    list.append(row);
    const hint = document.createElement('p');
    hint.className = 'hint';
    hint.id = `purpose-${p.key}-hint`;
    if (p.description) hint.append(`${p.description} `);
    if (p.document && p.document.url) {
      const a = document.createElement('a');
      a.href = p.document.url;
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      a.textContent = `${p.title}, version ${p.document.version} (opens in a new tab)`;
      hint.append(a);
    }
    if (hint.childNodes.length) {
      input.setAttribute('aria-describedby', hint.id);
      list.append(hint);
    }
  }
  byId('purposes').hidden = purposes.length === 0;
}

// ---- pages ----

const pages = {
  signin() {
    if (query.get('signed_out') === '1') showStatus(MSG.signedOut);
    if (query.get('reauth') === '1') showStatus(MSG.reauth);
    // An application's login_hint (OpenID Connect) fills in the email.
    const hint = query.get('login_hint');
    if (hint && hint.includes('@') && hint.length <= 254) byId('email').value = hint;

    if (query.get('deleted') === '1') showStatus(MSG.accountDeleted);

    // A right sign-in into an account being deleted: no session yet, but an
    // offer to restore it in this browser (docs/accounts-api.md).
    let restoreFlow = null;
    const restoreEntry = byId('restore-entry');
    const offerRestore = (data) => {
      restoreFlow = data.restore && data.restore.flow_id;
      const when = typeof data.deletes_at === 'string' ? new Date(data.deletes_at) : null;
      const date = when && !Number.isNaN(when.getTime()) ? when.toLocaleString(LANG) : tr('soon');
      byId('restore-text').textContent = tr('Your account is set to be deleted on {date}. '
        + 'Restore it to keep it and sign in.', { date });
      byId('password-entry').hidden = true;
      byId('code-entry').hidden = true;
      restoreEntry.hidden = false;
      byId('restore').focus();
    };
    onClick(byId('restore'), async () => {
      const r = await post('/account/restore', { flow_id: restoreFlow });
      if (!afterSignIn(r)) showAlert(errorText(r));
    });
    byId('restore-cancel').addEventListener('click', () => {
      clearAlert();
      restoreEntry.hidden = true;
      byId('password-entry').hidden = false;
      byId('password').value = '';
      byId('email').focus();
    });

    onSubmit(byId('form'), async (fd) => {
      const body = withReturnTo({ email: text(fd, 'email').trim(), password: text(fd, 'password') });
      const r = await post('/signin', body);
      if (afterSignIn(r)) return;
      if (r.ok && r.data.status === 'deletion_pending') return offerRestore(r.data);
      // verification_required: an unverified address; email_code_required:
      // the account is under attack and this browser is new to it.
      if (r.ok && ['verification_required', 'email_code_required'].includes(r.data.status)) return toVerify(r.data);
      showAlert(errorText(r));
    });

    // A passkey that verifies its user is enough on its own: no email needed.
    onClick(byId('passkey'), async () => {
      const p = await passkeyCeremony('/signin/passkey/options', 'get');
      if (p.error) return showAlert(p.error);
      const r = await post('/signin/passkey', withReturnTo({ credential: p.credential }));
      if (!afterSignIn(r)) showAlert(errorText(r));
    });

    // Passwordless email: a code to the address typed above.
    let flowId = null;
    const passwordEntry = byId('password-entry');
    const codeEntry = byId('code-entry');
    const code = byId('code');
    onClick(byId('email-code'), async () => {
      const emailField = byId('email');
      const email = emailField.value.trim();
      if (!email || !emailField.checkValidity()) {
        showAlert(MSG.enterEmail);
        emailField.focus();
        return;
      }
      const r = await post('/signin/email', withReturnTo({ email }));
      if (!r.ok || !r.data.flow_id) return showAlert(errorText(r));
      flowId = r.data.flow_id;
      byId('code-sent').textContent = tr('If {email} can sign in with an emailed code, we sent it a 6-digit code. '
        + 'Enter it below, or open the link in that email.', { email: r.data.email || email });
      passwordEntry.hidden = true;
      codeEntry.hidden = false;
      code.disabled = false;
      code.value = '';
      code.focus();
    });
    onSubmit(byId('code-form'), async (fd) => {
      const r = await post('/verify', { flow_id: flowId, code: text(fd, 'code').replace(/\s+/g, '') });
      if (r.ok && r.data.status === 'deletion_pending') return offerRestore(r.data);
      if (!afterSignIn(r)) showAlert(errorText(r));
    });
    byId('use-password').addEventListener('click', () => {
      clearAlert();
      codeEntry.hidden = true;
      code.disabled = true;
      passwordEntry.hidden = false;
      byId('password').focus();
    });
  },

  // The second step of a sign-in, or a step-up of a signed-in session.
  async 'signin-mfa'() {
    const info = await call('GET', '/signin/mfa');
    if (info.status === 401) {
      location.replace(withReturn('/signin'));
      return;
    }
    if (!info.ok) {
      showAlert(errorText(info));
      return;
    }
    const methods = Array.isArray(info.data.methods) ? info.data.methods : [];
    const hasPasskey = methods.includes('passkey');
    const hasRecovery = methods.includes('recovery_code');
    // An unknown list still offers the code field rather than nothing.
    const hasApp = methods.includes('totp') || (!hasPasskey && !hasRecovery);
    const recovery = info.data.context === 'recovery';
    if (info.data.context === 'stepup') {
      byId('title').textContent = tr('Confirm it’s you');
      byId('intro').textContent = MSG.stepUp;
    } else if (recovery) {
      byId('title').textContent = tr('Reset your password');
      byId('lost-all').hidden = false;
    } else {
      byId('title').textContent = tr('Two-step verification');
    }
    byId('status').hidden = true;
    byId('content').hidden = false;

    const form = byId('form');
    const codeField = byId('code-field');
    const recoveryField = byId('recovery-field');
    const useRecovery = byId('use-recovery');
    const useApp = byId('use-app');
    // One way at a time: the other field is hidden and disabled (not sent).
    const mode = (m) => {
      const recovery = m === 'recovery';
      codeField.hidden = recovery;
      byId('code').disabled = recovery;
      recoveryField.hidden = !recovery;
      byId('recovery_code').disabled = !recovery;
      form.hidden = !hasApp && !recovery;
      useRecovery.hidden = recovery || !hasRecovery;
      useApp.hidden = !recovery || !hasApp;
      if (m === 'app') byId('intro').textContent = info.data.context === 'stepup' ? MSG.stepUp : MSG.enterCode;
      if (recovery && m === 'app') byId('intro').textContent = `${MSG.recoverFactor} ${MSG.enterCode}`;
      if (recovery) byId('intro').textContent = MSG.enterRecovery;
      if (m === 'passkey') byId('intro').textContent = MSG.usePasskey;
    };
    mode(hasApp ? 'app' : (hasPasskey ? 'passkey' : 'recovery'));
    byId('passkey').hidden = !hasPasskey;

    useRecovery.addEventListener('click', (ev) => {
      ev.preventDefault();
      clearAlert();
      mode('recovery');
      byId('recovery_code').focus();
    });
    useApp.addEventListener('click', (ev) => {
      ev.preventDefault();
      clearAlert();
      mode('app');
      byId('code').focus();
    });

    const finish = (r) => {
      if (afterSignIn(r) || afterRecoveryStep(r)) return;
      if (r.data.error === 'flow_expired') {
        byId('content').hidden = true;
        byId('restart').hidden = false;
        showAlert(r.data.error_description || MSG.flowExpired);
        return;
      }
      showAlert(errorText(r));
    };

    onSubmit(form, async (fd) => {
      const body = fd.has('recovery_code')
        ? { recovery_code: text(fd, 'recovery_code').trim() }
        : { code: text(fd, 'code').replace(/\s+/g, '') };
      finish(await post('/signin/mfa', withReturnTo(body)));
    });

    onClick(byId('passkey'), async () => {
      const p = await passkeyCeremony('/signin/mfa/passkey/options', 'get');
      if (p.error) return showAlert(p.error);
      finish(await post('/signin/mfa', withReturnTo({ passkey: p.credential })));
    });
  },

  // Forgot password: the email, then the emailed code (or the mail's link,
  // which lands here with ?flow=&token=), then the factor step or the new
  // password (docs/recovery.md).
  async recover() {
    const flowFromLink = query.get('flow');
    const token = query.get('token');
    let flowId = null;
    const askPart = byId('ask');
    const codeEntry = byId('code-entry');
    const code = byId('code');
    const showCodeEntry = (email) => {
      byId('code-sent').textContent = tr('If {email} has an account, we sent it a 6-digit code. '
        + 'Enter it below, or open the link in that email in this browser.', { email });
      askPart.hidden = true;
      codeEntry.hidden = false;
      code.disabled = false;
      code.value = '';
      code.focus();
    };
    onSubmit(byId('form'), async (fd) => {
      const email = text(fd, 'email').trim();
      const r = await post('/recovery', withReturnTo({ email }));
      if (!r.ok || !r.data.flow_id) return showAlert(errorText(r));
      flowId = r.data.flow_id;
      showCodeEntry(r.data.email || email);
    });
    onSubmit(byId('code-form'), async (fd) => {
      const r = await post('/verify', { flow_id: flowId, code: text(fd, 'code').replace(/\s+/g, '') });
      if (!afterRecoveryStep(r)) showAlert(errorText(r));
    });
    if (flowFromLink && token) {
      // The link's token is a secret: keep it out of the history from now on.
      history.replaceState(null, '', withReturn('/recover'));
      askPart.hidden = true;
      showStatus(MSG.checkingLink);
      const r = await post('/verify', { flow_id: flowFromLink, token });
      if (afterRecoveryStep(r)) return;
      byId('status').hidden = true;
      askPart.hidden = false;
      showAlert(errorText(r));
    }
  },

  async 'recover-password'() {
    const state = await call('GET', '/recovery');
    if (state.ok && state.data.status === 'recovery_factor_required') {
      location.replace(withReturn('/signin/mfa'));
      return;
    }
    if (!state.ok || state.data.status !== 'recovery_password') {
      byId('form').hidden = true;
      byId('restart').hidden = false;
      showAlert(state.ok ? MSG.recoverExpired : errorText(state));
      return;
    }
    byId('password').focus();
    onSubmit(byId('form'), async (fd) => {
      const r = await post('/recovery/password', { password: text(fd, 'password') });
      if (afterSignIn(r)) return;
      if (r.data.error === 'flow_expired') {
        byId('form').hidden = true;
        byId('restart').hidden = false;
      }
      showAlert(errorText(r));
    });
  },

  'recover-wait'() {
    onClick(byId('start'), async () => {
      const r = await post('/recovery/wait', {});
      if (r.ok && r.data.status === 'recovery_waiting') return showWaiting(r.data);
      showAlert(errorText(r));
    });
  },

  'recover-lock'() {
    // The link's secret is in the fragment (never sent to a server, never
    // in a Referer): read it, then drop it from the address bar and history.
    const m = /^#(lock|undo)=([A-Za-z0-9_-]{43})$/.exec(location.hash);
    history.replaceState(null, '', BASE + '/recover/lock');
    const lockButton = byId('lock');
    if (!m) {
      byId('ask').hidden = true;
      showAlert(MSG.lockLinkBroken);
      return;
    }
    if (m[1] === 'undo') {
      byId('ask-lock').hidden = true;
      byId('ask-undo').hidden = false;
      lockButton.textContent = tr('Undo the change');
    }
    let flowId = null;
    onClick(lockButton, async () => {
      const r = await post('/recovery/lock', { token: m[2] });
      if (!r.ok) return showAlert(errorText(r));
      byId('ask').hidden = true;
      flowId = r.data.flow_id;
      if (!flowId) return showStatus(MSG.lockedNoFlow);
      byId('code-sent').textContent = r.data.email_restored
        ? tr('Your account is locked and its address is {email} again. We sent a 6-digit code to '
          + '{email}: enter it to choose a new password.', { email: r.data.email })
        : tr('Your account is locked. We sent a 6-digit code to {email}: enter it to choose a new password.',
          { email: r.data.email });
      byId('code-entry').hidden = false;
      const code = byId('code');
      code.disabled = false;
      code.focus();
    });
    onSubmit(byId('code-form'), async (fd) => {
      const r = await post('/verify', { flow_id: flowId, code: text(fd, 'code').replace(/\s+/g, '') });
      if (!afterRecoveryStep(r)) showAlert(errorText(r));
    });
  },

  'recover-cancel'() {
    const wait = query.get('wait');
    const token = query.get('token');
    // The link's token is a secret: keep it out of the history from now on.
    history.replaceState(null, '', BASE + '/recover/cancel');
    onClick(byId('cancel'), async () => {
      const r = await post('/recovery/wait/cancel', { wait_id: wait || '', token: token || '' });
      if (!r.ok) return showAlert(errorText(r));
      byId('ask').hidden = true;
      showStatus(MSG.recoverCancelled);
    });
  },

  signup() {
    showPasswordRule('password-rule', 'min_length');
    const details = (fd) => {
      const body = { email: text(fd, 'email').trim() };
      const given = text(fd, 'given_name').trim();
      const family = text(fd, 'family_name').trim();
      if (given) body.given_name = given;
      if (family) body.family_name = family;
      if (returnTo !== null) body.return_to = returnTo;
      // the purposes privacy.js shows, each ticked or not (docs/privacy.md)
      const boxes = [...document.querySelectorAll('input[data-consent]')];
      if (boxes.length) body.consents = Object.fromEntries(boxes.map((b) => [b.dataset.consent, b.checked]));
      return body;
    };
    const form = byId('form');
    onSubmit(form, async (fd) => {
      const body = { ...details(fd), password: text(fd, 'password') };
      const r = await post('/signup', body);
      if (r.ok && r.data.status === 'verification_required') return toVerify(r.data);
      showAlert(errorText(r));
    });
    // An account whose sign-in is a code emailed each time: needs the email only.
    onClick(byId('passwordless'), async () => {
      const emailField = byId('email');
      if (!emailField.value.trim() || !emailField.checkValidity()) {
        showAlert(MSG.enterEmail.replace('“Email me a sign-in code”', '“Create account without a password”'));
        emailField.focus();
        return;
      }
      const r = await post('/signup', { ...details(new FormData(form)), passwordless: true });
      if (r.ok && r.data.status === 'verification_required') return toVerify(r.data);
      showAlert(errorText(r));
    });
  },

  // After a sign-in with a password shorter than new ones must be: a longer
  // one, a second step, or not now (counted), then on to the journey.
  async 'password-upgrade'() {
    const session = await call('GET', '/session');
    if (!session.ok || !session.data.authenticated) return toSignIn();
    showPasswordRule('password-rule', 'min_length');
    const onward = (target) => go(target);
    onSubmit(byId('form'), async (fd) => {
      // return_to comes back checked by the server, like every journey target.
      const r = await post('/password', withReturnTo({ password: text(fd, 'password') }));
      if (reauthIfNeeded(r)) return;
      if (!r.ok) return showAlert(errorText(r));
      byId('form').hidden = true;
      showStatus(MSG.passwordChanged);
      onward(r.data.return_to);
    });
    onClick(byId('skip'), async () => {
      const r = await post('/password/upgrade/skip', withReturnTo({}));
      if (!r.ok) return showAlert(errorText(r));
      onward(r.data.return_to);
    });
  },

  async verify() {
    const flow = query.get('flow');
    const token = query.get('token');
    if (!flow) {
      byId('entry').hidden = true;
      byId('start-over').hidden = false;
      showAlert(MSG.noFlow);
      return;
    }
    let email = '';
    try {
      email = sessionStorage.getItem(`gh_verify_email:${flow}`) || '';
    } catch { /* no storage */ }
    if (email) {
      byId('sent-to').textContent =
        tr('We sent a 6-digit code to {email}. Enter it below, or open the link in that email.', { email });
    }

    const done = (r) => {
      if (afterSignIn(r)) return true;
      if (r.ok && r.data.status === 'verified') {
        byId('entry').hidden = true;
        byId('done').hidden = false;
        showStatus(MSG.verified);
        return true;
      }
      if (r.data.error === 'code_used') {
        // Nothing left to enter here: the way on is to sign in.
        byId('entry').hidden = true;
        byId('status').hidden = true;
        byId('done').hidden = false;
        showAlert(errorText(r));
        return true;
      }
      showAlert(errorText(r));
      return false;
    };

    onSubmit(byId('form'), async (fd) => {
      const code = text(fd, 'code').replace(/\s+/g, '');
      done(await post('/verify', { flow_id: flow, code }));
    });

    let resending = false;
    byId('resend').addEventListener('click', async () => {
      if (resending) return;
      resending = true;
      clearAlert();
      const r = await post('/verify/resend', { flow_id: flow });
      resending = false;
      if (r.ok) showStatus(MSG.resent);
      else showAlert(errorText(r));
    });

    if (token) {
      // The link's token is a secret: keep it out of the history from now on.
      history.replaceState(null, '', withReturn('/verify', { flow }));
      byId('entry').hidden = true;
      showStatus(MSG.checkingLink);
      const r = await post('/verify', { flow_id: flow, token });
      if (!done(r)) {
        byId('status').hidden = true;
        byId('entry').hidden = false;
      }
    }
  },

  async account() {
    const r = await call('GET', '/session');
    if (r.ok && !r.data.authenticated) {
      location.replace(BASE + '/signin');
      return;
    }
    if (r.ok && r.data.consent_required) { // a required document waits (docs/privacy.md)
      location.replace(`${BASE}/consent/update?${new URLSearchParams({ return_to: `${BASE}/account` })}`);
      return;
    }
    if (!r.ok) {
      showAlert(errorText(r));
      return;
    }
    const user = r.data.user || {};
    byId('email').textContent = user.email || '';
    const name = [user.given_name, user.family_name].filter(Boolean).join(' ');
    if (name) {
      byId('name').textContent = name;
      byId('name').hidden = false;
    }
    byId('status').hidden = true;
    // "Sign out" works from the moment it shows, before the page's other
    // sections have loaded (a click then was lost: CI2)
    byId('signout').addEventListener('click', async () => {
      if (signingOut) return;
      signingOut = true;
      const out = await post('/signout');
      if (out.ok) return location.assign(BASE + '/signin?signed_out=1');
      signingOut = false;
      return showAlert(errorText(out));
    });
    byId('content').hidden = false;
    if (query.get('enrol') === '1') showStatus(MSG.enrolAgain);

    const prof = await call('GET', '/profile');
    const fields = ['given_name', 'family_name', 'display_name', 'locale', 'zoneinfo'];
    if (prof.ok) for (const f of fields) byId(f).value = prof.data[f] || '';
    onSubmit(byId('profile-form'), async (fd) => {
      const body = {};
      for (const f of fields) body[f] = text(fd, f).trim();
      const r = await send('PATCH', '/profile', body);
      if (!r.ok) return showAlert(errorText(r));
      showStatus(MSG.profileSaved);
    });

    onSubmit(byId('password-form'), async (fd) => {
      const body = { password: text(fd, 'new_password'), sign_out_others: fd.has('sign_out_others') };
      const current = text(fd, 'current_password');
      if (current) body.current_password = current;
      const r = await post('/password', body);
      if (reauthIfNeeded(r)) return;
      if (!r.ok) return showAlert(errorText(r));
      byId('password-form').reset();
      showStatus(r.data.ended ? `${MSG.passwordChanged} ${MSG.othersEnded}` : MSG.passwordChanged);
      if (r.data.ended) {
        for (const li of [...byId('sessions').querySelectorAll('li[data-other]')]) li.remove();
        byId('end-others').hidden = true;
      }
    });

    let emailFlow = null;
    onSubmit(byId('email-form'), async (fd) => {
      const body = { email: text(fd, 'new_email').trim() };
      const current = text(fd, 'current_password');
      if (current) body.current_password = current;
      const r = await post('/email', body);
      if (reauthIfNeeded(r)) return;
      if (!r.ok || !r.data.flow_id) return showAlert(errorText(r));
      emailFlow = r.data.flow_id;
      byId('email-form').reset();
      byId('email-form').hidden = true;
      byId('email-code-sent').textContent = tr('We sent a 6-digit code to {email}. Enter it to use this address.',
        { email: r.data.email });
      byId('email-code-form').hidden = false;
      byId('email_code').focus();
    });
    onSubmit(byId('email-code-form'), async (fd) => {
      const r = await post('/verify', { flow_id: emailFlow, code: text(fd, 'code').replace(/\s+/g, '') });
      if (!r.ok) return showAlert(errorText(r));
      byId('email-code-form').reset();
      byId('email-code-form').hidden = true;
      byId('email-form').hidden = false;
      byId('email').textContent = r.data.email;
      showStatus(MSG.emailChanged);
    });

    onSubmit(byId('export-form'), async (fd) => {
      const current = text(fd, 'current_password');
      const r = await fetchExport(current ? { current_password: current } : {});
      if (r.status === 403 && r.data.error === 'reauthentication_required') {
        showAlert(MSG.exportPassword);
        byId('export_password').focus();
        return;
      }
      if (!r.ok) {
        showAlert(errorText(r));
        if (r.status === 400) byId('export_password').focus();
        return;
      }
      byId('export-form').reset();
      saveFile(r.blob, r.name);
      showStatus(MSG.exported);
    });

    onSubmit(byId('delete-form'), async (fd) => {
      const r = await post('/account/delete', { current_password: text(fd, 'delete_password') });
      if (!r.ok) {
        byId('delete_password').focus();
        return showAlert(errorText(r));
      }
      location.assign(BASE + '/signin?deleted=1');
    });

    await signInMethods();
    await connectedApps();

    const s = await call('GET', '/sessions');
    if (s.status === 401) {
      location.replace(BASE + '/signin');
      return;
    }
    if (!s.ok) {
      showAlert(errorText(s));
      return;
    }
    const list = byId('sessions');
    const sessions = s.data.sessions || [];
    for (const sess of sessions) list.append(sessionItem(sess));
    const others = byId('end-others');
    others.hidden = !sessions.some((x) => !x.current);
    others.addEventListener('click', async () => {
      clearAlert();
      const r = await send('DELETE', '/sessions');
      if (reauthIfNeeded(r)) return;
      if (!r.ok) {
        showAlert(errorText(r));
        return;
      }
      for (const li of [...list.querySelectorAll('li[data-other]')]) li.remove();
      others.hidden = true;
      showStatus(MSG.othersEnded);
    });
  },

  // Set up an authenticator app: a new set-up on every visit, confirmed by a code.
  async 'account-authenticator'() {
    const r = await post('/mfa/totp');
    if (r.status === 401) return toSignIn();
    if (reauthIfNeeded(r)) return;
    if (!r.ok) {
      showAlert(errorText(r));
      return;
    }
    const setup = r.data;
    byId('qr').src = svgDataUrl(setup.qr_svg || '');
    byId('secret').textContent = setup.secret || '';
    byId('status').hidden = true;
    byId('setup').hidden = false;

    onSubmit(byId('form'), async (fd) => {
      const c = await post(`/mfa/totp/${encodeURIComponent(setup.id)}/confirm`,
        { code: text(fd, 'code').replace(/\s+/g, '') });
      if (reauthIfNeeded(c)) return;
      if (!c.ok) {
        showAlert(errorText(c));
        return;
      }
      byId('setup').hidden = true;
      showStatus(MSG.totpDone);
      if (Array.isArray(c.data.recovery_codes) && c.data.recovery_codes.length) showCodes(c.data.recovery_codes);
    });
  },

  async 'account-recovery-codes'() {
    const r = await call('GET', '/mfa');
    if (r.status === 401) return toSignIn();
    if (!r.ok) {
      showAlert(errorText(r));
      return;
    }
    const left = r.data.recovery_codes ? Number(r.data.recovery_codes.remaining) || 0 : 0;
    byId('remaining').textContent = codesLeftText(left);
    byId('status').hidden = true;
    byId('content').hidden = false;

    onClick(byId('generate'), async () => {
      const g = await post('/mfa/recovery-codes');
      if (reauthIfNeeded(g)) return;
      if (!g.ok || !Array.isArray(g.data.recovery_codes)) {
        showAlert(errorText(g));
        return;
      }
      byId('remaining').textContent = codesLeftText(g.data.recovery_codes.length);
      showStatus(MSG.newCodes);
      showCodes(g.data.recovery_codes);
    });
  },

  // The consent page: return_to is the authorization request to resume; it
  // must be one (a path starting /authorize?), never anywhere else.
  async consent() {
    const back = typeof returnTo === 'string' && returnTo.startsWith('/authorize?') ? returnTo : null;
    if (!back) {
      showAlert(MSG.generic);
      return;
    }
    const req = new URLSearchParams(back.slice('/authorize?'.length));
    const clientId = req.get('client_id') || '';
    const scope = req.get('scope') || '';
    const purpose = req.get('purpose');
    const ask = new URLSearchParams({ client_id: clientId, scope });
    if (purpose !== null) ask.set('purpose', purpose);
    const info = await call('GET', `/consent?${ask}`);
    if (info.status === 401) {
      location.assign(`${BASE}/signin?${new URLSearchParams({ return_to: back })}`);
      return;
    }
    if (!info.ok) {
      showAlert(errorText(info));
      return;
    }
    byId('client').textContent = info.data.client_name;
    consentLinks(info.data);
    const list = byId('scopes');
    for (const s of info.data.scopes) {
      const li = document.createElement('li');
      li.textContent = tr(s.description); // the built-in scopes' words are in the catalogs
      list.append(li);
    }
    consentPurposes(info.data.purposes || []);
    byId('form').hidden = false;
    const decide = async (decision) => {
      const body = { client_id: clientId, scope, decision, return_to: back };
      const boxes = [...document.querySelectorAll('input[data-purpose]')];
      if (boxes.length) body.purposes = Object.fromEntries(boxes.map((b) => [b.dataset.purpose, b.checked]));
      const r = await post('/consent', body);
      if (!r.ok) {
        showAlert(errorText(r));
        return;
      }
      location.assign(`${back}&gh_consent=${encodeURIComponent(r.data.marker)}`);
    };
    byId('allow').addEventListener('click', () => decide('allow'));
    byId('deny').addEventListener('click', () => decide('deny'));
  },

  error() {
    const messages = new Map([
      ['invalid_request', 'The request was not valid. Go back and try again.'],
      ['not_found', 'That page does not exist.'],
      ['csrf', 'The page was open for too long or came from another site. Go back, reload and try again.'],
      ['session_expired', 'Your session has ended. Sign in again to continue.'],
      ['unauthenticated', 'You need to sign in to continue.'],
      ['access_denied', 'The request was declined.'],
      ['flow_expired', 'This code or link has expired or was tried too often. Ask for a new code.'],
      ['code_used', 'This code or link was already used.'],
      ['invalid_code', 'That code or link is wrong or has expired.'],
      ['too_many_requests', 'Too many attempts. Wait a minute, then try again.'],
      ['temporarily_unavailable', 'The service is busy right now. Try again in a moment.'],
      ['server_error', 'Something went wrong on our side. Try again in a moment.'],
    ]);
    const code = query.get('error');
    if (code !== null && messages.has(code)) byId('message').textContent = tr(messages.get(code));
  },
};

// ---- sessions list (account page) ----

function describeAgent(ua) {
  if (!ua) return tr('Unknown device');
  const browser = [['Edg/', 'Edge'], ['Firefox/', 'Firefox'], ['Chrome/', 'Chrome'], ['Safari/', 'Safari']]
    .find(([needle]) => ua.includes(needle));
  const os = [['Android', 'Android'], ['iPhone', 'iPhone'], ['iPad', 'iPad'], ['Windows', 'Windows'],
    ['Mac OS X', 'macOS'], ['CrOS', 'ChromeOS'], ['Linux', 'Linux']]
    .find(([needle]) => ua.includes(needle));
  if (browser && os) return tr('{browser} on {os}', { browser: browser[1], os: os[1] });
  if (browser) return browser[1];
  return ua.length > 60 ? `${ua.slice(0, 60)}…` : ua;
}

function when(t) {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleString(LANG);
}

function sessionItem(sess) {
  const li = document.createElement('li');
  const title = document.createElement('p');
  title.className = 'device';
  title.textContent = describeAgent(sess.user_agent);
  if (sess.current) {
    const tag = document.createElement('span');
    tag.className = 'tag';
    tag.textContent = tr('This browser');
    title.append(' ', tag);
  }
  const meta = document.createElement('p');
  meta.className = 'meta';
  const parts = [];
  if (sess.created_at) parts.push(tr('Signed in {when}', { when: when(sess.created_at) }));
  if (sess.last_seen_at) parts.push(tr('last active {when}', { when: when(sess.last_seen_at) }));
  if (sess.ip) parts.push(tr('from {ip}', { ip: sess.ip }));
  meta.textContent = parts.join(', ');
  li.append(title, meta);
  if (!sess.current) {
    li.dataset.other = '1';
    const end = document.createElement('button');
    end.type = 'button';
    end.className = 'secondary';
    end.textContent = tr('End session');
    end.setAttribute('aria-label', tr('End session: {device}, {details}',
      { device: title.textContent, details: meta.textContent }));
    end.addEventListener('click', async () => {
      clearAlert();
      const r = await send('DELETE', `/sessions/${encodeURIComponent(sess.id)}`);
      if (reauthIfNeeded(r)) return;
      if (!r.ok) {
        showAlert(errorText(r));
        return;
      }
      li.remove();
      showStatus(MSG.sessionEnded);
    });
    li.append(end);
  }
  return li;
}

// ---- connected apps (account page) ----

let appSeq = 0;

function appItem(app) {
  const li = document.createElement('li');
  const title = document.createElement('p');
  title.className = 'device';
  title.id = `app-${++appSeq}`;
  title.textContent = app.client_name || app.client_id;
  const what = document.createElement('p');
  what.className = 'meta';
  const words = (app.scopes || []).map((s) => (s.description ? tr(s.description) : s.scope));
  what.textContent = words.length ? tr('Can: {what}', { what: words.join('; ') }) : '';
  const meta = document.createElement('p');
  meta.className = 'meta';
  const parts = [tr('Allowed {when}', { when: when(app.granted_at) })];
  if (app.last_used_at) parts.push(tr('last used {when}', { when: when(app.last_used_at) }));
  meta.textContent = parts.join(', ');
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'secondary';
  remove.textContent = tr('Remove access');
  remove.setAttribute('aria-describedby', title.id);
  remove.addEventListener('click', async () => {
    clearAlert();
    const r = await send('DELETE', `/consents/${encodeURIComponent(app.client_id)}`);
    if (!r.ok) return showAlert(errorText(r));
    li.remove();
    byId('no-apps').hidden = byId('apps').children.length > 0;
    showStatus(tr('{app} no longer has access to your account.', { app: title.textContent }));
  });
  li.append(title, what, meta, remove);
  return li;
}

async function connectedApps() {
  const r = await call('GET', '/consents');
  if (!r.ok) return;
  const list = byId('apps');
  for (const app of r.data.consents || []) list.append(appItem(app));
  byId('no-apps').hidden = list.children.length > 0;
}

// ---- sign-in methods (account page) ----

const KIND_WORDS = { totp: 'Authenticator app', passkey: 'Passkey', email: 'Emailed code' };

function kindText(f) {
  const kind = tr(KIND_WORDS[f.kind] || 'Sign-in method');
  if (f.kind !== 'passkey' || typeof f.backup_eligible !== 'boolean') return kind;
  return tr(f.backup_eligible ? '{kind}, synced between your devices' : '{kind}, kept on one device', { kind });
}

function codesLeftText(n) {
  if (n === 0) return tr('You have no recovery codes left.');
  return n === 1 ? tr('You have 1 recovery code left.') : tr('You have {n} recovery codes left.', { n });
}

let factorSeq = 0;

/**
 * One factor in the list, with "Rename" (an inline form) and "Remove".
 * actions: {rename(f, name) → Promise<bool>, remove(f), openRename(closeFn)}.
 */
function factorItem(f, actions) {
  const n = ++factorSeq;
  const li = document.createElement('li');
  const title = document.createElement('p');
  title.className = 'device';
  title.id = `factor-${n}-name`;
  title.textContent = f.name || tr(KIND_WORDS[f.kind] || 'Unnamed');

  const meta = document.createElement('p');
  meta.className = 'meta';
  const parts = [kindText(f)];
  if (f.created_at) parts.push(tr('added {when}', { when: when(f.created_at) }));
  parts.push(f.last_used_at ? tr('last used {when}', { when: when(f.last_used_at) }) : tr('not used yet'));
  meta.textContent = parts.join(' · ');
  li.append(title, meta);

  if (f.cloned === true) {
    const warn = document.createElement('p');
    warn.className = 'warning';
    warn.id = `factor-${n}-warning`;
    warn.textContent = tr('Possibly cloned: this passkey’s counter went backwards, so a copy of it may exist. '
      + 'Sign-ins with it are refused. Remove it and add your passkey again.');
    li.append(warn);
  }

  const buttons = document.createElement('div');
  buttons.className = 'row-actions';
  const renameBtn = document.createElement('button');
  renameBtn.type = 'button';
  renameBtn.className = 'secondary small';
  renameBtn.textContent = tr('Rename');
  renameBtn.setAttribute('aria-describedby', title.id);
  const removeBtn = document.createElement('button');
  removeBtn.type = 'button';
  removeBtn.className = 'secondary small';
  removeBtn.textContent = tr('Remove');
  removeBtn.setAttribute('aria-describedby', title.id);
  buttons.append(renameBtn, removeBtn);
  li.append(buttons);

  // The rename form: built when opened, so that only one "Name" field exists.
  let form = null;
  const close = (focusBack) => {
    if (!form) return;
    form.remove();
    form = null;
    buttons.hidden = false;
    if (focusBack) renameBtn.focus();
  };
  renameBtn.addEventListener('click', () => {
    clearAlert();
    actions.openRename(() => close(false));
    form = document.createElement('form');
    form.className = 'rename';
    const field = document.createElement('div');
    field.className = 'field';
    const label = document.createElement('label');
    label.htmlFor = `factor-${n}-input`;
    label.textContent = tr('Name');
    const input = document.createElement('input');
    input.id = label.htmlFor;
    input.name = 'name';
    input.type = 'text';
    input.required = true;
    input.maxLength = 64;
    input.autocomplete = 'off';
    input.value = f.name || '';
    field.append(label, input);
    const save = document.createElement('button');
    save.type = 'submit';
    save.className = 'secondary small';
    save.textContent = tr('Save');
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.className = 'link';
    cancel.textContent = tr('Cancel');
    cancel.addEventListener('click', () => close(true));
    const row = document.createElement('div');
    row.className = 'row-actions';
    row.append(save, cancel);
    form.append(field, row);
    onSubmit(form, async (fd) => {
      const name = text(fd, 'name').trim();
      if (!name) return;
      if (await actions.rename(f, name)) {
        f.name = name;
        title.textContent = name;
        close(true);
        showStatus(MSG.renamed);
      }
    });
    form.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') close(true);
    });
    buttons.hidden = true;
    li.append(form);
    input.focus();
    input.select();
  });
  onClick(removeBtn, () => actions.remove(f));
  return li;
}

/** The account page's "Sign-in methods" section (docs/mfa.md, "Managing authenticators"). */
async function signInMethods() {
  let closeOpenRename = null;
  const actions = {
    openRename(closeFn) {
      if (closeOpenRename) closeOpenRename();
      closeOpenRename = closeFn;
    },
    async rename(f, name) {
      const r = await send('PATCH', `/mfa/factors/${encodeURIComponent(f.id)}`, { name });
      if (reauthIfNeeded(r)) return false;
      if (!r.ok) showAlert(errorText(r));
      return r.ok;
    },
    async remove(f) {
      const r = await send('DELETE', `/mfa/factors/${encodeURIComponent(f.id)}`);
      if (reauthIfNeeded(r)) return;
      if (!r.ok) {
        showAlert(errorText(r));
        return;
      }
      await refresh();
      showStatus(tr('Removed {name}.', { name: f.name || tr(KIND_WORDS[f.kind] || 'the sign-in method') }));
      byId('methods-title').focus();
    },
  };

  const box = byId('passwordless');
  const render = (data) => {
    const list = byId('factors');
    list.textContent = '';
    closeOpenRename = null;
    const factors = Array.isArray(data.factors) ? data.factors : [];
    for (const f of factors) list.append(factorItem(f, actions));
    const second = factors.some((f) => f.kind === 'totp' || f.kind === 'passkey');
    byId('no-factors').hidden = second;
    const left = data.recovery_codes ? Number(data.recovery_codes.remaining) || 0 : 0;
    byId('codes-left').textContent = second ? tr('({n} left)', { n: left }) : '';
    byId('reauth-hint').hidden = data.reauth_required !== true;
    box.checked = data.passwordless_email === true;
  };
  const refresh = async () => {
    const r = await call('GET', '/mfa');
    if (r.ok) render(r.data);
    else showAlert(errorText(r));
    return r;
  };

  const first = await call('GET', '/mfa');
  if (first.status === 401) return;
  if (!first.ok) {
    showAlert(errorText(first));
    return;
  }
  render(first.data);
  byId('methods').hidden = false;
  // Arrived from "Add a second step" (the password upgrade page).
  if (location.hash === '#methods') byId('methods-title').focus();

  onClick(byId('add-passkey'), async () => {
    const p = await passkeyCeremony('/mfa/passkeys/options', 'create');
    if (p.redirected) return;
    if (p.error) return showAlert(p.error);
    const r = await post('/mfa/passkeys', { credential: p.credential, name: describeAgent(navigator.userAgent) });
    if (reauthIfNeeded(r)) return;
    if (!r.ok) return showAlert(errorText(r));
    await refresh();
    showStatus(MSG.passkeyAdded);
    if (Array.isArray(r.data.recovery_codes) && r.data.recovery_codes.length) showCodes(r.data.recovery_codes);
  });

  // The checkbox stays focusable while its change is saved (disabling it would drop keyboard focus).
  let saving = false;
  box.addEventListener('change', async () => {
    const want = box.checked;
    if (saving) {
      box.checked = !want;
      return;
    }
    saving = true;
    box.setAttribute('aria-busy', 'true');
    clearAlert();
    const r = await send('PUT', '/mfa/email', { enabled: want });
    saving = false;
    box.removeAttribute('aria-busy');
    if (reauthIfNeeded(r)) return;
    if (!r.ok) {
      box.checked = !want;
      showAlert(errorText(r));
      return;
    }
    await refresh();
    box.checked = r.data.passwordless_email === true;
    showStatus(box.checked ? MSG.passwordlessOn : MSG.passwordlessOff);
  });
}

// ---- language switch (docs/i18n.md) ----
// The server adds the switch to every page. A choice is kept for this
// browser (cookie gh_lang), saved as the account's locale when signed in,
// and, inside a sign-in that an application started with ui_locales, put
// into that request's ui_locales (only that parameter of return_to changes;
// the server binds none of its checks to it), so every later page of the
// flow follows it. Then the page reloads in the new language.
async function chooseLanguage(tag) {
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `gh_lang=${encodeURIComponent(tag)}; Path=/; Max-Age=31536000; SameSite=Lax${secure}`;
  const s = await call('GET', '/session');
  if (s.ok && s.data.authenticated) await send('PATCH', '/profile', { locale: tag });
  const url = new URL(location.href);
  const back = url.searchParams.get('return_to');
  if (back && back.startsWith('/') && !back.startsWith('//')) {
    const resume = new URL(back, location.origin);
    if (resume.pathname.endsWith('/authorize') && resume.searchParams.has('ui_locales')) {
      resume.searchParams.set('ui_locales', tag);
      url.searchParams.set('return_to', resume.pathname + resume.search);
    }
  }
  location.replace(url.href);
}

for (const b of document.querySelectorAll('nav.languages button[data-lang]')) {
  b.addEventListener('click', () => chooseLanguage(b.dataset.lang));
}

// ---- start ----

// The pages' own links are written from the root; under /t/{tenant} they
// gain the prefix (withReturn adds it to those that keep return_to).
for (const a of document.querySelectorAll('a[href^="/"]:not([data-keep-return])')) {
  const href = a.getAttribute('href');
  if (BASE && !href.startsWith('//') && !href.startsWith(`${BASE}/`)) a.setAttribute('href', BASE + href);
}
for (const a of document.querySelectorAll('a[data-keep-return]')) {
  a.setAttribute('href', withReturn(a.getAttribute('href')));
}
const run = pages[document.body.dataset.page];
if (run) run();
