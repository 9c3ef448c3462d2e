// Sign-in with upstream identity providers (docs/federation.md): the
// "Sign in with {provider}" links on the sign-in page, the page that
// connects a provider to an existing account once its password is given,
// and the account page's "Sign-in providers" list. Loaded after
// gatehouse.js, whose helpers (call, send, post, afterSignIn, showAlert,
// tr, BASE) it uses.
(() => {
  const page = document.body.dataset.page;

  async function signInLinks() {
    const r = await call('GET', '/federation/providers');
    const list = (r.ok && r.data.providers) || [];
    if (!list.length) return;
    const box = document.createElement('div');
    box.id = 'federation';
    box.className = 'federation';
    for (const p of list) {
      // a button, as "Sign in with a passkey" beside it; it leaves for the
      // provider's start URL (a plain navigation: the upstream answers there)
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'secondary';
      const q = new URLSearchParams();
      if (returnTo !== null) q.set('return_to', returnTo);
      const s = q.toString();
      const target = s ? `${p.start}?${s}` : p.start;
      b.textContent = tr('Sign in with {name}', { name: p.display_name });
      b.addEventListener('click', () => location.assign(target));
      box.append(b);
    }
    const after = byId('passkey');
    if (after) after.after(box);
  }

  async function linkPage() {
    const r = await call('GET', '/federation/link');
    if (!r.ok) {
      byId('link-form').hidden = true;
      return showAlert(errorText(r));
    }
    byId('link-provider').textContent = r.data.provider;
    byId('link-email').textContent = r.data.email;
    const methods = r.data.methods || [];
    if (!methods.includes('password')) byId('link-form').hidden = true;
    if (!methods.includes('email')) byId('link-email-code').hidden = true;
    byId('link-passkey').hidden = !methods.includes('passkey');
    onClick(byId('link-passkey'), async () => {
      clearAlert();
      const p = await passkeyCeremony('/federation/link/passkey/options', 'get');
      if (p.error) return showAlert(p.error);
      const out = await post('/federation/link', { credential: p.credential });
      if (afterSignIn(out)) return;
      showAlert(errorText(out));
    });
    onSubmit(byId('link-form'), async (fd) => {
      const out = await post('/federation/link', { password: text(fd, 'password') });
      if (afterSignIn(out)) return;
      showAlert(errorText(out));
    });
    onClick(byId('link-email-code'), async () => {
      clearAlert();
      const out = await post('/federation/link/email', {});
      if (!out.ok) return showAlert(errorText(out));
      byId('link-code-form').hidden = false;
      byId('link-code').focus();
    });
    onSubmit(byId('link-code-form'), async (fd) => {
      const out = await post('/federation/link', { code: text(fd, 'code') });
      if (afterSignIn(out)) return;
      showAlert(errorText(out));
    });
  }

  function providerItem(id) {
    const li = document.createElement('li');
    const title = document.createElement('p');
    title.className = 'device';
    title.id = `provider-${id.provider}`;
    title.textContent = id.display_name;
    const meta = document.createElement('p');
    meta.className = 'meta';
    const parts = [tr('Connected {when}', { when: when(id.linked_at) })];
    if (id.email) parts.unshift(id.email);
    if (id.last_used_at) parts.push(tr('last used {when}', { when: when(id.last_used_at) }));
    meta.textContent = parts.join(', ');
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'secondary';
    remove.textContent = tr('Remove {name}', { name: id.display_name });
    onClick(remove, async () => {
      clearAlert();
      const r = await send('DELETE', `/federation/identities/${encodeURIComponent(id.provider)}`);
      if (reauthIfNeeded(r)) return;
      if (!r.ok) return showAlert(errorText(r));
      li.remove();
      byId('no-providers').hidden = byId('providers').children.length > 0;
      showStatus(tr('{name} is no longer a way to sign in to your account.', { name: id.display_name }));
    });
    li.append(title, meta, remove);
    return li;
  }

  async function accountProviders() {
    const list = byId('providers');
    if (!list) return;
    const r = await call('GET', '/federation/identities');
    if (!r.ok) return;
    for (const id of r.data.identities || []) list.append(providerItem(id));
    byId('no-providers').hidden = list.children.length > 0;
  }

  if (page === 'signin') signInLinks();
  else if (page === 'federation-link') linkPage();
  else if (page === 'account') accountProviders();
})();
