/**
 * The same client inside a worker thread and on the main thread at once, each talking to its own
 * simulated device on a real PTY: no crash, correct answers (serialport could not do this: its
 * poller binds to the main loop; the addon's serial I/O polls each thread's own loop).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { createZephyrDevice } from '../src/sim/device/zephyr.js';
import { startSimulator } from '../src/sim/simulator.js';
import { MCUmgrClient } from '../src/client.js';
import { buildImage } from '../src/image/index.js';
import { nativeCodec } from '../src/codec/index.js';

const WORKER = `
import { parentPort, workerData } from 'node:worker_threads';
const { MCUmgrClient } = await import(workerData.client);
const { buildImage } = await import(workerData.image);
const client = await MCUmgrClient.connect(workerData.connection, { timeoutMs: 3000 });
await client.useAutoFrameSize();
const echoes = [];
for (let i = 0; i < 20; i++) echoes.push(await client.os.echo('w' + i));
const img = buildImage({ size: 8192, version: '7.0.0', seed: 5 });
const up = await client.image.upload(img);
const state = await client.image.state();
await client.close();
parentPort.postMessage({ echoes, bytes: up.bytes, hashes: state.map((s) => s.hash.toString('hex')) });
`;

test('a client in a worker and one on the main thread, each on its own PTY device', { skip: !nativeCodec && 'the PTY needs the native addon' }, async () => {
  const coreW = createZephyrDevice({ slotSize: 64 * 1024 });
  const coreM = createZephyrDevice({ slotSize: 64 * 1024 });
  const simW = await startSimulator({ transport: 'pty', baudRate: 1_000_000, core: coreW });
  const simM = await startSimulator({ transport: 'pty', baudRate: 1_000_000, core: coreM });
  try {
    const api = import.meta.resolve('tsx/esm/api');
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(WORKER)}`), {
      workerData: {
        connection: simW.connection,
        client: import.meta.resolve('../src/client.ts'),
        image: import.meta.resolve('../src/image/index.ts'),
      },
      execArgv: ['--import', `data:text/javascript,import{register}from${JSON.stringify(api)};register();`],
    });
    const fromWorker = new Promise<{ echoes: string[]; bytes: number; hashes: string[] }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const client = await MCUmgrClient.connect(simM.connection, { timeoutMs: 3000 });
    const img = buildImage({ size: 8192, version: '7.0.1', seed: 6 });
    const [mainEchoes, mainUpload] = await Promise.all([
      (async () => {
        const out: string[] = [];
        for (let i = 0; i < 20; i++) out.push(await client.os.echo('m' + i));
        return out;
      })(),
      (async () => {
        await new Promise((r) => setTimeout(r, 10));
        return client.image.upload(img);
      })(),
    ]);
    await client.close();
    const w = await fromWorker;
    await worker.terminate();
    assert.deepEqual(mainEchoes, Array.from({ length: 20 }, (_, i) => 'm' + i));
    assert.deepEqual(w.echoes, Array.from({ length: 20 }, (_, i) => 'w' + i));
    const workerImage = buildImage({ size: 8192, version: '7.0.0', seed: 5 });
    assert.equal(w.bytes, workerImage.length);
    assert.ok(coreW.readSlot(0, 1).subarray(0, w.bytes).equals(workerImage));
    assert.ok(w.hashes.length >= 2, 'the worker read the state back: running and uploaded images');
    assert.ok(coreM.readSlot(0, 1).subarray(0, mainUpload.bytes).equals(img));
  } finally {
    await simW.close();
    await simM.close();
  }
});
