/**
 * A real headless Chromium for the page tests and the bulk bench, from npm alone:
 * `@sparticuz/chromium` ships the browser inside its package (unpacked to the temp folder on first
 * use) and `puppeteer-core` drives it. This machine has no network, so everything that would call
 * out (updates, safe browsing, metrics) is switched off.
 */
import chromium from '@sparticuz/chromium';
import puppeteer, { type Browser } from 'puppeteer-core';

/** Starts the browser; close it with `browser.close()`. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = await chromium.executablePath();
  const args = [
    ...chromium.args,
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-default-apps',
    '--no-first-run',
    '--metrics-recording-only',
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
  ];
  return puppeteer.launch({ executablePath, args: [...new Set(args)], headless: true, defaultViewport: { width: 1366, height: 768 } });
}
