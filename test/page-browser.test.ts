/// <reference lib="dom" />
/**
 * The station page in a real headless Chromium: a bulk run of eight simulated boards (one whose
 * flash slot is too small for the image, so it fails with a device error) served by `servePage`.
 * The page shows the rows, progress advances, the failed row carries its error code, the totals
 * equal the run's result object, the JUnit report lists eight cases and one failure, a reload in
 * mid-run shows the same state, and a control request without the token gets 401 and aborts
 * nothing. Screenshots of the finished page go to test-results/.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { bulkFlash, type BulkReport, type BulkTarget } from '../src/bulk/index.js';
import { buildImage, parseImage } from '../src/image/index.js';
import { pageBulkRun, servePage, type PageEvent, type PageServer } from '../src/page/index.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { launchChromium } from './chromium.js';

const TOKEN = 'page-test-token-0123456789';
const FAILING = 5;
const sims: Simulator[] = [];
let browser: Browser | undefined;
let page: PageServer | undefined;
after(async () => {
  await browser?.close();
  await page?.close();
  await Promise.all(sims.map((s) => s.close()));
});

/** Every row as the page draws it (the elapsed column ticks, so it is left out). */
function rowsOf(tab: Page): Promise<Array<{ key: string; state: string; cells: string[] }>> {
  return tab.$$eval('#rows tr', (trs) =>
    trs.map((tr) => ({
      key: (tr as HTMLElement).dataset.key!,
      state: (tr as HTMLElement).dataset.state!,
      cells: [...tr.querySelectorAll('td')].filter((td) => td.dataset.label !== 'elapsed').map((td) => td.textContent ?? ''),
    })),
  );
}

/** Sum of the progress bars' values, percent. */
const progressOf = (tab: Page): Promise<number> => tab.$$eval('#rows [role=progressbar]', (bars) => bars.reduce((s, b) => s + Number(b.getAttribute('aria-valuenow') ?? 0), 0));
/** Waits until the page has folded in everything the server has sent. */
const caughtUp = (tab: Page, seq: number): Promise<unknown> => tab.waitForFunction((s) => Number(document.body.dataset.seq) >= s, { timeout: 10_000 }, seq);

test('a bulk run of 8 boards, one failing, watched in Chromium', { timeout: 60_000 }, async () => {
  const image = buildImage({ size: 40 * 1024, version: '3.1.0', seed: 14 });
  const info = parseImage(image);
  const launching = launchChromium();
  const boards = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      startSimulator({ personality: 'zephyr', transport: 'udp', baudRate: 230_400, bootMs: 50, seed: 70 + i, device: i === FAILING ? { slotSize: 16 * 1024 } : {} }),
    ),
  );
  sims.push(...boards);
  browser = await launching;
  page = await servePage({ token: TOKEN, run: { kind: 'bulk', title: 'page test' } });
  const server = page;

  // A gate in front of the page: closed, events wait, so the page holds still for the reload check.
  let held: PageEvent[][] | undefined;
  const gated = {
    publish: (e: PageEvent | readonly PageEvent[]) => (held ? held.push([e].flat()) : server.publish(e)),
    setControl: server.setControl.bind(server),
    setReports: server.setReports.bind(server),
  };
  const targets: BulkTarget[] = boards.map((s, i) => ({ connection: s.connection, name: `board-${i}` }));
  const run = pageBulkRun(gated, targets, { title: 'page test', image: { version: info.versionString, hash: info.hash.toString('hex'), size: info.size } });
  let finished: BulkReport | undefined;
  const flashing = bulkFlash(targets, image, { mode: 'confirm', retries: 0, client: { timeoutMs: 2000 }, signal: run.signal, onProgress: run.onProgress }).then((r) => (finished = r));

  const tab = await browser.newPage();
  await tab.goto(page.url, { waitUntil: 'domcontentloaded' });
  await tab.waitForFunction(() => document.querySelectorAll('#rows tr').length === 8, { timeout: 10_000 });
  assert.deepEqual((await rowsOf(tab)).map((r) => r.key).sort(), ['0', '1', '2', '3', '4', '5', '6', '7']);

  // Progress advances: some bar moves, then moves further.
  await tab.waitForFunction(() => [...document.querySelectorAll('#rows [role=progressbar]')].some((b) => Number(b.getAttribute('aria-valuenow')) > 0), { timeout: 20_000 });
  const p1 = await progressOf(tab);
  await tab.waitForFunction((p) => [...document.querySelectorAll('#rows [role=progressbar]')].reduce((s, b) => s + Number(b.getAttribute('aria-valuenow')), 0) > p, { timeout: 20_000 }, p1);
  assert.equal(finished, undefined, 'the run should still be going for the mid-run checks (make the image larger)');

  // A reload in mid-run shows the same state.
  held = [];
  page.flush();
  const seq = page.snapshot().seq;
  await caughtUp(tab, seq);
  const before = await rowsOf(tab);
  assert.ok(before.some((r) => r.state === 'running'), `some board should be running: ${JSON.stringify(before.map((r) => r.state))}`);
  await tab.reload({ waitUntil: 'domcontentloaded' });
  await caughtUp(tab, seq);
  assert.deepEqual(await rowsOf(tab), before);
  assert.equal(Number(await tab.$eval('body', (b) => b.dataset.seq)), seq);
  mkdirSync('test-results', { recursive: true });
  await tab.screenshot({ path: 'test-results/page-mid-run.png' });
  const queued = held;
  held = undefined;
  for (const batch of queued) page.publish(batch);

  // Controls without the token: 401, and the run goes on.
  const bare = await fetch(`${page.url}control/abort`, { method: 'POST' });
  assert.equal(bare.status, 401);
  assert.match(bare.headers.get('www-authenticate') ?? '', /^Bearer/);
  const wrong = await fetch(`${page.url}control/abort`, { method: 'POST', headers: { Authorization: 'Bearer not-the-token' } });
  assert.equal(wrong.status, 401);
  const fromPage = await tab.evaluate(async () => (await fetch('control/abort', { method: 'POST' })).status);
  assert.equal(fromPage, 401);
  assert.equal(run.signal.aborted, false);

  const report = await flashing;
  run.finish(report);
  page.flush();
  await caughtUp(tab, page.snapshot().seq);
  assert.equal(report.stopped, undefined, 'nothing aborted the run');
  const failed = report.devices.filter((d) => !d.ok);
  assert.deepEqual(
    failed.map((d) => d.index),
    [FAILING],
    report.devices.map((d) => `${d.name}: ${d.ok ? 'ok' : d.error?.message}`).join('; '),
  );
  const code = (failed[0]!.error as { code?: string }).code!;
  assert.ok(code);

  // The failed row: its code and a word besides the colour; failed first in the default sort.
  const rows = await rowsOf(tab);
  assert.equal(rows[0]!.key, String(FAILING));
  assert.equal(rows[0]!.state, 'failed');
  assert.match(rows[0]!.cells.join(' '), /FAILED/);
  assert.equal(await tab.$eval(`#rows tr[data-key="${FAILING}"] .err code`, (c) => c.textContent), code);
  assert.equal(rows.filter((r) => r.state === 'ok').length, 7);

  // Filter and sort.
  await tab.select('#filter', 'failed');
  await tab.waitForFunction(() => document.querySelectorAll('#rows tr').length === 1, { timeout: 5000 });
  assert.equal((await rowsOf(tab))[0]!.key, String(FAILING));
  await tab.select('#filter', 'all');
  await tab.select('#sort', 'name');
  await tab.waitForFunction(() => document.querySelectorAll('#rows tr').length === 8 && document.querySelector('#rows tr')!.getAttribute('data-key') === '0', { timeout: 5000 });
  await tab.type('#search', 'board-7');
  await tab.waitForFunction(() => document.querySelectorAll('#rows tr').length === 1, { timeout: 5000 });
  await tab.$eval('#search', (i) => ((i as HTMLInputElement).value = ''));
  await tab.select('#sort', 'failed');
  await tab.waitForFunction(() => document.querySelectorAll('#rows tr').length === 8, { timeout: 5000 });

  // Totals equal the run's result object.
  const text = (id: string): Promise<string> => tab.$eval(`#${id}`, (e) => e.textContent ?? '');
  assert.equal(await text('t-devices'), String(report.devices.length));
  assert.equal(await text('t-ok'), String(report.devices.filter((d) => d.ok).length));
  assert.equal(await text('t-failed'), String(failed.length));
  const bytes = report.devices.reduce((s, d) => s + d.bytes, 0);
  assert.equal(page.snapshot().totals.bytes, bytes);
  assert.equal(await text('t-bytes'), `${(bytes / 1024).toFixed(1)} KiB / ${(bytes / 1024).toFixed(1)} KiB`);
  assert.match(await text('status'), /^failed/);

  // Reports, through the page's own links.
  const junitHref = await tab.$eval('#report-junit', (a) => (a as HTMLAnchorElement).href);
  const junit = await (await fetch(junitHref)).text();
  assert.equal(junit.match(/<testcase /g)?.length, 8);
  assert.equal(junit.match(/<failure /g)?.length, 1);
  assert.match(junit, /<testsuite [^>]*tests="8" failures="1"/);
  assert.match(junit, new RegExp(`<testcase name="board-${FAILING}"[^>]*>\\s*<failure type="${code}"`));
  const csv = await (await fetch(await tab.$eval('#report-csv', (a) => (a as HTMLAnchorElement).href))).text();
  assert.equal(csv.trim().split('\r\n').length, 9);
  const json = JSON.parse(await (await fetch(`${page.url}report.json`)).text()) as { totals: { failed: number; succeeded: number } };
  assert.deepEqual(json.totals, { devices: 8, succeeded: 7, failed: 1 });

  await tab.screenshot({ path: 'test-results/page-1366x768.png' });
  await tab.setViewport({ width: 390, height: 844, isMobile: true, deviceScaleFactor: 2 }); // reloads the page
  await tab.waitForFunction(() => document.querySelectorAll('#rows tr').length === 8, { timeout: 10_000 });
  const cardLayout = await tab.$eval('#rows tr', (tr) => getComputedStyle(tr).display);
  assert.equal(cardLayout, 'block', 'rows become cards on a phone');
  await tab.screenshot({ path: 'test-results/page-phone.png' });
});
