// "Email preferences" on /account: one labelled checkbox per topic from
// GET /api/v1/preferences, saved with PUT /api/v1/preferences (with the
// CSRF token of GET /api/v1/session, as every change). Kept apart from
// gatehouse.js; text reaches the page only through textContent.
'use strict';

(() => {
  if (document.body.dataset.page !== 'account') return;
  const byId = (id) => document.getElementById(id);
  const form = byId('preferences-form');
  const list = byId('preference-topics');
  let topics = [];

  const show = (id, text) => {
    for (const other of ['preferences-status', 'preferences-alert']) byId(other).hidden = true;
    const el = byId(id);
    el.textContent = text;
    el.hidden = false;
  };

  async function api(method, body) {
    const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body) {
      const s = await fetch(`${API}/session`, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then((r) => r.json()).catch(() => ({}));
      init.headers['Content-Type'] = 'application/json';
      init.headers['X-CSRF-Token'] = s.csrf_token || '';
      init.body = JSON.stringify(body);
    }
    try {
      const res = await fetch(`${API}/preferences`, init);
      return { ok: res.ok, status: res.status, data: await res.json().catch(() => ({})) };
    } catch {
      return { ok: false, status: 0, data: {} };
    }
  }

  function render(prefs) {
    topics = prefs;
    list.replaceChildren();
    prefs.forEach((p, i) => {
      const row = document.createElement('div');
      row.className = 'check';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.id = `pref-${i}`;
      box.checked = Boolean(p.subscribed);
      const label = document.createElement('label');
      label.htmlFor = box.id;
      label.textContent = p.title;
      row.append(box, label);
      list.append(row);
      if (p.description) {
        const hint = document.createElement('p');
        hint.className = 'hint';
        hint.id = `pref-${i}-hint`;
        hint.textContent = p.description;
        box.setAttribute('aria-describedby', hint.id);
        list.append(hint);
      }
    });
    byId('no-topics').hidden = prefs.length > 0;
    byId('save-preferences').hidden = prefs.length === 0;
  }

  async function load() {
    const r = await api('GET');
    if (r.ok && Array.isArray(r.data.preferences)) render(r.data.preferences);
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const preferences = topics.map((p, i) => ({
      topic: p.topic, channel: p.channel, subscribed: byId(`pref-${i}`).checked,
    }));
    const r = await api('PUT', { preferences, via: 'page' });
    if (r.ok) {
      render(r.data.preferences);
      show('preferences-status', tr('Your email preferences are saved.'));
    } else if (r.status === 401) {
      show('preferences-alert', tr('Your session has ended. Sign in again to change your email preferences.'));
    } else {
      show('preferences-alert', errorText(r));
    }
  });

  load();
})();
