// Progressive profiling (docs/privacy.md "Progressive profiling"): the
// /profile/complete page, asked by /authorize before consent, and the
// account page's "More about you" section. Both are driven by the
// operator's profile schema: one labelled field per attribute, named by its
// display name. Loaded after gatehouse.js, whose helpers (call, send, byId,
// showAlert, errorText, returnTo, onSubmit) it uses; text reaches the page
// only through textContent.
'use strict';

// Standard claims get the browser's matching autofill.
const ATTR_AUTOCOMPLETE = { birthdate: 'bday', phone_number: 'tel', gender: 'sex', address: 'street-address', website: 'url', nickname: 'nickname' };

/** One field for attribute a; values go back through attrValue. */
function attrField(a, prefix) {
  const id = `${prefix}-${a.name}`;
  const wrap = document.createElement('div');
  wrap.className = a.type === 'boolean' ? 'field check' : 'field';
  const label = document.createElement('label');
  label.htmlFor = id;
  label.textContent = a.display_name;
  let input;
  if (a.type === 'enum') {
    input = document.createElement('select');
    const none = document.createElement('option');
    none.value = '';
    none.textContent = a.required ? tr('Choose…') : tr('Not given');
    input.append(none);
    for (const v of a.values || []) {
      const o = document.createElement('option');
      o.value = v;
      o.textContent = v;
      input.append(o);
    }
  } else {
    input = document.createElement('input');
    input.type = { boolean: 'checkbox', date: 'date', number: 'number', phone: 'tel' }[a.type] || 'text';
    if (a.type === 'number') input.step = 'any';
    if (a.type === 'string' && a.max_length) input.maxLength = a.max_length;
  }
  input.id = id;
  input.name = a.name;
  input.dataset.type = a.type;
  if (ATTR_AUTOCOMPLETE[a.name]) input.autocomplete = ATTR_AUTOCOMPLETE[a.name];
  if (a.required && a.type !== 'boolean') input.required = true;
  if (a.value !== undefined && a.value !== null) {
    if (a.type === 'boolean') input.checked = a.value === true;
    else input.value = String(a.value);
  }
  const hints = [];
  const hint = document.createElement('p');
  hint.className = 'hint';
  hint.id = `${id}-hint`;
  hint.textContent = a.required ? tr('Required.') : tr('Optional.');
  if (a.type === 'phone') hint.textContent += ` ${tr('With the country code, e.g. +41 79 123 45 67.')}`;
  hints.push(hint);
  if (a.reason) {
    const why = document.createElement('p');
    why.className = 'hint';
    why.id = `${id}-why`;
    why.textContent = tr('Why this is needed: {reason}', { reason: a.reason });
    hints.push(why);
  }
  input.setAttribute('aria-describedby', hints.map((h) => h.id).join(' '));
  if (a.type === 'boolean') wrap.append(input, label, ...hints);
  else wrap.append(label, input, ...hints);
  return wrap;
}

/** The field's value for the API: null when empty. */
function attrValue(input) {
  if (input.dataset.type === 'boolean') return input.checked;
  const v = input.value.trim();
  if (v === '') return null;
  if (input.dataset.type === 'number') return Number(v);
  return v;
}

async function profileComplete() {
  const back = typeof returnTo === 'string' && returnTo.startsWith('/authorize?') ? returnTo : null;
  if (!back) {
    showAlert(MSG.generic);
    return;
  }
  const req = new URLSearchParams(back.slice('/authorize?'.length));
  const q = new URLSearchParams({ client_id: req.get('client_id') || '', scope: req.get('scope') || '' });
  const info = await call('GET', `/profile/attributes?${q}`);
  if (info.status === 401) {
    location.assign(`${BASE}/signin?${new URLSearchParams({ return_to: back })}`);
    return;
  }
  if (!info.ok) {
    showAlert(errorText(info));
    return;
  }
  const attrs = info.data.attributes || [];
  if (attrs.length === 0) {
    location.assign(back);
    return;
  }
  byId('client').textContent = info.data.client_name;
  const fields = byId('fields');
  for (const a of attrs) fields.append(attrField(a, 'attr'));
  const form = byId('attributes-form');
  form.hidden = false;
  const optional = attrs.filter((a) => !a.required).map((a) => a.name);
  const skip = byId('skip');
  skip.hidden = optional.length !== attrs.length;
  const finish = async (body) => {
    const r = await send('PATCH', '/profile/attributes', body);
    if (!r.ok) {
      showAlert(errorText(r));
      return;
    }
    location.assign(back);
  };
  skip.addEventListener('click', () => finish({ values: {}, skip: optional }));
  onSubmit(form, async () => {
    const values = {};
    const skipped = [];
    for (const a of attrs) {
      const v = attrValue(form.elements.namedItem(a.name));
      if (v !== null) values[a.name] = v;
      else if (!a.required) skipped.push(a.name);
    }
    await finish({ values, skip: skipped });
  });
}

// The account page: every attribute of the schema, editable; an emptied
// field removes the value.
async function accountAttributes() {
  const section = byId('attributes-section');
  if (!section) return;
  const info = await call('GET', '/profile/attributes');
  if (!info.ok || !(info.data.attributes || []).length) return;
  const form = byId('attributes-form');
  const fields = byId('attributes-fields');
  for (const a of info.data.attributes) fields.append(attrField(a, 'account-attr'));
  section.hidden = false;
  onSubmit(form, async () => {
    const values = {};
    for (const a of info.data.attributes) values[a.name] = attrValue(form.elements.namedItem(a.name));
    const r = await send('PATCH', '/profile/attributes', { values });
    if (!r.ok) {
      showAlert(errorText(r));
      return;
    }
    showStatus(tr('Your details are saved.'));
  });
}

if (document.body.dataset.page === 'profile-complete') profileComplete();
if (document.body.dataset.page === 'account') accountAttributes();
