// Privacy on the hosted pages (docs/privacy.md): the purposes on the
// sign-up page, the re-ask after sign-in (/consent/update) and the
// "Privacy and agreements" section of /account. Loaded after gatehouse.js,
// whose helpers (call, post, byId, showAlert, showStatus, errorText, onClick,
// go, toSignIn, withReturnTo, when) it uses; text reaches the page only through
// textContent, as there.
'use strict';

/** A link to one version of a document, opening in a new tab (said in its name). */
function documentLink(title, doc) {
  const a = document.createElement('a');
  a.href = doc.url;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  a.textContent = tr('{title}, version {version} (opens in a new tab)', { title, version: doc.version });
  return a;
}

function para(className, text) {
  const p = document.createElement('p');
  if (className) p.className = className;
  p.textContent = text;
  return p;
}

/** One purpose as a checkbox whose label is the exact wording recorded. */
function purposeBox(p) {
  const wrap = document.createElement('div');
  const row = document.createElement('div');
  row.className = 'check';
  const input = document.createElement('input');
  input.type = 'checkbox';
  input.id = `consent-${p.key}`;
  input.name = `consent-${p.key}`;
  input.dataset.consent = p.key;
  if (p.required) input.required = true;
  const label = document.createElement('label');
  label.htmlFor = input.id;
  label.textContent = p.label;
  row.append(input, label);
  wrap.append(row);
  const hint = document.createElement('p');
  hint.className = 'hint';
  hint.id = `consent-${p.key}-hint`;
  if (p.description) hint.append(`${p.description} `);
  if (p.document && p.document.url) hint.append(documentLink(p.title, p.document));
  if (hint.childNodes.length) {
    input.setAttribute('aria-describedby', hint.id);
    wrap.append(hint);
  }
  return wrap;
}

/** "Accepted version 2 on …", "Declined on …", … for a purpose on /account. */
function decisionText(p) {
  const vars = { date: p.decided_at ? when(p.decided_at) : '', version: p.version };
  switch (p.decision) {
    case 'granted':
      if (!p.required) return tr('You agreed on {date}.', vars);
      return p.version ? tr('You accepted version {version} on {date}.', vars) : tr('You accepted on {date}.', vars);
    case 'declined': return tr('You declined on {date}.', vars);
    case 'withdrawn': return tr('You withdrew on {date}.', vars);
    default: return tr('Not decided yet.');
  }
}

function agreementItem(p, refresh) {
  const li = document.createElement('li');
  const h = document.createElement('h3');
  h.textContent = p.title;
  li.append(h);
  li.append(para('meta', decisionText(p)));
  if (p.document && p.document.url) {
    const links = document.createElement('p');
    links.append(documentLink(p.title, p.document));
    li.append(links);
  }
  if (p.required) {
    li.append(para('hint', tr('Required to use your account. To end it, delete your account.')));
    return li;
  }
  const granted = p.decision === 'granted';
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'secondary';
  b.textContent = granted ? tr('Withdraw') : tr('Agree');
  b.setAttribute('aria-label', `${b.textContent}: ${p.label}`);
  onClick(b, async () => {
    const r = await post('/consents/purposes',
      { purpose: p.key, decision: granted ? 'withdrawn' : 'granted', channel: 'page' });
    if (!r.ok) return showAlert(errorText(r));
    showStatus(granted ? tr('Withdrawn: {label}.', { label: p.label }) : tr('Saved: {label}.', { label: p.label }));
    await refresh();
  });
  li.append(b);
  return li;
}

function historyItem(h) {
  const li = document.createElement('li');
  const what = { granted: tr('agreed to'), declined: tr('declined'), withdrawn: tr('withdrew') }[h.decision]
    || h.decision;
  const vars = { date: when(h.time), what, wording: h.wording, version: h.version };
  const line = h.version ? tr('{date}: {what} “{wording}”, version {version}', vars)
    : tr('{date}: {what} “{wording}”', vars);
  const who = h.actor === 'admin' ? tr(' (recorded by your provider)') : '';
  li.append(`${line}${who}. `);
  if (h.url && h.version) {
    const a = document.createElement('a');
    a.href = h.url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = tr('Version {version} (opens in a new tab)', { version: h.version });
    li.append(a);
  }
  return li;
}

const privacyPages = {
  async signup() {
    const box = byId('consents');
    const r = await call('GET', '/consent/documents');
    if (!box || !r.ok || !Array.isArray(r.data.purposes) || r.data.purposes.length === 0) return;
    for (const p of r.data.purposes) box.append(purposeBox(p));
    box.hidden = false;
  },

  async 'consent-update'() {
    const r = await call('GET', '/consent/update');
    if (r.status === 401) return toSignIn();
    if (!r.ok) return showAlert(errorText(r));
    const finish = async (decision) => {
      const out = await post('/consent/update', withReturnTo({ decision }));
      if (!out.ok) return showAlert(errorText(out));
      if (out.data.status === 'accepted') return go(out.data.return_to);
      byId('content').hidden = true;
      byId('after-decline').hidden = false;
      showStatus(tr('You declined, so you are signed out. Your account is unchanged: sign in again '
        + 'when you are ready to accept.'));
      return undefined;
    };
    const purposes = Array.isArray(r.data.purposes) ? r.data.purposes : [];
    if (purposes.length === 0) return finish('accept'); // nothing waits: on to the target
    const list = byId('changes');
    for (const p of purposes) {
      const sec = document.createElement('section');
      const id = `change-${p.key}`;
      sec.setAttribute('aria-labelledby', id);
      const h = document.createElement('h2');
      h.id = id;
      h.textContent = p.title;
      sec.append(h);
      if (p.document && p.document.summary) sec.append(para('', p.document.summary));
      if (p.document && p.document.url) {
        const links = document.createElement('p');
        links.append(documentLink(p.title, p.document));
        sec.append(links);
      }
      const words = document.createElement('p');
      const strong = document.createElement('strong');
      strong.textContent = p.label;
      words.append(strong);
      sec.append(words);
      list.append(sec);
    }
    byId('status').hidden = true;
    byId('content').hidden = false;
    onClick(byId('accept'), () => finish('accept'));
    onClick(byId('decline'), () => finish('decline'));
    return undefined;
  },

  async account() {
    const section = byId('privacy');
    if (!section) return;
    const refresh = async () => {
      const r = await call('GET', '/consents/purposes');
      if (!r.ok || !Array.isArray(r.data.purposes)) return;
      const list = byId('agreements');
      list.replaceChildren(...r.data.purposes.map((p) => agreementItem(p, refresh)));
      byId('no-agreements').hidden = r.data.purposes.length > 0;
      const hist = byId('agreement-history');
      const items = Array.isArray(r.data.history) ? r.data.history : [];
      hist.replaceChildren(...items.slice().reverse().map(historyItem));
      byId('history-block').hidden = items.length === 0;
      section.hidden = false;
    };
    await refresh();
  },
};

const privacyRun = privacyPages[document.body.dataset.page];
if (privacyRun) privacyRun();
