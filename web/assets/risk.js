// The risk engine's reason for an extra sign-in step, in plain words
// (docs/risk.md "What the customer sees"). The server sends a short reason
// code (?why=) with the second step or the emailed code; the words live
// here, translated through tr() (gatehouse.js, loaded first).
(() => {
  const REASONS = {
    new_device: () => tr('We asked for your code because this is a new device.'),
    new_network: () => tr('We asked for your code because you are signing in from a new network.'),
    account_under_attack: () =>
      tr('We emailed you a code because someone has been trying to sign in to your account, and this is a new device.'),
    common_password: () => tr('We asked for your code because your password is a commonly used one.'),
    credential_stuffing: () =>
      tr('We asked for your code because many sign-ins are coming from your network right now.'),
    password_spraying: () =>
      tr('We asked for your code because your account is being tried from many places right now.'),
    impossible_travel: () =>
      tr('We asked for your code because you signed in a short while ago from a place too far away to have travelled from since.'),
    new_country: () => tr('We asked for your code because you are signing in from a country you have not signed in from before.'),
  };
  const why = new URLSearchParams(location.search).get('why');
  const el = document.getElementById('risk-why');
  if (!el || !why || !Object.hasOwn(REASONS, why)) return;
  el.textContent = REASONS[why]();
  el.hidden = false;
})();
