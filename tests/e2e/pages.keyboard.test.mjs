// The hosted pages with the keyboard only, with real buttons and links, and
// accessible in the states a user really meets (accounts issue: "usable at
// 320 px width and with the keyboard only; every field has a visible label
// and every action is a real button or link with clear text"; BRIEF.md,
// "Hosted pages are operable by accessible name").
//
// - Keyboard only: the whole journey (sign in → "Create account" → sign up →
//   code from the mail → "Resend code" → Verify → account → "Sign out") with
//   page.keyboard alone; at every stop the focused element shows a focus
//   indicator it does not have unfocused, and Tab and Shift+Tab reach every
//   field, button and link in page order.
// - Real controls: on every page reachable without setting up a second
//   factor, whatever acts on a click is a <button>, <input type=submit> or
//   <a href> (event listeners as Chromium's DevTools protocol sees them), no
//   role/tabindex stand-ins, every button and link has a name in plain words
//   (Chromium's accessibility tree), every field a visible <label> whose text
//   is the field's accessible name.
// - axe-core and 320 px on the Verify page with a pending flow and with a
//   wrong code, the failed sign-in message, the weak-password reason and the
//   signed-in account page.
//
// Each describe runs one server and one mail sink; one Chromium serves all.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launchChromium, alertText, pageSession, assertAccessible } from './lib/chromium.mjs';

import { startServer, stopAll, randomHex } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, codeFrom, linkFrom, sentTo } from './lib/mail.mjs';

const MAIL_TIMEOUT_MS = 15_000;

let browser;

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stopAll();
  await stopAllMailSinks();
});

/** One mail sink and one server for the enclosing describe. */
function gatehouse() {
  const g = { server: null, mail: null };
  before(async () => {
    g.mail = await startMailSink();
    g.server = await startServer({ env: { GATEHOUSE_SMTP_URL: g.mail.url } });
  });
  after(async () => {
    await g.server?.stop();
    await g.mail?.stop();
  });
  return g;
}

// ---------------------------------------------------------------- helpers

/** A password no policy should refuse: long, random, no context words. */
function strongPassword() {
  return `Lantern ${randomHex(6)} river ${randomHex(4)}`;
}

function newEmail(tag) {
  return `${tag}-${randomHex(5)}@example.com`;
}

const onPath = (p) => (url) => url.pathname === p;

/**
 * Installed in every page before its own script (addInitScript is not
 * subject to the page's CSP): what the tests read about focus, controls and
 * labels, as window.__kb.
 */
function installPageHelpers() {
  const norm = (s) => String(s ?? '').replace(/\s+/g, ' ').trim();
  const rendered = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const FIELD = 'input:not([type="hidden"]):not([type="submit"]):not([type="button"]):not([type="reset"])'
    + ':not([type="image"]), select, textarea';
  const isField = (el) => el.matches(FIELD);
  /** The text a person would call the element by: a field's label, else aria-label or the visible text. */
  const nameOf = (el) => {
    if (isField(el)) return el.labels && el.labels.length ? norm(el.labels[0].innerText || el.labels[0].textContent) : '';
    return norm(el.getAttribute('aria-label') || el.innerText || el.value || '');
  };
  const tabbables = () => [...document.querySelectorAll(
    'a[href], button, input, select, textarea, summary, iframe, [tabindex], [contenteditable]')]
    .filter((el) => el.tabIndex >= 0 && !el.disabled && rendered(el) && !(el.tagName === 'INPUT' && el.type === 'hidden'));
  const key = (el, list) => {
    const i = list.indexOf(el);
    return `${i < 0 ? '?' : i + 1}. <${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}> "${nameOf(el).slice(0, 60)}"`;
  };
  const focusStyle = (el) => {
    const cs = getComputedStyle(el);
    return {
      outlineStyle: cs.outlineStyle,
      outlineWidth: parseFloat(cs.outlineWidth) || 0,
      outlineColor: cs.outlineColor,
      boxShadow: cs.boxShadow,
    };
  };
  const transparent = (c) => c === 'transparent' || /^rgba\(.*,\s*0(\.0+)?\)$/.test(c);

  /** Why a label could not be seen, or '' when it can. */
  const labelProblem = (l) => {
    const r = l.getBoundingClientRect();
    const cs = getComputedStyle(l);
    if (!rendered(l)) return 'is not rendered';
    if (r.width < 2 || r.height < 2) return `is ${r.width}×${r.height} px`;
    if (parseFloat(cs.fontSize) < 9) return `has ${cs.fontSize} text`;
    if (cs.clip && cs.clip !== 'auto') return `is clipped (${cs.clip})`;
    if (cs.clipPath && cs.clipPath !== 'none') return `is clipped (${cs.clipPath})`;
    if (transparent(cs.color)) return 'has transparent text';
    for (let e = l; e; e = e.parentElement) {
      if (parseFloat(getComputedStyle(e).opacity) === 0) return 'is transparent';
    }
    const x = r.left + scrollX;
    const y = r.top + scrollY;
    if (x + r.width <= 0 || y + r.height <= 0 || x >= document.documentElement.scrollWidth) return 'is off screen';
    if (!norm(l.innerText)) return 'has no visible text';
    return '';
  };

  window.__kb = {
    /** Where focus is now, how it looks, and how every other tab stop looks unfocused. */
    stop() {
      const list = tabbables();
      const a = document.activeElement;
      const others = {};
      for (const el of list) if (el !== a) others[key(el, list)] = focusStyle(el);
      const onBody = !a || a === document.body || a === document.documentElement;
      if (onBody) return { key: 'body', tag: 'body', name: '', style: null, box: null, others };
      const r = a.getBoundingClientRect();
      return {
        key: key(a, list),
        tag: a.tagName.toLowerCase(),
        type: a.type ?? '',
        name: nameOf(a),
        style: focusStyle(a),
        box: { width: r.width, height: r.height, top: r.top, bottom: r.bottom, vh: innerHeight },
        others,
      };
    },
    /** The tab stops in page order (the pages use no positive tabindex). */
    order() {
      const list = tabbables();
      return list.map((el) => key(el, list));
    },
    /** What the control checks need about one element. */
    facts(el) {
      const tag = el.tagName.toLowerCase();
      const field = isField(el);
      const r = rendered(el);
      return {
        desc: `<${tag}${el.id ? `#${el.id}` : ''}> "${nameOf(el).slice(0, 60)}"`,
        tag,
        type: tag === 'input' ? el.type : '',
        href: el.getAttribute('href'),
        role: el.getAttribute('role'),
        tabindex: el.getAttribute('tabindex'),
        onAttrs: [...el.attributes].filter((a) => /^on/i.test(a.name)).map((a) => a.name),
        editable: el.isContentEditable && !(el.parentElement && el.parentElement.isContentEditable),
        rendered: r,
        text: norm(el.innerText),
        cursor: r ? getComputedStyle(el).cursor : '',
        inControl: !!(el.parentElement && el.parentElement.closest('a[href], button, label, summary, select')),
        field,
        labels: field && el.labels ? [...el.labels].map((l) => ({
          text: norm(l.innerText || l.textContent),
          problem: r ? labelProblem(l) : '',
        })) : null,
      };
    },
  };
}

/** A fresh browser context on srv's issuer origin, with the page helpers. */
async function newPage(srv, options = {}) {
  const ctx = await browser.newContext({ baseURL: srv.issuer, ...options });
  await ctx.addInitScript(installPageHelpers);
  const page = await ctx.newPage();
  page.cspErrors = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) page.cspErrors.push(m.text());
  });
  return { ctx, page };
}

/** The count-th mail (1-based) to email, waiting for it. */
async function mailTo(g, email, count = 1) {
  const mine = () => g.mail.messages.filter(sentTo(email));
  await g.mail.waitFor(() => mine().length >= count, MAIL_TIMEOUT_MS);
  return mine()[count - 1];
}

/** A different 6-digit code than code. */
function wrongCode(code) {
  return code.slice(0, 5) + String((Number(code[5]) + 1) % 10);
}

async function fillSignUp(page, email, password) {
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Create account', exact: true }).click();
}

async function fillSignIn(page, email, password) {
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** Waits until the account page has loaded its session list. */
async function accountLoaded(page) {
  await page.waitForURL(onPath('/account'));
  await page.getByText('This browser').waitFor();
}

// ---------------------------------------------------------------- focus

const transparentColor = (c) => c === 'transparent' || /^rgba\(.*,\s*0(\.0+)?\)$/.test(c);

/**
 * Why a focused element's look does not show focus, or null when it does:
 * an opaque outline of 2 px or more, or a box-shadow, which the element does
 * not have when it is not focused (unfocused: its style then, if known).
 */
function focusProblem(focused, unfocused) {
  const ring = focused.outlineStyle !== 'none' && focused.outlineWidth >= 2 && !transparentColor(focused.outlineColor);
  const shadow = focused.boxShadow !== 'none';
  if (!ring && !shadow) {
    return `no focus indicator (outline ${focused.outlineStyle} ${focused.outlineWidth}px ${focused.outlineColor}, box-shadow ${focused.boxShadow})`;
  }
  if (unfocused && ['outlineStyle', 'outlineWidth', 'outlineColor', 'boxShadow'].every((k) => focused[k] === unfocused[k])) {
    return 'looks the same focused and unfocused';
  }
  return null;
}

async function stopAt(page) {
  return page.evaluate(() => window.__kb.stop());
}

/**
 * Presses Tab (or Shift+Tab) round the whole page once. Resolves
 * {expected, reached, problems}: the tab stops in page order (reversed when
 * going back), the ones focus reached in the order it reached them (rotated
 * to start where expected does), and every stop whose focus indicator is
 * missing, the same as unfocused, or off screen.
 */
async function walkTabs(page, { back = false } = {}) {
  const order = await page.evaluate(() => window.__kb.order());
  const expected = back ? [...order].reverse() : order;
  const reached = [];
  const focused = new Map();
  const unfocused = new Map();
  const limit = 2 * expected.length + 4;
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const s = await stopAt(page);
    for (const [k, v] of Object.entries(s.others)) if (!unfocused.has(k)) unfocused.set(k, v);
    if (s.key === 'body') continue;
    if (reached.length && s.key === reached[0]) break;
    reached.push(s.key);
    focused.set(s.key, s);
  }
  const at = reached.indexOf(expected[0]);
  const rotated = at > 0 ? [...reached.slice(at), ...reached.slice(0, at)] : reached;
  const problems = [];
  for (const [k, s] of focused) {
    const p = focusProblem(s.style, unfocused.get(k));
    if (p) problems.push(`${k}: ${p}`);
    if (!s.box || s.box.width < 1 || s.box.height < 1) problems.push(`${k}: focused but has no size`);
    else if (s.box.bottom <= 0 || s.box.top >= s.box.vh) problems.push(`${k}: focused but not scrolled into view`);
  }
  return { expected, reached: rotated, problems };
}

/** Tab and Shift+Tab round the page: every stop reached, in order, each visibly focused. */
async function assertTabCycle(page, label) {
  for (const back of [false, true]) {
    const key = back ? 'Shift+Tab' : 'Tab';
    const { expected, reached, problems } = await walkTabs(page, { back });
    assert.ok(expected.length > 0, `${label}: the page has something to Tab to`);
    assert.deepEqual(reached, expected, `${label}: ${key} reaches every field, button and link in page order`);
    assert.deepEqual(problems, [], `${label}: ${key}: every focused element shows it`);
  }
}

const field = (name) => (s) => ['input', 'select', 'textarea'].includes(s.tag) && s.name === name;
const button = (name) => (s) => s.tag === 'button' && s.name === name;
const link = (name) => (s) => s.tag === 'a' && s.name === name;

/** Presses Tab (Shift+Tab with back) until pred(focused); each stop must show focus. */
async function tabTo(page, pred, what, { back = false, max = 30 } = {}) {
  const seen = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const s = await stopAt(page);
    if (s.key !== 'body') {
      assert.equal(focusProblem(s.style, null), null, `${s.key} is focused and shows no focus indicator`);
      seen.push(s.key);
    }
    if (pred(s)) return s;
  }
  return assert.fail(`${what} is never reached by ${back ? 'Shift+Tab' : 'Tab'}; stops: ${seen.join(', ')}`);
}

/** One Tab: focus must move to what pred accepts. */
async function nextTab(page, pred, what) {
  await page.keyboard.press('Tab');
  const s = await stopAt(page);
  assert.ok(pred(s), `Tab goes on to ${what}, not ${s.key}`);
  assert.equal(focusProblem(s.style, null), null, `${s.key} is focused and shows no focus indicator`);
  return s;
}

// ---------------------------------------------------------------- controls

const CLICK_EVENTS = new Set(['click', 'dblclick', 'auxclick', 'mousedown', 'mouseup', 'pointerdown', 'pointerup',
  'touchstart', 'touchend']);
// Roles that make something a control; only native elements may have them.
const CONTROL_ROLES = new Set(['button', 'link', 'checkbox', 'radio', 'switch', 'menuitem', 'menuitemcheckbox',
  'menuitemradio', 'tab', 'option', 'textbox', 'searchbox', 'combobox', 'listbox', 'slider', 'spinbutton', 'treeitem']);
const GENERIC_NAMES = /^(click( here)?|here|more|link|button|submit|go|ok|x|×|…|\W+)$/i;

/** True when name reads as words a person would use ("Resend code"), not "×", "btn_2" or "emailCode". */
function plainWords(name) {
  const n = name.trim();
  if (!n || GENERIC_NAMES.test(n)) return false;
  const words = n.split(/\s+/);
  // It starts with a capitalised word ("Sign", "Resend", "Email"); nothing reads like code.
  if (!/^\p{Lu}\p{Ll}*[:,.]?$/u.test(words[0])) return false;
  if (words.some((w) => /_|[{}<>=()[\]]/.test(w))) return false;
  return words.some((w) => /^\p{L}{2,}/u.test(w));
}

const isNativeButton = (f) => f.tag === 'button' || (f.tag === 'input' && ['submit', 'button', 'reset', 'image'].includes(f.type));
const isNativeLink = (f) => f.tag === 'a' && f.href !== null;
const isNativeControl = (f) => isNativeButton(f) || isNativeLink(f) || f.field || ['select', 'textarea', 'summary'].includes(f.tag);

/**
 * Every element of the page as Chromium sees it: facts from the DOM, its
 * event listeners (DOMDebugger) and its role and name (the accessibility
 * tree). Also the click listeners the page's own scripts put on document and
 * window (delegation would hide which element acts).
 */
async function inspectPage(page, origin) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const scriptUrls = new Map();
    cdp.on('Debugger.scriptParsed', (e) => scriptUrls.set(e.scriptId, e.url));
    await cdp.send('Debugger.enable');
    const group = 'gh-kb';

    // The elements under <body> in document order, as querySelectorAll('body *') lists them.
    const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
    const html = root.children.find((n) => n.nodeName === 'HTML');
    const body = html.children.find((n) => n.nodeName === 'BODY');
    const nodes = [];
    const walk = (n) => {
      for (const c of n.children ?? []) {
        if (c.nodeType !== 1) continue;
        nodes.push(c);
        walk(c);
      }
    };
    walk(body);
    const facts = await cdp.send('Runtime.evaluate', {
      expression: 'Array.from(document.querySelectorAll("body *"), (el) => window.__kb.facts(el))', returnByValue: true,
    });
    assert.equal(facts.exceptionDetails, undefined, `reading the elements: ${JSON.stringify(facts.exceptionDetails)}`);
    const list = facts.result.value;
    assert.deepEqual(list.map((f) => f.tag), nodes.map((n) => n.localName), 'the DOM tree and the element list agree');

    // Listeners on every element, on document and on window.
    const byNode = new Map();
    const delegated = [];
    for (const target of ['document', 'window']) {
      const t = await cdp.send('Runtime.evaluate', { expression: target, objectGroup: group });
      const { listeners } = await cdp.send('DOMDebugger.getEventListeners', { objectId: t.result.objectId, depth: -1 });
      for (const l of listeners) {
        if (!CLICK_EVENTS.has(l.type)) continue;
        if (target === 'document' && l.backendNodeId !== undefined && l.backendNodeId !== root.backendNodeId) {
          if (!byNode.has(l.backendNodeId)) byNode.set(l.backendNodeId, []);
          byNode.get(l.backendNodeId).push(l.type);
          continue;
        }
        const url = scriptUrls.get(l.scriptId) ?? '';
        if (url.startsWith(origin)) delegated.push(`${target}: ${l.type} listener from ${url}`);
      }
    }

    const ax = new Map();
    for (const n of (await cdp.send('Accessibility.getFullAXTree')).nodes) {
      if (n.backendDOMNodeId !== undefined) ax.set(n.backendDOMNodeId, n);
    }
    const elements = list.map((f, i) => {
      const a = ax.get(nodes[i].backendNodeId);
      return {
        ...f,
        clicks: byNode.get(nodes[i].backendNodeId) ?? [],
        axRole: !a || a.ignored ? null : (a.role?.value ?? null),
        axName: String(a?.name?.value ?? '').replace(/\s+/g, ' ').trim(),
      };
    });
    await cdp.send('Runtime.releaseObjectGroup', { objectGroup: group });
    await cdp.send('Debugger.disable');
    return { elements, delegated };
  } finally {
    await cdp.detach().catch(() => {});
  }
}

/**
 * Checks every control on the page as it is now. Resolves {problems,
 * buttons, links, fields}: what breaks the rules, and the accessible names
 * of the rendered buttons, links and fields.
 */
async function checkControls(page, origin) {
  const { elements, delegated } = await inspectPage(page, origin);
  const problems = [...delegated.map((d) => `${d} (acts for elements it does not name)`)];
  const buttons = [];
  const links = [];
  const fields = [];
  for (const f of elements) {
    const native = isNativeControl(f);
    if (f.onAttrs.length) problems.push(`${f.desc}: inline handler ${f.onAttrs.join(', ')}`);
    if (f.clicks.length && !isNativeButton(f) && !isNativeLink(f)) {
      problems.push(`${f.desc}: ${f.clicks.join(', ')} listener on something that is not a <button> or <a href>`);
    }
    if (f.role && CONTROL_ROLES.has(f.role) && !native) problems.push(`${f.desc}: role="${f.role}" instead of a real control`);
    if (f.tabindex !== null && Number(f.tabindex) > 0) problems.push(`${f.desc}: tabindex="${f.tabindex}" changes the tab order`);
    if (f.tabindex !== null && Number(f.tabindex) >= 0 && !native) problems.push(`${f.desc}: tabindex="${f.tabindex}" makes a non-control focusable`);
    if (f.editable) problems.push(`${f.desc}: contenteditable`);
    if (f.tag === 'a' && (f.href === null || /^\s*(#\s*$|javascript:)/i.test(f.href))) {
      if (f.rendered) problems.push(`${f.desc}: a link without a real href (${f.href})`);
    }
    if (!f.rendered) {
      // Hidden now, shown in another state: it still needs its label.
      if (f.field && (!f.labels || !f.labels.length || !f.labels[0].text)) problems.push(`${f.desc}: field without a <label>`);
      continue;
    }
    if (f.cursor === 'pointer' && !native && !f.inControl && f.tag !== 'label') {
      problems.push(`${f.desc}: looks clickable (cursor: pointer) but is not a button or link`);
    }
    if (f.axRole && CONTROL_ROLES.has(f.axRole) && !native) problems.push(`${f.desc}: has role ${f.axRole} but is a <${f.tag}>`);
    if (isNativeButton(f) || isNativeLink(f)) {
      const want = isNativeLink(f) ? 'link' : 'button';
      if (f.axRole !== want) problems.push(`${f.desc}: its accessibility role is ${f.axRole}, not ${want}`);
      if (!plainWords(f.axName)) problems.push(`${f.desc}: accessible name "${f.axName}" is not plain words`);
      if (f.text && !f.axName.toLowerCase().includes(f.text.toLowerCase())) {
        problems.push(`${f.desc}: accessible name "${f.axName}" does not contain its visible text "${f.text}"`);
      }
      (want === 'link' ? links : buttons).push(f.axName);
    }
    if (f.field) {
      if (!f.labels || !f.labels.length) {
        problems.push(`${f.desc}: field without a <label> (accessible name "${f.axName}")`);
        continue;
      }
      const [l] = f.labels;
      if (l.problem) problems.push(`${f.desc}: its label "${l.text}" ${l.problem}`);
      if (l.text !== f.axName) problems.push(`${f.desc}: label "${l.text}" but accessible name "${f.axName}"`);
      if (!plainWords(l.text)) problems.push(`${f.desc}: label "${l.text}" is not plain words`);
      fields.push(f.axName);
    }
  }
  return { problems, buttons, links, fields };
}

/** The page's controls keep the rules, and the named ones are among them. */
async function assertControls(page, origin, label, { buttons = [], links = [], fields = [] } = {}) {
  const got = await checkControls(page, origin);
  assert.deepEqual(got.problems, [], `${label}: every action a real button or link with plain words, every field a visible label`);
  for (const b of buttons) assert.ok(got.buttons.includes(b), `${label}: a "${b}" button (buttons: ${got.buttons.join(', ')})`);
  for (const l of links) assert.ok(got.links.includes(l), `${label}: a "${l}" link (links: ${got.links.join(', ')})`);
  for (const f of fields) assert.ok(got.fields.includes(f), `${label}: a "${f}" field (fields: ${got.fields.join(', ')})`);
  assert.ok(got.buttons.length + got.links.length > 0, `${label}: there was something to check`);
  return got;
}

// ---------------------------------------------------------------- axe

// ---------------------------------------------------------------- tests

describe('keyboard only', () => {
  const g = gatehouse();

  test('the whole journey: sign in → "Create account" → sign up → "Resend code" → code → Verify → account → "Sign out", each stop visibly focused', async () => {
    const email = newEmail('keys');
    const password = strongPassword();
    const { ctx, page } = await newPage(g.server);
    try {
      // Sign in: every stop, both ways; then follow "Create account".
      await page.goto('/signin');
      await assertTabCycle(page, 'Sign in');
      await tabTo(page, link('Create account'), 'the "Create account" link');
      await page.keyboard.press('Enter');
      await page.waitForURL(onPath('/signup'));

      // Create account: fields in order, typed; Space on the button.
      await assertTabCycle(page, 'Create account');
      await tabTo(page, field('Email'), 'the Email field');
      await page.keyboard.type(email);
      await nextTab(page, field('Password'), 'Password');
      await page.keyboard.type(password);
      await nextTab(page, button('Show password'), 'its "Show password" toggle (docs/branding.md)');
      await nextTab(page, field('First name'), 'First name');
      await page.keyboard.type('Keyboard');
      await nextTab(page, field('Last name'), 'Last name');
      await page.keyboard.type('Tester');
      await nextTab(page, button('Create account'), 'the "Create account" button');
      await page.keyboard.press('Space');
      await page.waitForURL(onPath('/verify'));
      await page.getByText(email).waitFor();

      // Verify: every stop; "Resend code" by Enter answers on the page and keeps focus.
      await assertTabCycle(page, 'Verify email');
      await tabTo(page, button('Resend code'), 'the "Resend code" button');
      const resendAnswer = page.waitForResponse((r) => r.url().endsWith('/api/v1/verify/resend') && r.request().method() === 'POST');
      await page.keyboard.press('Enter');
      const resent = await resendAnswer;
      assert.ok([200, 429].includes(resent.status()), `resend → ${resent.status()}`);
      await page.waitForFunction(() => ['alert', 'status'].some((id) => {
        const el = document.getElementById(id);
        return el && !el.hidden && el.textContent.trim().length > 0;
      }), null, { timeout: 10_000 });
      assert.equal((await stopAt(page)).name, 'Resend code', 'focus stays on "Resend code" after it answers');

      // The code: back to the field with Shift+Tab, typed, then Enter on Verify.
      const mail = await mailTo(g, email, resent.status() === 200 ? 2 : 1);
      const code = codeFrom(mail);
      await tabTo(page, field('Code'), 'the Code field', { back: true });
      await page.keyboard.type(code);
      await nextTab(page, button('Verify'), 'the "Verify" button');
      await page.keyboard.press('Enter');
      await accountLoaded(page);
      assert.equal((await pageSession(page)).authenticated, true, 'signed in after the code');
      await page.locator('main').getByText(email, { exact: true }).waitFor();

      // The account page: every stop; "Sign out" reached by Tab, Enter signs out.
      await assertTabCycle(page, 'Your account');
      await tabTo(page, button('Sign out'), 'the "Sign out" button');
      await page.keyboard.press('Enter');
      await page.waitForURL(onPath('/signin'));
      await page.getByRole('status').filter({ hasText: 'You have signed out.' }).waitFor();
      assert.equal((await pageSession(page)).authenticated, false, 'signed out');
      await assertTabCycle(page, 'Sign in (signed out)');
      assert.deepEqual(page.cspErrors, [], 'no CSP violations');
    } finally {
      await ctx.close();
    }
  });

  test('"Email me a sign-in code" and back, and the links of the error and verify pages, with the keyboard', async () => {
    const { ctx, page } = await newPage(g.server);
    try {
      // The emailed-code entry opens with focus in "Code"; going back puts it in "Password".
      await page.goto('/signin');
      await tabTo(page, field('Email'), 'the Email field');
      await page.keyboard.type(newEmail('keys-code'));
      await tabTo(page, button('Email me a sign-in code'), 'the "Email me a sign-in code" button');
      await page.keyboard.press('Space');
      await page.getByLabel('Code', { exact: true }).waitFor();
      const inCode = await stopAt(page);
      assert.ok(field('Code')(inCode), `focus moves to the Code field, not ${inCode.key}`);
      assert.equal(focusProblem(inCode.style, null), null, 'the Code field shows its focus');
      await assertTabCycle(page, 'Sign in: emailed code');
      await tabTo(page, button('Sign in with your password instead'), 'the "Sign in with your password instead" button');
      await page.keyboard.press('Enter');
      await page.getByLabel('Password', { exact: true }).waitFor();
      const inPassword = await stopAt(page);
      assert.ok(field('Password')(inPassword), `focus moves to the Password field, not ${inPassword.key}`);

      // The error page: its links, then "Sign in" by Enter.
      await page.goto('/error?error=csrf');
      await assertTabCycle(page, 'Something went wrong');
      await tabTo(page, link('Sign in'), 'the "Sign in" link');
      await page.keyboard.press('Enter');
      await page.waitForURL(onPath('/signin'));

      // The verify page without a flow: "Create account", then "Sign in" from there.
      await page.goto('/verify');
      await alertText(page);
      await assertTabCycle(page, 'Verify email without a flow');
      await tabTo(page, link('Create account'), 'the "Create account" link');
      await page.keyboard.press('Enter');
      await page.waitForURL(onPath('/signup'));
      await tabTo(page, link('Sign in'), 'the "Sign in" link');
      await page.keyboard.press('Enter');
      await page.waitForURL(onPath('/signin'));
      assert.deepEqual(page.cspErrors, [], 'no CSP violations');
    } finally {
      await ctx.close();
    }
  });
});

describe('real buttons and links with plain words; every field a visible label', () => {
  const g = gatehouse();

  test('on sign in, the emailed-code entry, create account, verify (pending, verified elsewhere, no flow), account, its set-up pages and the error page', async () => {
    const origin = g.server.issuer;
    const email = newEmail('controls');
    const password = strongPassword();
    const a = await newPage(g.server);
    const b = await newPage(g.server);
    try {
      await a.page.goto('/signin');
      await assertControls(a.page, origin, 'Sign in', {
        buttons: ['Sign in', 'Sign in with a passkey', 'Email me a sign-in code'],
        links: ['Create account'],
        fields: ['Email', 'Password'],
      });
      await a.page.getByLabel('Email', { exact: true }).fill(newEmail('nobody'));
      await a.page.getByRole('button', { name: 'Email me a sign-in code', exact: true }).click();
      await a.page.getByLabel('Code', { exact: true }).waitFor();
      await assertControls(a.page, origin, 'Sign in: emailed code', {
        buttons: ['Verify', 'Sign in with your password instead'],
        links: ['Create account'],
        fields: ['Code'],
      });

      await a.page.goto('/signup');
      await assertControls(a.page, origin, 'Create account', {
        buttons: ['Create account'],
        links: ['Sign in'],
        fields: ['Email', 'Password', 'First name', 'Last name'],
      });
      await fillSignUp(a.page, email, password);
      await a.page.waitForURL(onPath('/verify'));
      await a.page.getByText(email).waitFor();
      await assertControls(a.page, origin, 'Verify email (pending)', {
        buttons: ['Verify', 'Resend code'],
        fields: ['Code'],
      });

      // The link opened in another browser: verified there, with a "Sign in" link.
      await b.page.goto(linkFrom(await mailTo(g, email)).toString());
      await b.page.getByRole('status').filter({ hasText: /verified/i }).waitFor();
      await assertControls(b.page, origin, 'Verify email (verified in another browser)', { links: ['Sign in'] });
      await b.page.goto('/verify');
      await alertText(b.page);
      await assertControls(b.page, origin, 'Verify email (no flow)', { links: ['Create account', 'Sign in'] });

      // Signed in twice, so that the account page lists another session to end.
      await b.page.goto('/signin');
      await fillSignIn(b.page, email, password);
      await accountLoaded(b.page);
      await a.page.goto('/signin');
      await fillSignIn(a.page, email, password);
      await accountLoaded(a.page);
      await a.page.getByRole('button', { name: /^End session/ }).waitFor();
      await assertControls(a.page, origin, 'Your account', {
        buttons: ['Sign out', 'Add passkey', 'End all other sessions'],
        links: ['Set up authenticator app', 'Recovery codes'],
        fields: ['Sign in with an emailed code instead of a password'],
      });

      await a.page.goto('/account/authenticator');
      await a.page.getByLabel('Code', { exact: true }).waitFor();
      await assertControls(a.page, origin, 'Set up authenticator app', {
        buttons: ['Verify'], links: ['Back to your account'], fields: ['Code'],
      });
      await a.page.goto('/account/recovery-codes');
      await a.page.getByRole('button', { name: 'Generate new codes', exact: true }).waitFor();
      await assertControls(a.page, origin, 'Recovery codes', { buttons: ['Generate new codes'], links: ['Back to your account'] });

      for (const q of ['?error=csrf', '']) {
        await a.page.goto(`/error${q}`);
        await assertControls(a.page, origin, `Something went wrong (${q || 'no error code'})`, {
          links: ['Sign in', 'Go to your account'],
        });
      }
      assert.deepEqual([...a.page.cspErrors, ...b.page.cspErrors], [], 'no CSP violations');
    } finally {
      await a.ctx.close();
      await b.ctx.close();
    }
  });

  test('the checks catch fake buttons, unlabelled fields, hidden labels and missing focus rings', async () => {
    const origin = g.server.issuer;
    const { ctx, page } = await newPage(g.server);
    try {
      await page.goto('/error');
      // Script-made stand-ins; CSSOM styles, which the page CSP allows.
      await page.evaluate(() => {
        const main = document.querySelector('main');
        const make = (tag, attrs, textContent = '') => {
          const el = document.createElement(tag);
          for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
          el.textContent = textContent;
          main.append(el);
          return el;
        };
        const div = make('div', { id: 'fake-div' }, 'Continue');
        div.style.cursor = 'pointer';
        div.addEventListener('click', () => {});
        make('span', { id: 'fake-span', role: 'button', tabindex: '0' }, 'Allow');
        make('button', { id: 'icon-only', type: 'button' }, '×');
        make('a', { id: 'no-href' }, 'Sign in').addEventListener('click', () => {});
        make('input', { id: 'aria-only', 'aria-label': 'Phone' });
        const hidden = make('label', { for: 'sr-only' }, 'Nickname');
        Object.assign(hidden.style, {
          position: 'absolute', width: '1px', height: '1px', overflow: 'hidden', clip: 'rect(0 0 0 0)',
        });
        make('input', { id: 'sr-only' });
        make('label', { for: 'mismatch' }, 'Email');
        make('input', { id: 'mismatch', 'aria-label': 'Phone number' });
      });
      const { problems } = await checkControls(page, origin);
      for (const id of ['fake-div', 'fake-span', 'icon-only', 'no-href', 'aria-only', 'sr-only', 'mismatch']) {
        assert.ok(problems.some((p) => p.includes(`#${id}>`)), `#${id} is caught: ${problems.join('; ')}`);
      }
      assert.deepEqual(problems.filter((p) => !/#(fake-div|fake-span|icon-only|no-href|aria-only|sr-only|mismatch)>/.test(p)), [],
        'nothing of the page itself is caught');

      // A link without its focus ring, and one that always wears it.
      await page.goto('/error');
      await page.evaluate(() => {
        document.querySelector('a[href="/signin"]').style.outline = 'none';
        document.querySelector('a[href="/account"]').style.outline = '3px solid #1d4ed8';
      });
      const { problems: focus } = await walkTabs(page);
      assert.ok(focus.some((p) => p.includes('"Sign in"') && p.includes('no focus indicator')), focus.join('; '));
      assert.ok(focus.some((p) => p.includes('"Go to your account"') && p.includes('the same')), focus.join('; '));
    } finally {
      await ctx.close();
    }
  });
});

describe('error states: axe-core and 320 px', () => {
  const g = gatehouse();

  /**
   * Brings page through the states worth checking, calling visit(name) at
   * each: the weak-password reason, the failed sign-in, Verify pending and
   * with a wrong code, the account signed in, Verify without a flow.
   */
  async function tour(page, visit) {
    const email = newEmail('states');
    const password = strongPassword();

    await page.goto('/signup');
    await fillSignUp(page, email, `${email.split('@')[0]} is my password`);
    assert.match(await alertText(page), /password/i, 'the refusal gives the reason');
    await visit('Create account: weak password');

    await page.goto('/signin');
    await fillSignIn(page, newEmail('nobody'), strongPassword());
    assert.ok((await alertText(page)).length > 0);
    await visit('Sign in: failed');

    await page.goto('/signup');
    await fillSignUp(page, email, password);
    await page.waitForURL(onPath('/verify'));
    await page.getByText(email).waitFor();
    await page.getByLabel('Code', { exact: true }).waitFor();
    await visit('Verify email: pending');

    const code = codeFrom(await mailTo(g, email));
    await page.getByLabel('Code', { exact: true }).fill(wrongCode(code));
    await page.getByRole('button', { name: 'Verify', exact: true }).click();
    assert.ok((await alertText(page)).length > 0);
    assert.equal(new URL(page.url()).pathname, '/verify');
    await visit('Verify email: wrong code');

    await page.getByLabel('Code', { exact: true }).fill(code);
    await page.getByRole('button', { name: 'Verify', exact: true }).click();
    await accountLoaded(page);
    await visit('Your account');

    await page.goto('/verify');
    await alertText(page);
    await visit('Verify email: no flow');
  }

  test('axe-core: no serious or critical violations in any of these states (bypassCSP only for the axe run)', async () => {
    const { ctx, page } = await newPage(g.server, { bypassCSP: true });
    const visited = [];
    try {
      await tour(page, async (name) => {
        visited.push(name);
        await assertAccessible(page, name);
      });
      assert.equal(visited.length, 6, `every state was checked: ${visited.join(', ')}`);
    } finally {
      await ctx.close();
    }
  });

  test('at 320 px wide no state scrolls sideways, hides overflow or puts a control off screen', async () => {
    const { ctx, page } = await newPage(g.server, { viewport: { width: 320, height: 640 } });
    const visited = [];
    try {
      await tour(page, async (name) => {
        visited.push(name);
        const m = await page.evaluate(() => {
          const overflowX = [document.documentElement, document.body].map((e) => getComputedStyle(e).overflowX);
          const items = [...document.querySelectorAll('a[href], button, input, label, h1, h2, p, [role="alert"], [role="status"]')]
            .filter((el) => el.getClientRects().length > 0)
            .map((el) => {
              const r = el.getBoundingClientRect();
              // A long value scrolls inside its field; anything else must fit its box.
              const block = getComputedStyle(el).display !== 'inline' && !['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName);
              return {
                key: `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}> "${el.textContent.trim().slice(0, 40)}"`,
                left: r.left + scrollX,
                right: r.right + scrollX,
                spills: block && el.scrollWidth > el.clientWidth + 1,
              };
            });
          return { width: innerWidth, scrollWidth: document.documentElement.scrollWidth, overflowX, items };
        });
        assert.equal(m.width, 320);
        assert.ok(m.scrollWidth <= 320, `${name}: scrollWidth ${m.scrollWidth} > 320`);
        assert.deepEqual(m.overflowX.filter((o) => o === 'hidden' || o === 'clip'), [],
          `${name}: the page does not hide sideways overflow`);
        assert.deepEqual(m.items.filter((i) => i.left < -0.5 || i.right > 320.5).map((i) => i.key), [],
          `${name}: everything is within the 320 px`);
        assert.deepEqual(m.items.filter((i) => i.spills).map((i) => i.key), [],
          `${name}: no text spills out of its box`);
      });
      assert.equal(visited.length, 6, `every state was checked: ${visited.join(', ')}`);
      assert.deepEqual(page.cspErrors, [], 'no CSP violations');
    } finally {
      await ctx.close();
    }
  });
});
