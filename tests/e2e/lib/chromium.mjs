// Debian's Chromium (E2E_CHROMIUM may name another binary) through
// playwright-core, headless, with the switches every browser test uses:
// no sandbox (tests run as root in CI), no GPU, and no background traffic
// to Google's services, which this machine cannot reach anyway. Also the
// small page helpers the browser tests share.

import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';

/** A fresh headless Chromium; each launch gets its own temporary profile. */
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
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
