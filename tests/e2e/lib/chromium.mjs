// Debian's Chromium (E2E_CHROMIUM may name another binary) through
// playwright-core, headless, with the switches every browser test uses:
// no sandbox (tests run as root in CI), no GPU, and no background traffic
// to Google's services, which this machine cannot reach anyway.

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
