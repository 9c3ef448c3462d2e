// Communication preferences in a real browser (issue 20 item 5): the
// "Email preferences" section of /account by keyboard alone, the
// unsubscribe page a mailed link opens (opening it changes nothing; its
// "Unsubscribe" button does), both under the pages' strict CSP, and both
// axe-clean at 320 px (axe runs in a context that bypasses the CSP, as it
// is injected).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launchChromium, assertAccessible } from './lib/chromium.mjs';
import { startServer, stopAll, randomHex, sql } from './lib/server.mjs';
import { startMailSink, stopAllMailSinks, sentTo } from './lib/mail.mjs';
import { newUser, signedIn } from './lib/browser.mjs';

let browser;
let server;
let mail;

before(async () => {
  mail = await startMailSink();
  server = await startServer({ env: { GATEHOUSE_SMTP_URL: mail.url } });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await stopAll();
  await stopAllMailSinks();
});

async function admin(method, path, body) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.status < 300, text);
  return JSON.parse(text);
}

async function topic(title) {
  const key = `t-${randomHex(3)}`;
  await admin('POST', '/admin/v1/topics', { key, title, description: `What ${title} is about.` });
  return key;
}

async function signedInPage(user, options = {}) {
  const ctx = await browser.newContext({ baseURL: server.issuer, viewport: { width: 320, height: 640 }, ...options });
  const page = await ctx.newPage();
  await page.goto('/signin');
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((u) => u.pathname === '/account');
  await page.getByRole('heading', { name: 'Email preferences' }).waitFor();
  return { ctx, page };
}

const myChoices = (page) => page.evaluate(async () => (await (await fetch('/api/v1/preferences')).json()).preferences);

/** Presses Tab until the focused element is the one named, at most 40 times. */
async function tabTo(page, locator) {
  for (let i = 0; i < 40; i++) {
    if (await locator.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press('Tab');
  }
  assert.fail('the element is not reachable with Tab');
}

test('/account "Email preferences": one labelled checkbox per topic, chosen and saved by keyboard at 320 px', async () => {
  const news = `Newsletter ${randomHex(2)}`;
  const offers = `Offers ${randomHex(2)}`;
  const [kNews] = [await topic(news), await topic(offers)];
  const user = await newUser(server, 'pbkbd');
  const { ctx, page } = await signedInPage(user);
  try {
    const box = page.getByRole('checkbox', { name: news });
    await box.waitFor();
    assert.equal(await box.isChecked(), false, 'nothing is chosen for the customer');
    assert.equal(await page.getByRole('checkbox', { name: offers }).isChecked(), false);
    await tabTo(page, box);
    await page.keyboard.press('Space');
    assert.equal(await box.isChecked(), true);
    await tabTo(page, page.getByRole('button', { name: 'Save preferences' }));
    await page.keyboard.press('Enter');
    await page.getByText('Your email preferences are saved.').waitFor();
    const choices = await myChoices(page);
    assert.equal(choices.find((c) => c.topic === kNews).subscribed, true);
    assert.equal(choices.find((c) => c.title === offers).subscribed, false);
    // the browser's own fetch metadata backs the page's claim: the evidence says "page"
    const via = sql(server, `SELECT via FROM comm_preference_history WHERE user_id = '${user.id}' AND topic_key = '${kNews}'`);
    assert.deepEqual(via.map((r) => r.via), ['page']);
    await page.reload();
    await page.getByRole('checkbox', { name: news, checked: true }).waitFor();
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scrollWidth <= 320, `no sideways scrolling at 320 px (${scrollWidth})`);
  } finally {
    await ctx.close();
  }
  const axe = await signedInPage(user, { bypassCSP: true });
  try {
    await axe.page.getByRole('checkbox', { name: news }).waitFor();
    await assertAccessible(axe.page, '/account with Email preferences at 320 px');
  } finally {
    await axe.ctx.close();
  }
});

test('the unsubscribe page: opening the mailed link changes nothing; "Unsubscribe" by keyboard withdraws; axe clean at 320 px', async () => {
  const title = `Product news ${randomHex(2)}`;
  const key = await topic(title);
  const user = await newUser(server, 'pbunsub');
  const b = await signedIn(server, user);
  const on = await b.raw('PUT', '/api/v1/preferences', {
    body: JSON.stringify({ preferences: [{ topic: key, subscribed: true }] }),
    headers: { 'content-type': 'application/json', origin: b.origin, 'x-csrf-token': b.csrf },
  });
  assert.equal(on.status, 200, on.text);
  const subject = `Browser letter ${randomHex(3)}`;
  await admin('POST', `/admin/v1/topics/${key}/messages`, { subject, text: 'Hello.' });
  const m = await mail.waitFor((x) => sentTo(user.email)(x) && x.subject === subject, 15_000);
  const link = new URL(/(https?:\/\/\S+\/unsubscribe\?token=[\w-]+)/.exec(m.text)[1]);
  const subscribed = async () => (await b.raw('GET', '/api/v1/preferences')).json.preferences.find((p) => p.topic === key).subscribed;

  const axe = await browser.newContext({ baseURL: server.issuer, viewport: { width: 320, height: 640 }, bypassCSP: true });
  try {
    const page = await axe.newPage();
    await page.goto(link.pathname + link.search);
    await page.getByRole('button', { name: 'Unsubscribe' }).waitFor();
    await assertAccessible(page, '/unsubscribe at 320 px');
  } finally {
    await axe.close();
  }
  assert.equal(await subscribed(), true, 'opening the page (twice) changed nothing');

  const ctx = await browser.newContext({ baseURL: server.issuer, viewport: { width: 320, height: 640 } });
  try {
    const page = await ctx.newPage();
    await page.goto(link.pathname + link.search);
    assert.equal(await subscribed(), true);
    const button = page.getByRole('button', { name: 'Unsubscribe' });
    await tabTo(page, button);
    await page.keyboard.press('Enter');
    await page.getByText(`You are unsubscribed from “${title}”`).waitFor();
    assert.equal(await subscribed(), false);
    await page.reload();
    await page.getByRole('button', { name: 'Unsubscribe' }).click();
    await page.getByRole('alert').getByText('not valid or was already used').waitFor();
  } finally {
    await ctx.close();
  }
});
