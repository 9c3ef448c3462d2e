// Home-realm discovery on the sign-in page (docs/federation.md): an email
// address of a domain that an organisation holds, where that organisation
// has its own identity provider, sends the person to that provider instead
// of asking for a password. The server answers by the domain alone
// (POST /api/v1/signin/discover). Loaded after gatehouse.js, whose helpers
// (byId, post, tr, showStatus, returnTo) it uses; the password, passkey and
// emailed-code sign-ins are left as they are for every other address.
(() => {
  if (document.body.dataset.page !== 'signin') return;
  const form = byId('form');
  const email = byId('email');
  const password = byId('password');
  const status = byId('status');
  if (!form || !email || !password) return;
  const field = password.closest('.field');
  let known = null; // the last answer: {domain, answer}
  let shown = null; // the status text this script put up
  let timer = null;

  const domainOf = (v) => {
    const i = v.lastIndexOf('@');
    return i > 0 && i < v.length - 1 ? v.slice(i + 1).toLowerCase() : null;
  };

  async function ask(value) {
    const domain = domainOf(value);
    if (!domain) return null;
    if (known && known.domain === domain) return known.answer;
    const r = await post('/signin/discover', { email: value });
    // on any failure the usual sign-in stays: the password form is there
    const answer = r.ok && r.data.method === 'federation' ? r.data : { method: 'password' };
    known = { domain, answer };
    return answer;
  }

  function target(a) {
    const q = new URLSearchParams();
    if (returnTo !== null) q.set('return_to', returnTo);
    const s = q.toString();
    return s ? `${a.start}?${s}` : a.start;
  }

  // The organisation's sign-in: no password asked; the notice says where
  // "Sign in" goes.
  function show(a) {
    const sso = Boolean(a && a.method === 'federation');
    field.hidden = sso;
    password.required = !sso;
    password.disabled = sso;
    if (sso) {
      shown = tr('Your organisation signs you in with {name}. Select Sign in to continue there.',
        { name: a.provider.display_name });
      showStatus(shown);
    } else if (shown && status.textContent === shown) {
      status.hidden = true;
      status.textContent = '';
      shown = null;
    }
  }

  const check = async () => show(await ask(email.value.trim()));
  email.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(check, 350);
  });
  email.addEventListener('change', check);
  if (email.value) check();

  // Before the password sign-in (capture: this runs first): an address not
  // asked about yet is asked about, and an organisation's goes to its
  // provider.
  form.addEventListener('submit', async (ev) => {
    const value = email.value.trim();
    const domain = domainOf(value);
    const a = known && known.domain === domain ? known.answer : null;
    if (!domain || (a && a.method !== 'federation')) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    const answer = a || (await ask(value));
    if (answer && answer.method === 'federation') {
      location.assign(target(answer));
      return;
    }
    show(answer);
    form.requestSubmit();
  }, true);
})();
