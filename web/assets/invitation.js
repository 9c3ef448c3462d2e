// The invitation page (docs/organisations.md "Invitations"): shows which
// organisation invites which address and, once the person is signed in
// with that address, accepts. Loaded after gatehouse.js, whose helpers
// (call, post, byId, showAlert, showStatus, errorText, onClick, tr, BASE)
// it uses; text reaches the page only through textContent.
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
