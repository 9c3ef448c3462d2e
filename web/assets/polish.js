// Page polish shared by every hosted page (docs/branding.md), kept apart
// from gatehouse.js: a show-password toggle after each password field. It
// runs after gatehouse.js (both deferred), whose tr() it uses.
'use strict';

// A real button with a fixed name and aria-pressed for its state, so a
// screen reader says "Show password, toggle button, pressed"; the field keeps
// its own label. type="button": it never submits the form. The field goes
// back to hidden when its form is sent, so the browser's password manager
// still sees a password field.
(() => {
  for (const input of document.querySelectorAll('input[type="password"]')) {
    const toggle = document.createElement('button');
    toggle.type = 'button';
    toggle.className = 'reveal';
    toggle.textContent = tr('Show password');
    toggle.setAttribute('aria-pressed', 'false');
    if (input.id) toggle.setAttribute('aria-controls', input.id);
    const set = (shown) => {
      input.type = shown ? 'text' : 'password';
      toggle.setAttribute('aria-pressed', String(shown));
    };
    toggle.addEventListener('click', () => set(input.type === 'password'));
    if (input.form) input.form.addEventListener('submit', () => set(false), { capture: true });
    input.after(toggle);
  }
})();
