/**
 * The station page without a browser: the run-state model, the SSE stream (snapshot first, ids,
 * throttling, reconnects), the request checks (host, method, origin, token, size, paths), the bulk
 * reports, the transfer adapter on a real client and simulator, and `bulk flash --serve` from the
 * CLI.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, describe, test } from 'node:test';
import { bulkFlash, bulkReportCsv, bulkReportJunit, type BulkReport } from '../src/bulk/index.js';
import { MCUmgrClient } from '../src/client.js';
import { McuMgrError } from '../src/errors.js';
import { buildImage } from '../src/image/index.js';
import { followTransfer, pageBulkRun, parseServeAddress, RunState, servePage, type PageServer } from '../src/page/index.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { trackTransfer } from '../src/workflows/index.js';
import { oneJson, runCli, tempDir } from './cli-util.js';

const TOKEN = 'server-test-token-42';
const closers: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
});

async function page(opts: Parameters<typeof servePage>[0] = {}): Promise<PageServer> {
  const p = await servePage({ token: TOKEN, ...opts });
  closers.push(() => p.close());
  return p;
}

/** A raw HTTP request (no URL normalisation, any Host header). */
function raw(p: PageServer, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: p.port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Reads server-sent events from /events until `count` have arrived. */
function readEvents(p: PageServer, count: number, lastEventId?: string): Promise<Array<{ id: string; event: string; data: any }>> {
  return new Promise((resolve, reject) => {
    const out: Array<{ id: string; event: string; data: any }> = [];
    const req = request({ host: '127.0.0.1', port: p.port, path: '/events', headers: lastEventId ? { 'Last-Event-ID': lastEventId } : {} }, (res) => {
      assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
      let buf = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const f = Object.fromEntries(block.split('\n').filter((l) => /^(id|event|data):/.test(l)).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
          if (f.event) out.push({ id: f.id, event: f.event, data: JSON.parse(f.data) });
          if (out.length === count) {
            req.destroy();
            resolve(out);
          }
        }
      });
    });
    req.on('error', (e) => (out.length === count ? undefined : reject(e)));
    req.end();
  });
}

describe('RunState', () => {
  test('folds device events into rows and totals; a final state sticks; bad fields are named', () => {
    const s = new RunState({ kind: 'bulk', title: 't' });
    s.apply({ type: 'device', key: 'a', name: 'A', state: 'running', step: 'upload', bytes: 100, total: 1000, rate: 50 });
    s.apply({ type: 'device', key: 'b', state: 'queued', total: 1000 });
    s.apply({ type: 'device', key: 'c', state: 'failed', step: 'upload', bytes: 300, total: 1000, error: { code: 'SMP_ERR_TIMEOUT', message: 'no answer' } });
    let t = s.snapshot().totals;
    assert.deepEqual(t, { devices: 3, queued: 1, running: 1, succeeded: 0, failed: 1, skipped: 0, bytes: 400, total: 2300, rate: 50 });
    s.apply({ type: 'device', key: 'a', state: 'ok', step: 'done', bytes: 1000 });
    s.apply({ type: 'device', key: 'a', state: 'running', bytes: 10 }); // late progress: ignored
    s.apply({ type: 'device', key: 'a', state: 'running', bytes: 10 }); // twice: still nothing counted
    t = s.snapshot().totals;
    assert.equal(t.succeeded, 1);
    assert.equal(t.bytes, 1300);
    assert.equal(s.snapshot().devices.find((d) => d.key === 'a')!.state, 'ok');
    assert.throws(() => s.apply({ type: 'device', key: 'x', bytes: -1 }), /device\.bytes/);
    assert.throws(() => s.apply({ type: 'device', key: 'x', state: 'exploded' as never }), /device state "exploded"/);
    assert.throws(() => s.apply({ type: 'group', id: 'g', errorThreshold: 1.5 }), /group\.errorThreshold/);
    assert.throws(() => s.apply({ type: 'nope' } as never), /type must be run, device or group/);
  });

  test('an update holds only the rows changed since the last one', () => {
    const s = new RunState();
    s.apply({ type: 'device', key: '1', state: 'running' });
    s.apply({ type: 'device', key: '2', state: 'running' });
    assert.equal(s.takeUpdate()!.devices.length, 2);
    assert.equal(s.takeUpdate(), undefined);
    s.apply({ type: 'device', key: '2', bytes: 5 });
    s.apply({ type: 'group', id: 'g1', name: 'first', successThreshold: 0.9, devices: 2 });
    const u = s.takeUpdate()!;
    assert.deepEqual(u.devices.map((d) => [d.key, d.bytes]), [['2', 5]]);
    assert.equal(u.groups[0]!.successThreshold, 0.9);
    assert.equal(u.seq, s.seq);
  });
});

describe('page server', () => {
  test('a page gets a snapshot first, then throttled updates with rising ids; a reconnect gets the whole state again', async () => {
    const p = await page({ updateIntervalMs: 200 });
    p.publish({ type: 'device', key: '0', name: 'board', state: 'running', step: 'upload', bytes: 0, total: 4096 });
    const first = readEvents(p, 2);
    await new Promise((r) => setTimeout(r, 50)); // let the stream open
    for (let b = 64; b <= 4096; b += 64) p.publish({ type: 'device', key: '0', bytes: b }); // a burst of 64 reports
    const [snap, upd] = await first;
    assert.equal(snap!.event, 'snapshot');
    assert.equal(Number(snap!.id), snap!.data.seq);
    assert.equal(upd!.event, 'update');
    assert.ok(Number(upd!.id) > Number(snap!.id));
    assert.equal(upd!.data.devices[0].bytes, 4096, 'one update carries the latest state of the burst');
    const again = await readEvents(p, 1, upd!.id);
    assert.equal(again[0]!.event, 'snapshot');
    assert.equal(again[0]!.data.seq, p.snapshot().seq);
    assert.equal(again[0]!.data.devices[0].bytes, 4096);
  });

  test('serves its own assets only, and checks host, method and paths', async () => {
    const p = await page();
    assert.equal((await raw(p, { path: '/', headers: { Host: `127.0.0.1:${p.port}` } })).status, 200);
    const js = await raw(p, { path: '/page.js' });
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-security-policy']), /script-src 'self'/);
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/assets/../../package.json', '/page.js/..%2f..%2fserver.ts', '/server.ts', '/index.html%00']) {
      assert.equal((await raw(p, { path })).status, 404, path);
    }
    const rebound = await raw(p, { path: '/state', headers: { Host: 'evil.example:80' } });
    assert.equal(rebound.status, 403, 'a foreign Host on a loopback page (DNS rebinding)');
    const post = await raw(p, { method: 'POST', path: '/state' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    assert.equal((await raw(p, { path: '/report.xml' })).status, 404, 'no report before the run ends');
  });

  test('controls need POST, the same origin, the token and a small body', async () => {
    const p = await page();
    let calls = 0;
    p.setControl('abort', () => void calls++);
    assert.deepEqual(p.snapshot().controls, ['abort']);
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const none = await raw(p, { method: 'POST', path: '/control/abort' });
    assert.equal(none.status, 401);
    assert.match(String(none.headers['www-authenticate']), /^Bearer/);
    assert.equal((await raw(p, { method: 'POST', path: '/control/abort', headers: { Authorization: 'Bearer wrong-token-xx' } })).status, 401);
    assert.equal((await raw(p, { method: 'GET', path: '/control/abort', headers: auth })).status, 405);
    assert.equal((await raw(p, { method: 'POST', path: '/control/abort', headers: { ...auth, Origin: 'http://evil.example' } })).status, 403);
    assert.equal((await raw(p, { method: 'POST', path: '/control/abort', headers: { ...auth, 'Sec-Fetch-Site': 'cross-site' } })).status, 403);
    assert.equal((await raw(p, { method: 'POST', path: '/control/abort', headers: auth, body: 'x'.repeat(5000) })).status, 413);
    assert.equal(calls, 0, 'no refused request acted');
    assert.equal((await raw(p, { method: 'POST', path: '/control/pause', headers: auth })).status, 404);
    const ok = await raw(p, { method: 'POST', path: '/control/abort', headers: { ...auth, Origin: `http://127.0.0.1:${p.port}` } });
    assert.equal(ok.status, 202);
    assert.equal(calls, 1);

    const readOnly = await page({ token: false });
    readOnly.setControl('abort', () => void calls++);
    assert.deepEqual(readOnly.snapshot().controls, []);
    assert.equal((await raw(readOnly, { method: 'POST', path: '/control/abort', headers: auth })).status, 403);
    assert.equal(calls, 1);
  });

  test('bad options and --serve values are refused with the accepted forms', async () => {
    await assert.rejects(servePage({ port: 70000 }), /port must be an integer 0\.\.65535/);
    await assert.rejects(servePage({ token: 'short' }), /token must be at least 8/);
    assert.deepEqual(parseServeAddress('8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseServeAddress('0.0.0.0:9000'), { host: '0.0.0.0', port: 9000 });
    assert.deepEqual(parseServeAddress('[::1]:9000'), { host: '::1', port: 9000 });
    assert.throws(() => parseServeAddress('http://x:1'), /PORT, HOST:PORT/);
    assert.throws(() => parseServeAddress('99999'), /PORT, HOST:PORT/);
  });
});

describe('bulk adapter', () => {
  test("the page's abort control, with the token, stops a running bulk job", { timeout: 30_000 }, async () => {
    const slow = await startSimulator({ transport: 'udp', baudRate: 9600 });
    closers.push(() => slow.close());
    const p = await page();
    const targets = [{ connection: slow.connection, name: 'slow' }];
    const run = pageBulkRun(p, targets, { title: 'abort me' });
    assert.deepEqual(p.snapshot().devices.map((d) => [d.key, d.name, d.state]), [['0', 'slow', 'queued']]);
    assert.deepEqual(p.snapshot().controls, ['abort']);
    let uploading!: () => void;
    const started = new Promise<void>((r) => (uploading = r));
    const job = bulkFlash(targets, buildImage({ size: 16 * 1024, version: '1.0.9', seed: 9 }), {
      signal: run.signal,
      onProgress: (e) => {
        run.onProgress(e);
        if (e.step === 'upload' && e.bytes > 0) uploading();
      },
    });
    await started;
    assert.equal((await raw(p, { method: 'POST', path: '/control/abort' })).status, 401);
    assert.equal(run.signal.aborted, false);
    assert.equal((await raw(p, { method: 'POST', path: '/control/abort', headers: { Authorization: `Bearer ${TOKEN}` } })).status, 202);
    const report = await job;
    run.finish(report);
    assert.equal(report.stopped, 'abort');
    const snap = p.snapshot();
    assert.equal(snap.run.status, 'stopped');
    assert.equal(snap.run.reason, 'abort');
    assert.deepEqual(snap.controls, [], 'nothing left to abort');
    assert.deepEqual(snap.reports.sort(), ['csv', 'json', 'junit']);
    assert.equal(snap.devices[0]!.state, 'failed');
    assert.equal(snap.devices[0]!.error!.code, (report.devices[0]!.error as McuMgrError).code);
  });
});

describe('bulk reports', () => {
  const report: BulkReport = {
    ok: false,
    seconds: 2.5,
    stopped: undefined,
    image: { size: 100, version: '1.0.0', hash: 'ab' },
    devices: [
      { index: 0, target: 'serial:/dev/a', name: '=cmd|"x"', ok: true, step: 'done', bytes: 100, seconds: 1, throughput: 100, attempts: 1, alreadyInstalled: false, verified: true, window: 3, rewinds: 0, timeouts: 0 },
      { index: 1, target: 'udp:1.2.3.4:1337', name: 'b<&>', ok: false, step: 'upload', bytes: 20, seconds: 2, throughput: 10, attempts: 2, alreadyInstalled: false, verified: false, window: 1, rewinds: 1, timeouts: 3, error: new McuMgrError('SMP_ERR_TIMEOUT', 'no "answer", line 2\nend') },
    ],
  };
  test('CSV quotes and defuses formulas; JUnit escapes and counts', () => {
    const lines = bulkReportCsv(report).split('\r\n');
    assert.equal(lines.length, 4);
    assert.ok(lines[1]!.startsWith(`0,"'=cmd|""x""",serial:/dev/a,true,done,100,`), lines[1]);
    assert.ok(lines[2]!.endsWith(',SMP_ERR_TIMEOUT,"no ""answer"", line 2\nend"'), lines[2]);
    const xml = bulkReportJunit(report);
    assert.match(xml, /<testsuite name="bulk flash" tests="2" failures="1"/);
    assert.match(xml, /<testcase name="b&#60;&#38;&#62;" classname="udp:1\.2\.3\.4:1337" time="2\.000">\n {6}<failure type="SMP_ERR_TIMEOUT" message="no &#34;answer&#34;, line 2\nend">/);
  });
});

describe('transfer adapter', () => {
  test('a tracked firmware update shows as one row, then ok; a refused one shows its code', { timeout: 30_000 }, async () => {
    const good = await startSimulator({ transport: 'udp', bootMs: 20 });
    const small = await startSimulator({ transport: 'udp', device: { slotSize: 16 * 1024 } });
    closers.push(() => good.close(), () => small.close());
    const p = await page();
    const image = buildImage({ size: 20 * 1024, version: '1.4.0', seed: 5 });
    const run = async (sim: Simulator, key: string): Promise<unknown> => {
      const client = await MCUmgrClient.connect(sim.connection, { timeoutMs: 2000 });
      try {
        return await followTransfer(p, trackTransfer((h) => client.firmwareUpdate(image, { ...h, mode: 'confirm' })), { key, target: sim.connection });
      } finally {
        await client.close();
      }
    };
    await run(good, 'good');
    // Refused before the upload: slot info says the slot is 16 KiB.
    await assert.rejects(run(small, 'small'), (e: McuMgrError) => e.code === 'IMAGE_ERR_TOO_LARGE');
    const rows = new Map(p.snapshot().devices.map((d) => [d.key, d]));
    assert.equal(rows.get('good')!.state, 'ok');
    assert.equal(rows.get('good')!.bytes, rows.get('good')!.total);
    assert.ok(rows.get('good')!.total > 20 * 1024);
    assert.equal(rows.get('small')!.state, 'failed');
    assert.equal(rows.get('small')!.error!.code, 'IMAGE_ERR_TOO_LARGE');
  });
});

describe('mcumgr bulk flash --serve', () => {
  test('serves the run, prints the URL with the token on stderr, keeps --json and the exit code', { timeout: 90_000 }, async () => {
    const dir = tempDir();
    const img = `${dir}/app.bin`;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(img, buildImage({ size: 4096, version: '2.0.0', seed: 2 }));
    const r = await runCli(['--json', 'bulk', 'flash', img, '--conn', 'sim', '--conn', 'sim', '--serve', '0', '--linger', '0', '--token', 'cli-token-123']);
    assert.equal(r.code, 0, r.stderr);
    const doc = oneJson(r);
    assert.equal(doc.ok, true);
    assert.equal(doc.devices.length, 2);
    assert.match(r.stderr, /page: http:\/\/127\.0\.0\.1:\d+\/#token=cli-token-123/);
    const usage = await runCli(['bulk', 'flash', img, '--conn', 'sim', '--linger', '5']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--linger and --token go with --serve/);
    const taken = await page();
    const busy = await runCli(['bulk', 'flash', img, '--conn', 'sim', '--serve', String(taken.port)]);
    assert.equal(busy.code, 2);
    assert.match(busy.stderr, new RegExp(`--serve 127\\.0\\.0\\.1:${taken.port}: .*EADDRINUSE.*pick another port`));
  });
});
