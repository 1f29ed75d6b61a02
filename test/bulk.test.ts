/**
 * The bulk flasher: sixteen simulated Zephyr boards on real PTYs imaged at once by the worker
 * pool — most healthy, three on lossy links (seeded drops and bit flips), one that never answers —
 * plus the deadline and abort paths, argument checks before any worker starts, and the progress
 * throttle.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { bulkFlash, BulkProgressTally, ProgressThrottle, type BulkProgressEvent, type BulkReport, type BulkTarget } from '../src/bulk/index.js';
import { AbortError, ImageFormatError, McuMgrError, SmpTimeoutError } from '../src/errors.js';
import { buildImage, parseImage } from '../src/image/index.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import type { ZephyrDevice } from '../src/sim/device/index.js';
import { ptyAvailable } from '../src/sim/pty.js';

const BAUD = 1_000_000;
/** Every device shares these: small flash, quick timeouts, so lost frames cost little. */
const DEVICE = { slotSize: 64 * 1024, appBodySize: 2048 };
const CLIENT = { timeoutMs: 1000, longTimeoutMs: 5000 };

const sims: Simulator[] = [];
after(async () => {
  await Promise.all(sims.map((s) => s.close()));
});

/** The Zephyr core behind a simulator, for inspection. */
const core = (s: Simulator): ZephyrDevice => s.device as unknown as ZephyrDevice;

/** Whether the device runs `hash` from its primary slot, confirmed (no swap or revert pending). */
function runsConfirmed(s: Simulator, hash: string): boolean {
  const d = core(s);
  const primary = d.slots().find((x) => x.image === 0 && x.slot === 0);
  return primary?.hash === hash && primary.valid && d.swapType(0) === 'none' && primary.trailer.imageOk === 'set';
}

/** One line per device, for assertion messages. */
function describeReport(r: BulkReport): string {
  return r.devices.map((d) => `${d.name}: ${d.ok ? 'ok' : `${d.step} ${d.error?.name}: ${d.error?.message}`}`).join('; ');
}

/** Things that would keep the test process alive after the job. */
function leftoverHandles(): string[] {
  return process.getActiveResourcesInfo().filter((r) => /Worker|MessagePort/.test(r));
}

describe('bulkFlash on simulated boards', { skip: !ptyAvailable() && 'no PTYs here' }, () => {
  test('16 boards at once: healthy ones verified, lossy ones verified or typed errors, the silent one times out', { timeout: 50_000 }, async () => {
    const image = buildImage({ size: 24 * 1024, version: '1.1.0', seed: 99 });
    const hash = parseImage(image).hash.toString('hex');
    const kinds: Array<'healthy' | 'lossy' | 'silent'> = Array.from({ length: 16 }, (_, i) => (i === 15 ? 'silent' : i >= 12 ? 'lossy' : 'healthy'));
    const boards = await Promise.all(
      kinds.map((kind, i) =>
        startSimulator({
          personality: 'zephyr',
          transport: 'pty',
          encoding: 'console',
          baudRate: BAUD,
          bootMs: 100,
          seed: 1000 + i,
          device: DEVICE,
          faults: kind === 'silent' ? { silent: true } : kind === 'lossy' ? { toDevice: { drop: 0.02 }, toHost: { bitFlip: 0.01 } } : undefined,
        }),
      ),
    );
    sims.push(...boards);

    const events: BulkProgressEvent[] = [];
    const tally = new BulkProgressTally(boards.length);
    const deadlineMs = 40_000;
    const t0 = performance.now();
    const targets: BulkTarget[] = boards.map((s, i) => ({ connection: s.connection, name: `${kinds[i]}-${i}` }));
    const report = await bulkFlash(targets, image, {
      concurrency: 16,
      mode: 'confirm',
      deadlineMs,
      firstTimeoutMs: 5000,
      reconnectTimeoutMs: 10_000,
      client: CLIENT,
      onProgress: (e) => {
        events.push(e);
        tally.update(e);
      },
    });
    const elapsed = performance.now() - t0;

    assert.equal(report.devices.length, 16);
    assert.ok(elapsed < deadlineMs, `the job took ${elapsed} ms`);
    assert.equal(report.stopped, undefined);
    assert.equal(report.image?.hash, hash);
    for (const [i, r] of report.devices.entries()) {
      const where = `${r.name}: ${r.error ? `${r.error.name} ${r.error.message}` : 'ok'}`;
      assert.equal(r.index, i);
      assert.equal(r.target, boards[i]!.connection);
      if (kinds[i] === 'healthy') {
        assert.ok(r.ok, where);
        assert.equal(r.step, 'done', where);
        assert.ok(r.verified && !r.alreadyInstalled, where);
        assert.equal(r.bytes, image.length, where);
        assert.ok(r.throughput > 0 && r.seconds > 0 && r.window >= 1, where);
        assert.equal(r.attempts, 1, where);
        assert.ok(runsConfirmed(boards[i]!, hash), `${where}: the device does not run the new image confirmed`);
      } else if (kinds[i] === 'lossy') {
        if (r.ok) assert.ok(runsConfirmed(boards[i]!, hash), `${where}: reported ok but the device does not run it`);
        else assert.ok(r.error instanceof McuMgrError, `${where}: not one of the library's errors`);
      } else {
        assert.equal(r.ok, false, where);
        assert.ok(r.error instanceof SmpTimeoutError, where);
        assert.equal((r.error as SmpTimeoutError).code, 'SMP_ERR_TIMEOUT');
        assert.equal(r.step, 'connect', where);
        assert.equal(r.attempts, 2, 'a failure before marking is retried once');
        assert.equal(core(boards[i]!).slots().find((x) => x.slot === 0)?.hash === hash, false);
      }
    }
    // The lossy links did inject faults.
    const injected = boards.slice(12, 15).reduce((n, s) => n + s.link.faults.stats().toDevice.drop + s.link.faults.stats().toHost.bitFlip, 0);
    assert.ok(injected > 0, 'the lossy links injected no fault');

    // Progress: every device ends with one final event; at most 10 worker messages a second each.
    for (let i = 0; i < 16; i++) {
      const mine = events.filter((e) => e.index === i);
      assert.equal(mine[0]!.state, 'queued');
      const finals = mine.filter((e) => e.state === 'ok' || e.state === 'failed');
      assert.equal(finals.length, 1, `device ${i} has ${finals.length} final events`);
      assert.equal(mine.at(-1), finals[0]);
      const fromWorker = mine.filter((e) => e.state === 'running' || e.state === 'retrying');
      assert.ok(fromWorker.length >= 2, `device ${i}: ${fromWorker.length} progress messages`);
      for (let k = 1; k < fromWorker.length; k++) {
        const gap = fromWorker[k]!.at - fromWorker[k - 1]!.at;
        assert.ok(gap >= 98, `device ${i}: two progress messages ${gap} ms apart`);
      }
    }
    assert.ok(events.some((e) => e.step === 'upload' && e.bytes > 0 && e.bytes < e.total && e.window >= 1 && e.rate > 0));
    const t = tally.totals();
    assert.equal(t.finished, 16);
    assert.equal(t.succeeded, report.devices.filter((r) => r.ok).length);
    assert.equal(t.bytes, t.total);

    assert.deepEqual(leftoverHandles(), [], 'the pool left workers or ports behind');
  });

  test('the deadline stops a device stuck waiting: SmpTimeoutError at the deadline, pool destroyed', { timeout: 30_000 }, async () => {
    const silent = await startSimulator({ transport: 'pty', baudRate: BAUD, device: DEVICE, faults: { silent: true } });
    const healthy = await startSimulator({ transport: 'pty', baudRate: BAUD, device: DEVICE, bootMs: 100 });
    sims.push(silent, healthy);
    const image = buildImage({ size: 8 * 1024, version: '2.0.0' });
    const deadlineMs = 6000;
    const grace = 500;
    const t0 = performance.now();
    const report = await bulkFlash([silent.connection, healthy.connection], image, {
      deadlineMs,
      abortGraceMs: grace,
      client: { timeoutMs: 30_000 }, // its own timeouts would come far too late
      firstTimeoutMs: 5000,
    });
    const elapsed = performance.now() - t0;
    assert.ok(elapsed < deadlineMs + grace + 6000, `bulkFlash returned ${elapsed} ms after it started`);
    assert.equal(report.stopped, 'deadline', describeReport(report));
    const [s, h] = report.devices;
    assert.ok(h!.ok, h!.error?.message);
    assert.equal(s!.ok, false);
    assert.ok(s!.error instanceof SmpTimeoutError);
    assert.equal((s!.error as SmpTimeoutError).code, 'SMP_ERR_TIMEOUT');
    assert.match(s!.error!.message, /deadline of 6000 ms passed/);
    assert.deepEqual(leftoverHandles(), []);
  });

  test('an upload job leaves the image in the free slot unmarked; a command list reads it back', { timeout: 30_000 }, async () => {
    const boards = await Promise.all([0, 1].map(() => startSimulator({ transport: 'pty', baudRate: BAUD, device: DEVICE })));
    sims.push(...boards);
    const image = buildImage({ size: 6 * 1024, version: '4.0.0' });
    const hash = parseImage(image).hash.toString('hex');
    const up = await bulkFlash(boards.map((b) => b.connection), image, { job: 'upload', client: CLIENT });
    assert.ok(up.ok, describeReport(up));
    for (const [i, r] of up.devices.entries()) {
      assert.equal(r.step, 'done');
      assert.equal(r.bytes, image.length);
      assert.equal(r.verified, false);
      const secondary = core(boards[i]!).slots().find((x) => x.image === 0 && x.slot === 1);
      assert.equal(secondary?.hash, hash);
      assert.equal(core(boards[i]!).swapType(0), 'none', 'an upload job marks nothing');
    }
    const cmds = await bulkFlash(boards.map((b) => b.connection), undefined, {
      job: { commands: [{ call: 'os.echo', args: ['line check'] }, { call: 'image.state' }] },
      client: CLIENT,
    });
    assert.ok(cmds.ok, describeReport(cmds));
    assert.equal(cmds.image, undefined);
    for (const r of cmds.devices) {
      assert.equal(r.commandResults?.[0], 'line check');
      const slots = r.commandResults?.[1] as Array<{ slot: number; hash: Uint8Array }>;
      assert.equal(Buffer.from(slots.find((s) => s.slot === 1)!.hash).toString('hex'), hash);
    }
    const bad = await bulkFlash([boards[0]!.connection], undefined, { job: { commands: [{ call: 'os.nope' }] }, client: CLIENT });
    assert.ok(bad.devices[0]!.error instanceof TypeError, describeReport(bad));
    assert.equal(bad.devices[0]!.attempts, 1, 'a command list is not replayed');
    assert.deepEqual(leftoverHandles(), []);
  });

  test('an abort reports every unfinished device with AbortError', { timeout: 30_000 }, async () => {
    const boards = await Promise.all([0, 1, 2].map(() => startSimulator({ transport: 'pty', baudRate: 115200, device: DEVICE })));
    sims.push(...boards);
    const image = buildImage({ size: 48 * 1024, version: '3.0.0' });
    const ac = new AbortController();
    const t0 = performance.now();
    let abortedAt = 0;
    const report = await bulkFlash(
      boards.map((b) => b.connection),
      image,
      {
        signal: ac.signal,
        client: CLIENT,
        onProgress: (e) => {
          if (!abortedAt && e.step === 'upload' && e.bytes > 0) {
            abortedAt = performance.now();
            ac.abort();
          }
        },
      },
    );
    assert.ok(abortedAt > 0, `no upload progress was seen; ${describeReport(report)}`);
    assert.ok(performance.now() - abortedAt < 1000 + 6000, 'bulkFlash did not return soon after the abort');
    assert.equal(report.stopped, 'abort');
    assert.equal(report.ok, false);
    for (const r of report.devices) {
      assert.ok(r.error instanceof AbortError, `${r.name}: ${r.error?.name}`);
      assert.equal((r.error as AbortError).code, 'ABORT_ERR');
      assert.ok(['connect', 'validate', 'check', 'upload'].includes(r.step), `${r.name} stopped in ${r.step}`);
    }
    assert.ok(performance.now() - t0 < 25_000);
    assert.deepEqual(leftoverHandles(), []);
  });
});

describe('bulkFlash arguments (checked before any worker starts)', () => {
  const image = buildImage({ size: 1024, version: '1.0.0' });

  test('an invalid image is an ImageFormatError on the main thread', async () => {
    const bad = Buffer.from(image);
    bad[bad.length - 40] ^= 0xff; // the hash TLV no longer matches
    const events: BulkProgressEvent[] = [];
    await assert.rejects(
      bulkFlash(['udp:127.0.0.1:1337'], bad, { onProgress: (e) => events.push(e) }),
      (e: unknown) => e instanceof ImageFormatError && e.code === 'IMAGE_ERR_FORMAT',
    );
    await assert.rejects(bulkFlash(['udp:127.0.0.1:1337'], Buffer.from('not an image at all, just text'), {}), ImageFormatError);
    assert.equal(events.length, 0, 'no device was queued');
    assert.deepEqual(leftoverHandles(), []);
  });

  test('bad targets and options name what is wrong', async () => {
    await assert.rejects(bulkFlash([], image), /targets must be a non-empty array/);
    await assert.rejects(bulkFlash([42 as unknown as string], image), /targets\[0\] must be a connection string/);
    await assert.rejects(bulkFlash(['bogus:thing'], image), /targets\[0\]/);
    await assert.rejects(bulkFlash(['udp:127.0.0.1:1', 'udp:127.0.0.1:1'], image), /used twice/);
    await assert.rejects(bulkFlash(['udp:127.0.0.1:1'], image, { concurrency: 0 }), RangeError);
    await assert.rejects(bulkFlash(['udp:127.0.0.1:1'], image, { mode: 'yolo' as 'test' }), /mode must be 'test' or 'confirm'/);
    await assert.rejects(bulkFlash(['udp:127.0.0.1:1'], image, { colour: 'red' } as never), /options.colour is not a bulkFlash option/);
    await assert.rejects(
      bulkFlash([{ connection: 'udp:127.0.0.1:1', options: { window: -1 } }], image),
      /targets\[0\].options.window must be an integer/,
    );
    await assert.rejects(bulkFlash(['udp:127.0.0.1:1'], 123 as unknown as Uint8Array), /image must be the image bytes/);
    await assert.rejects(bulkFlash(['udp:127.0.0.1:1'], '/nonexistent/app.bin'), /cannot read \/nonexistent\/app.bin/);
    await assert.rejects(bulkFlash(['udp:127.0.0.1:1'], image, { job: { commands: [{ call: 'rm -rf' }] } }), /call must name a group and method/);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(bulkFlash(['udp:127.0.0.1:1'], image, { signal: ac.signal }), AbortError);
  });
});

describe('ProgressThrottle', () => {
  test('at most one message per interval, the latest one wins, none after close', async () => {
    const sent: number[] = [];
    const th = new ProgressThrottle<number>((m) => sent.push(m), 50);
    for (let i = 0; i < 100; i++) th.push(i);
    assert.deepEqual(sent, [0]);
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(sent, [0, 99]);
    th.push(100);
    th.push(101);
    th.close();
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(sent, [0, 99]);
    assert.equal(th.sent, 2);
  });

  test('each message carries the time its interval counts from: two are never closer than the interval', async () => {
    let clock = 1000;
    const got: Array<[number, number]> = [];
    const th = new ProgressThrottle<number>((m, at) => got.push([m, at]), 50, () => clock);
    th.push(1);
    clock = 1030;
    th.push(2); // kept for the end of the interval
    clock = 1050;
    await new Promise((r) => setTimeout(r, 80));
    th.close();
    assert.deepEqual(got, [
      [1, 1000],
      [2, 1050],
    ]);
  });
});
