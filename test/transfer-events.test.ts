/**
 * Transfer events as an async iterable (`trackTransfer`): order, coalescing under a slow reader,
 * errors, and cancellation by leaving the loop — against the simulated device in memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { createZephyrDevice } from '../src/sim/device/zephyr.js';
import { startSimulator } from '../src/sim/simulator.js';
import { MCUmgrClient } from '../src/client.js';
import { buildImage, parseImage } from '../src/image/index.js';
import { uploadImage } from '../src/transfer/index.js';
import { trackTransfer, type TransferEvent } from '../src/workflows/index.js';
import { AbortError, ImageFormatError } from '../src/errors.js';

const IMAGE = buildImage({ size: 48 * 1024, version: '3.1.0', seed: 21 });
const INFO = parseImage(IMAGE);

async function rig(bootMs = 0) {
  const core = createZephyrDevice({ slotSize: 128 * 1024 });
  const sim = await startSimulator({ transport: 'memory', core, bootMs });
  const client = MCUmgrClient.fromTransport(sim.transport!, { timeoutMs: 2000, retries: 5 });
  await client.useAutoFrameSize();
  return {
    core,
    client,
    async close() {
      await client.close();
      await sim.close();
    },
  };
}

test('firmware update events: every step in order, progress in between, done === total last', async () => {
  const r = await rig(50);
  try {
    const run = trackTransfer((h) => r.client.firmwareUpdate(IMAGE, { ...h }));
    const events: TransferEvent[] = [];
    for await (const e of run) events.push(e);
    const steps = events.filter((e) => e.type === 'step').map((e) => e.step);
    assert.deepEqual(steps, ['validate', 'check', 'upload', 'mark', 'reset', 'reconnect', 'verify', 'confirm', 'done']);
    const iUpload = events.findIndex((e) => e.type === 'step' && e.step === 'upload');
    const iMark = events.findIndex((e) => e.type === 'step' && e.step === 'mark');
    const progress = events.flatMap((e, i) => (e.type === 'progress' ? [{ i, ...e }] : []));
    assert.ok(progress.length >= 2);
    assert.ok(progress.every((p) => p.i > iUpload && p.i < iMark), 'progress only while uploading');
    for (let k = 1; k < progress.length; k++) assert.ok(progress[k]!.done >= progress[k - 1]!.done, 'done never goes back');
    assert.equal(progress.at(-1)!.done, IMAGE.length);
    assert.equal(progress.at(-1)!.total, IMAGE.length);
    const res = await run.result;
    assert.ok(res.finalState.find((s) => s.active)!.hash.equals(INFO.hash));
  } finally {
    await r.close();
  }
});

test('a slow reader gets the newest progress, not a backlog: fewer events, same last one', async () => {
  const r = await rig();
  try {
    let reports = 0;
    const run = trackTransfer((h) =>
      uploadImage(r.client.transferContext(), IMAGE, {
        signal: h.signal,
        onProgress: (p) => {
          reports++;
          h.onProgress(p);
        },
      }),
    );
    const seen: TransferEvent[] = [];
    for await (const e of run) {
      seen.push(e);
      await delay(40); // slower than the device answers
    }
    const res = await run.result;
    assert.ok(reports > 5, `the upload reported ${reports} times`);
    assert.ok(seen.length < reports, `${seen.length} events read for ${reports} reports`);
    const last = seen.at(-1)!;
    assert.equal(last.type, 'progress');
    assert.equal(last.type === 'progress' && last.done, res.bytes);
  } finally {
    await r.close();
  }
});

test('a failing transfer ends the iteration with its error, and result rejects with the same one', async () => {
  const bad = Buffer.from(IMAGE);
  bad[bad.length - 1]! ^= 0xff; // the SHA-256 TLV no longer matches
  const r = await rig();
  try {
    const run = trackTransfer((h) => r.client.firmwareUpdate(bad, { ...h }));
    const steps: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const e of run) if (e.type === 'step') steps.push(e.step);
      })(),
      ImageFormatError,
    );
    assert.deepEqual(steps, ['validate']);
    await assert.rejects(run.result, ImageFormatError);
  } finally {
    await r.close();
  }
});

test('leaving the loop early cancels the upload: result rejects with AbortError, nothing is marked', async () => {
  const r = await rig();
  try {
    const run = trackTransfer((h) => r.client.firmwareUpdate(IMAGE, { ...h }));
    for await (const e of run) {
      if (e.type === 'progress' && e.done > 0) break;
    }
    await assert.rejects(run.result, AbortError);
    const state = await r.client.image.state();
    assert.ok(!state.some((s) => s.pending), 'no slot is pending');
    assert.ok(!state.some((s) => s.hash.equals(INFO.hash)), 'the partial image is not listed');
  } finally {
    await r.close();
  }
});

test('a start function that throws at once surfaces through the iterator and result', async () => {
  const run = trackTransfer<number>(() => {
    throw new RangeError('window must be a positive integer');
  });
  await assert.rejects(async () => {
    for await (const _ of run) assert.fail('no events expected');
  }, RangeError);
  await assert.rejects(run.result, RangeError);
});

const P = (done: number) => ({ done, total: 10, rate: 0, window: 1, rewinds: 0, timeouts: 0 });

test('a step keeps its place: progress before it is not replaced by progress after it', async () => {
  const run = trackTransfer(async (h) => {
    h.onProgress(P(1));
    h.onProgress(P(2)); // replaces 1: nothing between them
    h.onStep('mark');
    h.onProgress(P(5));
    h.onProgress(P(6)); // replaces 5
    h.onStep('done');
    return 'ok';
  });
  const seen: string[] = [];
  for await (const e of run) seen.push(e.type === 'step' ? e.step : `p${e.done}`);
  assert.deepEqual(seen, ['p2', 'mark', 'p6', 'done']);
  assert.equal(await run.result, 'ok');
});

test('a second next() while one is pending is refused instead of hanging', async () => {
  let finish!: () => void;
  const run = trackTransfer((h) => new Promise<void>((resolve) => (finish = () => (h.onStep('done'), resolve()))));
  const it = run[Symbol.asyncIterator]();
  const first = it.next();
  await assert.rejects(it.next(), TypeError);
  finish();
  assert.deepEqual(await first, { value: { type: 'step', step: 'done' }, done: false });
  assert.deepEqual(await it.next(), { value: undefined, done: true });
});
