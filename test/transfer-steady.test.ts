/**
 * The upload engine's steady state: an in-order answer confirms its chunk and sends the next ones
 * in the answer's own call, with the engine's loop parked (transfer/window.ts, acceptAtOnce).
 * These tests watch that from the transport's side, and check that what can go wrong on that
 * path (a throwing onProgress, an abort, a transport that answers inside send) ends the upload
 * the way the loop would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createZephyrDevice } from '../src/sim/device/zephyr.js';
import { startSimulator } from '../src/sim/simulator.js';
import { MCUmgrClient } from '../src/client.js';
import { buildImage } from '../src/image/index.js';
import { uploadImage } from '../src/transfer/index.js';
import { AbortError } from '../src/errors.js';
import { TransportEmitter } from '../src/transport/emitter.js';
import type { Transport, TransportEvents } from '../src/transport/transport.js';

const IMAGE = buildImage({ size: 48 * 1024, version: '3.1.0', seed: 11 });
const CHUNK = 512;

/**
 * Wraps a transport and counts, for every packet the client sends, whether it went out while an
 * answer was being delivered (inside the 'packet' listeners) or later.
 */
class Watched implements Transport {
  readonly kind = 'watched';
  inAnswer = 0;
  later = 0;
  #delivering = false;
  constructor(readonly inner: Transport) {}
  get maxPacket(): number | undefined {
    return this.inner.maxPacket;
  }
  get closed(): boolean {
    return this.inner.closed;
  }
  #count(): void {
    if (this.#delivering) this.inAnswer++;
    else this.later++;
  }
  send(packet: Buffer): Promise<void> {
    this.#count();
    return this.inner.send(packet);
  }
  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): () => void {
    if (event !== 'packet') return this.inner.on(event, listener);
    const l = listener as TransportEvents['packet'];
    return this.inner.on('packet', (p) => {
      this.#delivering = true;
      try {
        l(p);
      } finally {
        this.#delivering = false;
      }
    });
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

async function watchedRig(): Promise<{ watched: Watched; client: MCUmgrClient; core: ReturnType<typeof createZephyrDevice>; close(): Promise<void> }> {
  const core = createZephyrDevice({ slotSize: 128 * 1024 });
  const sim = await startSimulator({ transport: 'memory', core });
  const watched = new Watched(sim.transport!);
  const client = MCUmgrClient.fromTransport(watched, { timeoutMs: 2000 });
  return {
    watched,
    client,
    core,
    async close() {
      await client.close();
      await sim.close();
    },
  };
}

test('in-order answers send the next chunk from the answer’s own call', async () => {
  const r = await watchedRig();
  try {
    const res = await uploadImage(r.client.transferContext(), IMAGE, { window: 1, chunkSize: CHUNK });
    assert.equal(res.rewinds, 0);
    assert.ok(r.core.readSlot(0, 1).subarray(0, IMAGE.length).equals(IMAGE));
    // Every chunk after the second goes out inside the previous chunk's answer: the first chunk
    // and the one after its answer (the erase) are the loop's.
    assert.ok(r.watched.inAnswer > 90, `${r.watched.inAnswer} chunks sent in an answer's call`);
    assert.equal(r.watched.later, 2, `sent by the loop: ${r.watched.later}, in an answer's call: ${r.watched.inAnswer}`);
  } finally {
    await r.close();
  }
});

test('an onProgress that throws in the steady state ends the upload with its error, and nothing more is sent', async () => {
  const r = await watchedRig();
  try {
    const boom = new Error('progress handler failed');
    const sentBefore = () => r.watched.inAnswer + r.watched.later;
    let sentAtThrow = -1;
    await assert.rejects(
      uploadImage(r.client.transferContext(), IMAGE, {
        window: 1,
        chunkSize: CHUNK,
        onProgress: (p) => {
          if (p.done >= 8 * CHUNK) {
            sentAtThrow = sentBefore();
            throw boom;
          }
        },
      }),
      (e) => e === boom,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(sentBefore(), sentAtThrow, 'no chunk after the throw');
    assert.equal(r.client.session.inFlight, 0);
  } finally {
    await r.close();
  }
});

test('an abort from onProgress in the steady state rejects with AbortError and stops sending', async () => {
  const r = await watchedRig();
  try {
    const ac = new AbortController();
    let sentAtAbort = -1;
    await assert.rejects(
      uploadImage(r.client.transferContext(), IMAGE, {
        window: 1,
        chunkSize: CHUNK,
        signal: ac.signal,
        onProgress: (p) => {
          if (p.done >= 10 * CHUNK && !ac.signal.aborted) {
            sentAtAbort = r.watched.inAnswer + r.watched.later;
            ac.abort();
          }
        },
      }),
      AbortError,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The chunk sent in the same answer's call, after the progress report, is the last one.
    assert.ok(r.watched.inAnswer + r.watched.later <= sentAtAbort + 1, 'at most the chunk already on its way');
  } finally {
    await r.close();
  }
});

/**
 * A transport whose device answers inside `send`, before the call returns, except every third
 * request, answered on a later turn: the engine is parked when that answer comes, takes it in the
 * answer's call, and the chunk it sends is answered at once, inside its own send. The engine must
 * not recurse into itself there (nor send an offset twice).
 */
class Synchronous implements Transport {
  readonly kind = 'synchronous';
  readonly maxPacket = undefined;
  readonly closed = false;
  readonly #events = new TransportEmitter();
  #count = 0;
  constructor(readonly core: ReturnType<typeof createZephyrDevice>) {}
  send(packet: Buffer): Promise<void> {
    const answers = this.core.handle(Buffer.from(packet), 'memory').responses;
    const deliver = (): void => {
      for (const rsp of answers) this.#events.emit('packet', rsp);
    };
    if (++this.#count % 3 === 0) setImmediate(deliver);
    else deliver();
    return Promise.resolve();
  }
  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): () => void {
    return this.#events.on(event, listener);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

test('a transport that answers inside send: the upload completes, in order, each byte sent once', async () => {
  const core = createZephyrDevice({ slotSize: 1024 * 1024 });
  const client = MCUmgrClient.fromTransport(new Synchronous(core), { timeoutMs: 2000 });
  try {
    // 512 KiB in 64-byte chunks: 8192 answers, two in three delivered inside their request's send.
    const big = buildImage({ size: 512 * 1024, version: '3.2.0', seed: 12 });
    const res = await uploadImage(client.transferContext(), big, { window: 1, chunkSize: 64 });
    assert.equal(res.rewinds, 0);
    assert.equal(res.sent, big.length, 'no chunk sent twice');
    assert.ok(core.readSlot(0, 1).subarray(0, big.length).equals(big));
  } finally {
    await client.close();
  }
});
