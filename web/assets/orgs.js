// The organisation pages (docs/organisations.md): the invitation page,
// which shows which organisation invites which address and, once the
// person is signed in with that address, accepts; and the organisation
// picker /authorize sends a member of several to. Loaded after
// gatehouse.js, whose helpers (call, post, byId, showAlert, showStatus,
// errorText, onClick, tr, BASE, returnTo) it uses; text reaches the page
// only through textContent.
'use strict';

(() => {
  if (document.body.dataset.page !== 'invitation') return;
  const KEY = 'gh_invitation';
  // The link's secret is in the fragment (never sent to a server, never in
  // a Referer): kept for this tab only, across a sign-in or sign-up, and
  // dropped from the address bar.
  const m = /^#token=([A-Za-z0-9_-]{16,128})$/.exec(location.hash);
  if (m) sessionStorage.setItem(KEY, m[1]);
  history.replaceState(null, '', `${BASE}/invitation`);
  const token = sessionStorage.getItem(KEY);

  async function start() {
    if (!token) return showAlert(tr('This invitation link is not complete. Open the link from the email again.'));
    const peek = await post('/invitation', { token });
    if (!peek.ok) return showAlert(errorText(peek));
    const inv = peek.data;
    byId('invite-text').textContent = tr('{organization} invites {email} to join.',
      { organization: inv.organization, email: inv.email });
    byId('invite').hidden = false;
    if (inv.status === 'accepted') {
      sessionStorage.removeItem(KEY);
      return showStatus(tr('This invitation was already accepted.'));
    }
    if (inv.status === 'expired') return showAlert(tr('This invitation has expired. Ask for a new one.'));
    const session = await call('GET', '/session');
    if (!session.data.authenticated) {
      const back = new URLSearchParams({ return_to: `${BASE}/invitation` });
      byId('signin-link').setAttribute('href', `${BASE}/signin?${back}`);
      byId('signup-link').setAttribute('href', `${BASE}/signup?${back}`);
      byId('signed-out').hidden = false;
      return;
    }
    const accept = byId('accept');
    accept.hidden = false;
    onClick(accept, async () => {
      const r = await post('/invitation/accept', { token });
      if (!r.ok) return showAlert(errorText(r));
      sessionStorage.removeItem(KEY);
      accept.hidden = true;
      showStatus(tr('You joined {organization}.', { organization: r.data.organization }));
    });
  }
  start();
})();

(() => {
  if (document.body.dataset.page !== 'organization-select') return;
  // Only an authorization request of this tenant is resumed.
  let back = null;
  try {
    const u = new URL(returnTo || '', location.origin);
    if (u.origin === location.origin && u.pathname === `${BASE}/authorize`) back = u;
  } catch {
    back = null;
  }

  async function start() {
    if (!back) return showAlert(tr('This page was opened without an application to go back to.'));
    const r = await call('GET', '/organizations');
    if (r.status === 401) {
      location.assign(`${BASE}/signin?${new URLSearchParams({ return_to: back.pathname + back.search })}`);
      return;
    }
    if (!r.ok) return showAlert(errorText(r));
    byId('pick-intro').hidden = false;
    const list = byId('orgs');
    for (const org of r.data.organizations || []) {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'secondary';
      b.textContent = org.display_name;
      b.addEventListener('click', () => {
        back.searchParams.set('organization', org.id);
        location.assign(back.pathname + back.search);
      });
      li.append(b);
      list.append(li);
    }
  }
  start();
})();
