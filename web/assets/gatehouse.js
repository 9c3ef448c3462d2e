// Gatehouse hosted pages: one small script for all of them. <body data-page>
// picks what runs. Plain ES2020, no framework, no build step.
//
// Rules kept here: text reaches the page only through textContent (never
// innerHTML); every POST carries the CSRF token from GET /api/v1/session;
// the page's own ?return_to= is handed to the API and to links between the
// pages untouched, and only the API's answer (already checked by the server)
// is ever followed.
'use strict';

const API = '/api/v1';
const query = new URLSearchParams(location.search);
const returnTo = query.get('return_to');
let csrfToken = null;

const MSG = {
  network: 'We could not reach the server. Check your connection and try again.',
  busy: 'Too many attempts. Wait a minute, then try again.',
  generic: 'Something went wrong. Please try again.',
  signedOut: 'You have signed out.',
  noFlow: 'This page needs the code or link from your email. Start again by creating an account or signing in.',
  checkingLink: 'Checking your link…',
  verified: 'Your email is verified. Sign in to continue.',
  resent: 'We sent a new code. It replaces the previous one.',
};

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

/** A POST; a stale CSRF token (e.g. signed in or out in another tab) is renewed once. */
async function post(path, body) {
  let r = await call('POST', path, body);
  if (r.status === 403 && r.data.error === 'csrf') {
    csrfToken = null;
    r = await call('POST', path, body);
  }
  return r;
}

// ---- page helpers ----

function errorText(r) {
  if (typeof r.data.error_description === 'string' && r.data.error_description) {
    return r.data.error_description;
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
  return s ? `${path}?${s}` : path;
}

/** Follows the server's (already validated) return_to. */
function go(target) {
  location.assign(typeof target === 'string' && target ? target : '/account');
}

function toVerify(data) {
  try {
    sessionStorage.setItem(`gh_verify_email:${data.flow_id}`, data.email || '');
  } catch { /* storage off: the page shows a general sentence instead */ }
  location.assign(withReturn('/verify', { flow: data.flow_id }));
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

// ---- pages ----

const pages = {
  signin() {
    if (query.get('signed_out') === '1') showStatus(MSG.signedOut);
    // An application's login_hint (OpenID Connect) fills in the email.
    const hint = query.get('login_hint');
    if (hint && hint.includes('@') && hint.length <= 254) byId('email').value = hint;
    onSubmit(byId('form'), async (fd) => {
      const body = { email: text(fd, 'email').trim(), password: text(fd, 'password') };
      if (returnTo !== null) body.return_to = returnTo;
      const r = await post('/signin', body);
      if (r.ok && r.data.status === 'signed_in') return go(r.data.return_to);
      if (r.ok && r.data.status === 'verification_required') return toVerify(r.data);
      showAlert(errorText(r));
    });
  },

  signup() {
    onSubmit(byId('form'), async (fd) => {
      const body = { email: text(fd, 'email').trim(), password: text(fd, 'password') };
      const given = text(fd, 'given_name').trim();
      const family = text(fd, 'family_name').trim();
      if (given) body.given_name = given;
      if (family) body.family_name = family;
      if (returnTo !== null) body.return_to = returnTo;
      const r = await post('/signup', body);
      if (r.ok && r.data.status === 'verification_required') return toVerify(r.data);
      showAlert(errorText(r));
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
        `We sent a 6-digit code to ${email}. Enter it below, or open the link in that email.`;
    }

    const done = (r) => {
      if (r.ok && r.data.status === 'signed_in') {
        go(r.data.return_to);
        return true;
      }
      if (r.ok && r.data.status === 'verified') {
        byId('entry').hidden = true;
        byId('done').hidden = false;
        showStatus(MSG.verified);
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
      location.replace('/signin');
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
    byId('content').hidden = false;

    let leaving = false;
    byId('signout').addEventListener('click', async () => {
      if (leaving) return;
      leaving = true;
      const out = await post('/signout');
      leaving = false;
      if (out.ok) location.assign('/signin?signed_out=1');
      else showAlert(errorText(out));
    });

    const s = await call('GET', '/sessions');
    if (s.status === 401) {
      location.replace('/signin');
      return;
    }
    if (!s.ok) {
      showAlert(errorText(s));
      return;
    }
    const list = byId('sessions');
    for (const sess of s.data.sessions || []) list.append(sessionItem(sess));
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
    const info = await call('GET', `/consent?${new URLSearchParams({ client_id: clientId, scope })}`);
    if (info.status === 401) {
      location.assign(`/signin?${new URLSearchParams({ return_to: back })}`);
      return;
    }
    if (!info.ok) {
      showAlert(errorText(info));
      return;
    }
    byId('client').textContent = info.data.client_name;
    const list = byId('scopes');
    for (const s of info.data.scopes) {
      const li = document.createElement('li');
      li.textContent = s.description;
      list.append(li);
    }
    byId('form').hidden = false;
    const decide = async (decision) => {
      const r = await post('/consent', { client_id: clientId, scope, decision });
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
      ['flow_expired', 'This code or link has expired or was used too often. Ask for a new code.'],
      ['invalid_code', 'That code or link is wrong or has expired.'],
      ['too_many_requests', 'Too many attempts. Wait a minute, then try again.'],
      ['temporarily_unavailable', 'The service is busy right now. Try again in a moment.'],
      ['server_error', 'Something went wrong on our side. Try again in a moment.'],
    ]);
    const code = query.get('error');
    if (code !== null && messages.has(code)) byId('message').textContent = messages.get(code);
  },
};

// ---- sessions list (account page) ----

function describeAgent(ua) {
  if (!ua) return 'Unknown device';
  const browser = [['Edg/', 'Edge'], ['Firefox/', 'Firefox'], ['Chrome/', 'Chrome'], ['Safari/', 'Safari']]
    .find(([needle]) => ua.includes(needle));
  const os = [['Android', 'Android'], ['iPhone', 'iPhone'], ['iPad', 'iPad'], ['Windows', 'Windows'],
    ['Mac OS X', 'macOS'], ['CrOS', 'ChromeOS'], ['Linux', 'Linux']]
    .find(([needle]) => ua.includes(needle));
  if (browser && os) return `${browser[1]} on ${os[1]}`;
  if (browser) return browser[1];
  return ua.length > 60 ? `${ua.slice(0, 60)}…` : ua;
}

function when(t) {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleString();
}

function sessionItem(sess) {
  const li = document.createElement('li');
  const title = document.createElement('p');
  title.className = 'device';
  title.textContent = describeAgent(sess.user_agent);
  if (sess.current) {
    const tag = document.createElement('span');
    tag.className = 'tag';
    tag.textContent = 'This browser';
    title.append(' ', tag);
  }
  const meta = document.createElement('p');
  meta.className = 'meta';
  const parts = [];
  if (sess.created_at) parts.push(`Signed in ${when(sess.created_at)}`);
  if (sess.last_seen_at) parts.push(`last active ${when(sess.last_seen_at)}`);
  if (sess.ip) parts.push(`from ${sess.ip}`);
  meta.textContent = parts.join(', ');
  li.append(title, meta);
  return li;
}

// ---- start ----

for (const a of document.querySelectorAll('a[data-keep-return]')) {
  a.setAttribute('href', withReturn(a.getAttribute('href')));
}
const run = pages[document.body.dataset.page];
if (run) run();
