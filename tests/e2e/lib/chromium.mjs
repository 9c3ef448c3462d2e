// Debian's Chromium (E2E_CHROMIUM may name another binary) through
// playwright-core, headless, with the switches every browser test uses:
// no sandbox (tests run as root in CI), no GPU, and no background traffic
// to Google's services, which this machine cannot reach anyway. Also the
// small page helpers the browser tests share.

import assert from 'node:assert/strict';
import path from 'node:path';

import { chromium } from 'playwright-core';

import { REPO_ROOT } from './server.mjs';

export const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
const AXE_PATH = path.join(REPO_ROOT, 'node_modules', 'axe-core', 'axe.min.js');

/** A fresh headless Chromium; each launch gets its own temporary profile.
 * extraArgs: more switches (e.g. --host-resolver-rules). */
export function launchChromium(extraArgs = []) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
}

/** The text of the page's role="alert" element once it has some. */
export async function alertText(page) {
  await page.waitForFunction(() => {
    const el = document.querySelector('[role="alert"]');
    return el && !el.hidden && el.textContent.trim().length > 0;
  }, null, { timeout: 10_000 });
  return (await page.getByRole('alert').textContent()).trim();
}

/** GET /api/v1/session from inside the page, with the page's cookies. */
export function pageSession(page) {
  return page.evaluate(async () => (await fetch('/api/v1/session', { credentials: 'same-origin' })).json());
}

/** Runs axe-core on the page as it is now; fails on serious or critical
 * violations. The page's CSP must allow the injected script (bypassCSP on
 * the context). */
export async function assertAccessible(page, label) {
  await page.addScriptTag({ path: AXE_PATH });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `${label}: axe found serious or critical violations`,
  );
}
