/**
 * The native serial I/O inside worker threads: three workers each open their own PTY and a serial
 * transport on it at the same time, exchange 100 SMP packets, then go away with both still open
 * (process.exit, terminate(), and a natural end after unref()). Nothing may crash, and the main
 * thread's own port keeps working.
 *
 * This file is its own worker script: the worker branch runs when it is not the main thread.
 */
import assert from 'node:assert/strict';
import { isMainThread, parentPort, workerData, Worker } from 'node:worker_threads';
import { native } from '../src/addon.js';
import { buildPacket, decodeHeader, Op, SMP_HEADER_SIZE } from '../src/codec/header.js';
import { decodeCborMap, encodeCbor } from '../src/codec/cbor.js';
import { SerialFraming, type SerialEncoding } from '../src/transport/framing.js';
import { createPty, ptyAvailable, type Pty } from '../src/sim/pty.js';
import { openSerialTransport, type SerialTransport } from '../src/transport/serial.js';

const PACKETS = 100;

type ExitMode = 'exit' | 'terminate' | 'natural';

interface WorkerJob {
  encoding: SerialEncoding;
  exit: ExitMode;
  /** Instead of exchanging: try the `serialport` paths that must refuse in a worker. */
  refusal?: boolean;
}

/** Answers each request on the master side with `{r: d}`. */
function echoDevice(pty: Pty, encoding: SerialEncoding): void {
  const framing = new SerialFraming({ encoding, split: 'zephyr' });
  pty.onData((chunk) => {
    for (const p of framing.decode(chunk)) {
      const h = decodeHeader(p);
      const body = decodeCborMap(p.subarray(SMP_HEADER_SIZE));
      pty.write(framing.encode(buildPacket({ ...h, op: h.op + 1 }, encodeCbor({ r: body.d }))));
    }
  });
}

/** Sends `PACKETS` requests with up to 8 in flight; checks every answer. */
async function exchange(t: SerialTransport, tag: string): Promise<number> {
  let next = 0;
  let answered = 0;
  return new Promise((resolve, reject) => {
    const sendOne = (): void => {
      const i = next++;
      const payload = encodeCbor({ d: `${tag}-${i}-${'z'.repeat(i % 300)}` });
      t.send(buildPacket({ op: Op.READ, version: 1, flags: 0, group: 0, seq: i & 0xff, id: 0 }, payload)).catch(reject);
    };
    t.on('error', reject);
    t.on('packet', (p) => {
      const h = decodeHeader(p);
      const want = answered;
      const body = decodeCborMap(p.subarray(SMP_HEADER_SIZE));
      if (h.seq !== (want & 0xff) || body.r !== `${tag}-${want}-${'z'.repeat(want % 300)}`) {
        reject(new Error(`${tag}: answer ${want} is wrong: seq ${h.seq}, ${String(body.r).slice(0, 40)}`));
        return;
      }
      answered++;
      if (answered === PACKETS) resolve(answered);
      else if (next < PACKETS) sendOne();
    });
    for (let k = 0; k < 8; k++) sendOne();
  });
}

async function workerMain(): Promise<void> {
  const job = workerData as WorkerJob;
  const port = parentPort!;
  if (job.refusal) {
    const { SerialPortFallbackTransport } = await import('../src/transport/serial-port-fallback.js');
    const out: Record<string, string> = {};
    for (const [name, open] of [
      ['fallback', () => SerialPortFallbackTransport.open({ path: '/dev/ttyACM0' })],
      ['factory', () => openSerialTransport({ path: '/dev/ttyACM0' })],
    ] as const) {
      try {
        await open();
        out[name] = 'opened';
      } catch (e) {
        out[name] = `${(e as Error).name}: ${(e as Error).message}`;
      }
    }
    port.postMessage({ type: 'refusal', out, native: native !== undefined });
    return;
  }
  const pty = createPty();
  echoDevice(pty, job.encoding);
  const t = await openSerialTransport({ path: pty.path, encoding: job.encoding });
  port.postMessage({ type: 'ready', path: pty.path });
  await new Promise<void>((resolve) => port.once('message', () => resolve()));
  const n = await exchange(t, `${job.encoding}-${job.exit}`);
  port.postMessage({ type: 'done', n, backend: t.constructor.name });
  // Leave with the PTY master and the serial port both open.
  if (job.exit === 'exit') process.exit(0);
  if (job.exit === 'natural') {
    t.unref?.();
    pty.unref();
    port.unref();
  }
  // 'terminate': stay alive until the parent terminates this worker.
}

if (!isMainThread) {
  await workerMain();
} else {
  const { test } = await import('node:test');
  const skip = !ptyAvailable(native) ? 'the native addon with serial I/O is not built' : false;

  // On Node 20 a worker's `--import tsx` does not register tsx's hooks, so a JS bootstrap
  // registers them through tsx's API and then imports this file.
  const spawn = (job: WorkerJob, env?: NodeJS.ProcessEnv): Worker =>
    new Worker(
      `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})` +
        `.then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`,
      { eval: true, workerData: job, ...(env ? { env } : {}) },
    );

  test('without the addon, a worker refuses serialport with a clear error', { timeout: 30000 }, async () => {
    const w = spawn({ encoding: 'console', exit: 'natural', refusal: true }, { ...process.env, MCUMGR_NATIVE: '0' });
    const msg = await new Promise<{ out: Record<string, string>; native: boolean }>((resolve, reject) => {
      w.on('message', resolve);
      w.on('error', reject);
    });
    await new Promise((r) => w.once('exit', r));
    assert.equal(msg.native, false);
    for (const name of ['fallback', 'factory']) {
      assert.match(msg.out[name]!, /^TransportError: /, name);
      assert.match(msg.out[name]!, /worker thread/, name);
      assert.match(msg.out[name]!, /\/dev\/ttyACM0/, name);
      assert.match(msg.out[name]!, /npm run build:native/, name);
    }
  });

  test('three workers, each with its own PTY and serial port, at once', { skip, timeout: 60000 }, async () => {
    const jobs: WorkerJob[] = [
      { encoding: 'console', exit: 'exit' },
      { encoding: 'raw', exit: 'terminate' },
      { encoding: 'cobs', exit: 'natural' },
    ];
    // Start all exchanges together once every worker has its pair open.
    let readyCount = 0;
    const ready = (): void => {
      if (++readyCount === workers.length) for (const w of workers) w.postMessage('go');
    };
    const workers: Worker[] = jobs.map((job) => spawn(job));
    const results = await Promise.all(
      workers.map(
        (w, i) =>
          new Promise<{ paths: string; n: number; backend: string; exitCode: number }>((resolve, reject) => {
            let path = '';
            let n = -1;
            let backend = '';
            w.on('error', reject);
            w.on('message', (m: { type: string; path?: string; n?: number; backend?: string }) => {
              if (m.type === 'ready') {
                path = m.path!;
                ready();
              } else if (m.type === 'done') {
                n = m.n!;
                backend = m.backend!;
                if (jobs[i]!.exit === 'terminate') void w.terminate();
              }
            });
            w.on('exit', (exitCode) => resolve({ paths: path, n, backend, exitCode }));
          }),
      ),
    );
    for (const [i, r] of results.entries()) {
      assert.equal(r.n, PACKETS, `worker ${i} (${jobs[i]!.encoding}) exchanged every packet`);
      assert.equal(r.backend, 'NativeSerialTransport');
      assert.equal(r.exitCode, jobs[i]!.exit === 'terminate' ? 1 : 0, `worker ${i} exit code`);
    }
    assert.equal(new Set(results.map((r) => r.paths)).size, 3, 'each worker had its own PTY');

    // The main thread still opens and uses its own pair.
    const pty = createPty();
    echoDevice(pty, 'console');
    const t = await openSerialTransport({ path: pty.path, encoding: 'console' });
    assert.equal(await exchange(t, 'main'), PACKETS);
    await t.close();
    pty.close();
  });
}
