/**
 * What the client costs on top of the wire: requests per second of the whole client (echo, and
 * image upload chunks of 1 KiB at window 1) next to a floor, a minimal loop in the same run that
 * writes the same pre-encoded frames to the same PTY with the addon's serial port and waits for
 * each answer, with no client code in between. The simulated device runs in a child process on a
 * PTY with no baud limit and no simulated flash or processing time, so both loops pay the same
 * PTY and device costs and the ratio client/floor is the client's own overhead. Also: the bytes
 * the process allocates per upload chunk, from V8's sampling heap profiler (every 64 bytes on
 * average, objects already collected included) over one more upload per round, after the timed
 * rounds: the difference of `process.memoryUsage()` before and after an upload moved by 10×
 * between runs (JIT code and allocation buffers count there too), the sampled sum by a few percent.
 *
 * On a small virtual machine one round's ratio moves between 0.6 and 2 (the host's scheduling),
 * so the figure is the ratio of the totals of 20 rounds, the two loops taking turns at going first,
 * after a warm-up; the process runs with Node's default heap settings, as a user's would.
 *
 *   npm run bench:overhead [-- --encoding console|raw --echo 2000 --image-kib 256 --rounds 20]
 *
 * Targets (issue #16): chunk_over_floor ≤ 1.25, alloc_per_chunk_bytes ≤ 2 × 1024.
 */
import { parseArgs } from 'node:util';
import { Session } from 'node:inspector/promises';
import { createHash } from 'node:crypto';
import { native } from '../src/addon.js';
import { MCUmgrClient } from '../src/client.js';
import { buildPacket, Op } from '../src/codec/header.js';
import { encodeCbor } from '../src/codec/cbor.js';
import { buildImage } from '../src/image/index.js';
import { spawnSimulatorProcess } from '../src/sim/child.js';
import { uploadImage } from '../src/transfer/index.js';
import { SerialFraming, checkEncoding } from '../src/transport/framing.js';
import { Group } from '../src/protocol/ids.js';

const { values } = parseArgs({
  options: {
    encoding: { type: 'string', default: 'console' },
    echo: { type: 'string', default: '2000' },
    'image-kib': { type: 'string', default: '192' },
    rounds: { type: 'string', default: '20' },
  },
});
const encoding = checkEncoding(values.encoding);
if (encoding === 'cobs') throw new RangeError('--encoding: the simulated Zephyr device speaks console or raw');
const ECHOS = Number(values.echo);
const IMAGE_KIB = Number(values['image-kib']);
const ROUNDS = Number(values.rounds);
const CHUNK = 1024;
const ECHO_TEXT = 'overhead';

if (!native?.SerialPort) throw new Error('the floor needs the native addon (npm run build:native)');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc (npm run bench:overhead does)');

const sim = await spawnSimulatorProcess([
  {
    transport: 'pty',
    encoding,
    baudRate: 0,
    bootMs: 0,
    limits: { lineBufCount: 1024 },
    device: { netbufSize: 2048, netbufCount: 4, requestMs: 0, eraseMsPerPage: 0, writeBytesPerMs: 1e9, readBytesPerMs: 1e9, slotSize: 1 << 20 },
  },
]);
const connection = sim.connections[0]!;
const path = decodeURIComponent(connection.slice('serial:'.length).split('?')[0]!);

/* ---------------------------------------------------------------------------------------------- */
/* The floor: pre-encoded frames, one write each, wait for the answer's end, nothing else.         */
/* ---------------------------------------------------------------------------------------------- */

/** Frame of one request as the client would send it (SMP v2, seq 0). */
function frame(group: number, id: number, body: Record<string, unknown>): Buffer {
  const packet = buildPacket({ op: Op.WRITE, version: 1, flags: 0, group, seq: 0, id }, encodeCbor(body));
  return Buffer.concat(new SerialFraming({ encoding }).encodeParts([packet]));
}

/**
 * Writes each frame and waits for one whole answer before the next: a console answer this small
 * is one line (ends at its LF); a raw answer ends after 8 + the header's length bytes.
 */
async function floor(frames: Buffer[]): Promise<number> {
  let resolveAnswer: () => void = () => {};
  let lf = 0;
  let pending: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    if (encoding === 'console') {
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lf++;
      if (lf > 0) {
        lf--;
        resolveAnswer();
      }
      return;
    }
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 8 && pending.length >= 8 + pending.readUInt16BE(2)) {
      pending = pending.subarray(8 + pending.readUInt16BE(2));
      resolveAnswer();
    }
  };
  const port = new native!.SerialPort!(path, 115200, onData, (e) => {
    throw e;
  });
  try {
    if (encoding === 'console') port.write(Buffer.from([0x0a]));
    const t0 = performance.now();
    for (const f of frames) {
      const answered = new Promise<void>((r) => (resolveAnswer = r));
      port.write(f);
      await answered;
    }
    return performance.now() - t0;
  } finally {
    port.close();
  }
}

function uploadFrames(image: Buffer): Buffer[] {
  const sha = createHash('sha256').update(image).digest();
  const frames: Buffer[] = [];
  for (let off = 0; off < image.length; off += CHUNK) {
    const data = image.subarray(off, off + CHUNK);
    frames.push(frame(Group.IMAGE, 1, off === 0 ? { image: 0, len: image.length, off: 0, sha, data } : { off, data }));
  }
  return frames;
}

/* ---------------------------------------------------------------------------------------------- */
/* The client.                                                                                     */
/* ---------------------------------------------------------------------------------------------- */

async function openClient(): Promise<MCUmgrClient> {
  const c = await MCUmgrClient.serial(path, { encoding, timeoutMs: 5000, frameSize: 2048 });
  await c.os.echo('warm'); // the console delimiter and first-call costs stay out of the timing
  return c;
}

async function clientEcho(n: number): Promise<number> {
  const c = await openClient();
  try {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await c.os.echo(ECHO_TEXT);
    return performance.now() - t0;
  } finally {
    await c.close();
  }
}

interface SampleNode {
  selfSize: number;
  children: SampleNode[];
}
const sumSamples = (n: SampleNode): number => n.children.reduce((a, c) => a + sumSamples(c), n.selfSize);

/** One upload at window 1; returns its time, or with `sample` the bytes allocated while it ran (then untimed). */
async function clientUpload(image: Buffer, sample = false): Promise<{ ms: number; bytes: number; chunks: number }> {
  const c = await openClient();
  const profiler = sample ? new Session() : undefined;
  try {
    const ctx = c.transferContext();
    if (profiler) {
      // A clean heap for the profile; not before a timed upload: the sweeping that follows a full
      // collection runs on other threads while the upload runs, and the floor has none.
      gc!();
      profiler.connect();
      await profiler.post('HeapProfiler.enable');
      await profiler.post('HeapProfiler.startSampling', { samplingInterval: 64, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
    }
    const t0 = performance.now();
    const r = await uploadImage(ctx, image, { window: 1, chunkSize: CHUNK });
    const ms = performance.now() - t0;
    let bytes = 0;
    if (profiler) bytes = sumSamples(((await profiler.post('HeapProfiler.stopSampling')) as { profile: { head: SampleNode } }).profile.head);
    if (r.bytes !== image.length || r.rewinds !== 0) throw new Error(`upload went wrong: ${JSON.stringify(r)}`);
    return { ms, bytes, chunks: Math.ceil(image.length / CHUNK) };
  } finally {
    profiler?.disconnect();
    await c.close();
  }
}

/* ---------------------------------------------------------------------------------------------- */

const echoFrames = Array.from({ length: ECHOS }, () => frame(Group.OS, 0, { d: ECHO_TEXT }));
const roundRatios: number[] = [];
const totals = { echoClient: 0, echoFloor: 0, chunkClient: 0, chunkFloor: 0, chunks: 0, allocBytes: 0, allocChunks: 0 };
try {
  // Untimed warm-up, about two seconds of both loops: V8 compiles the client's hot functions only
  // after thousands of calls, and on a virtual machine the same floor loop ran 2.5× slower in its
  // first second than after it (the host's CPU wake-up latency settles); the device's first erase.
  for (let w = 0; w < 3; w++) {
    await clientEcho(500);
    await floor(echoFrames.slice(0, 500));
    await clientUpload(buildImage({ size: IMAGE_KIB * 1024, version: `1.0.${w}`, seed: 1 + w }));
    await floor(uploadFrames(buildImage({ size: IMAGE_KIB * 1024, version: `1.1.${w}`, seed: 5 + w })));
  }

  for (let round = 0; round < ROUNDS; round++) {
    // Client and floor alternate, each going first in every other round (what runs before a loop
    // changes how fast the machine wakes for it), and each upload is a new image (a fresh upload).
    const clientFirst = round % 2 === 0;
    const echoPair = async (): Promise<void> => {
      if (clientFirst) totals.echoClient += await clientEcho(ECHOS);
      totals.echoFloor += await floor(echoFrames);
      if (!clientFirst) totals.echoClient += await clientEcho(ECHOS);
    };
    await echoPair();
    const a = buildImage({ size: IMAGE_KIB * 1024, version: `2.0.${round}`, seed: 10 + round });
    const b = buildImage({ size: IMAGE_KIB * 1024, version: `3.0.${round}`, seed: 100 + round });
    let clientMs = 0;
    const clientRun = async (): Promise<void> => {
      const up = await clientUpload(a);
      clientMs = up.ms;
      totals.chunks += up.chunks;
    };
    if (clientFirst) await clientRun();
    const floorMs = await floor(uploadFrames(b));
    if (!clientFirst) await clientRun();
    totals.chunkClient += clientMs;
    totals.chunkFloor += floorMs;
    roundRatios.push(clientMs / floorMs);
  }
  // Allocation, apart from the timed rounds (the profiler slows what it watches).
  for (let round = 0; round < ROUNDS; round++) {
    const sampled = await clientUpload(buildImage({ size: IMAGE_KIB * 1024, version: `4.0.${round}`, seed: 200 + round }), true);
    totals.allocBytes += sampled.bytes;
    totals.allocChunks += sampled.chunks;
  }
} finally {
  await sim.close();
}

const rate = (n: number, ms: number): number => (n * 1000) / ms;
const echoClient = rate(ECHOS * ROUNDS, totals.echoClient);
const echoFloor = rate(ECHOS * ROUNDS, totals.echoFloor);
const chunkClient = rate(totals.chunks, totals.chunkClient);
const chunkFloor = rate(totals.chunks, totals.chunkFloor);
const allocPerChunk = totals.allocBytes / totals.allocChunks;
const r2 = (x: number): number => Math.round(x * 100) / 100;

console.log(`PTY, no baud limit, ${encoding} encoding; simulated Zephyr device in a child process, no flash or processing time`);
console.log(`${ROUNDS} rounds of ${ECHOS} echoes and one ${IMAGE_KIB} KiB upload (${CHUNK}-byte chunks, window 1), client and floor alternating, after a warm-up\n`);
console.table([
  { what: 'echo', 'client req/s': Math.round(echoClient), 'floor req/s': Math.round(echoFloor), 'client/floor time': r2(echoFloor / echoClient) },
  { what: '1 KiB upload chunk', 'client req/s': Math.round(chunkClient), 'floor req/s': Math.round(chunkFloor), 'client/floor time': r2(chunkFloor / chunkClient) },
]);
console.log(`upload client/floor by round: ${roundRatios.map((r) => r.toFixed(2)).join(' ')}`);
console.log(`allocated per upload chunk: ${Math.round(allocPerChunk)} bytes (sampling heap profiler, whole process; target ≤ ${2 * CHUNK})`);
console.log(
  JSON.stringify({
    bench: 'overhead',
    encoding,
    echo_over_floor: r2(echoFloor / echoClient),
    chunk_over_floor: r2(chunkFloor / chunkClient),
    alloc_per_chunk_bytes: Math.round(allocPerChunk),
  }),
);
