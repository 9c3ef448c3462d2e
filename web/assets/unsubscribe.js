// The unsubscribe page (/unsubscribe?token=...): opening it changes nothing
// (mail scanners follow links); the "Unsubscribe" button sends the same
// RFC 8058 one-click POST a mail client would. Text reaches the page only
// through textContent; tr() and MSG come from gatehouse.js, loaded first.
'use strict';

(() => {
  const byId = (id) => document.getElementById(id);
  const form = byId('unsubscribe-form');
  const say = (id, text) => {
    const el = byId(id);
    el.textContent = text;
    el.hidden = false;
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = form.querySelector('button');
    button.disabled = true;
    byId('alert').hidden = true;
    let res = null;
    let data = {};
    try {
      res = await fetch(location.pathname + location.search, {
        method: 'POST',
        credentials: 'omit',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: 'List-Unsubscribe=One-Click',
      });
      data = await res.json().catch(() => ({}));
    } catch {
      res = null;
    }
    if (res && res.ok) {
      form.hidden = true;
      say('status', typeof data.topic === 'string'
        ? tr('You are unsubscribed from “{topic}”. You will get no more of these emails.', { topic: data.topic })
        : tr('You are unsubscribed. You will get no more of these emails.'));
      return;
    }
    button.disabled = false;
    if (res && res.status === 404) {
      form.hidden = true;
      say('alert', tr('This link is not valid or was already used. You can see and change your email choices on your account page.'));
    } else {
      say('alert', MSG.network);
    }
  });
})();
