/**
 * The `diagnostics_channel` events (src/session-diagnostics.ts, src/transfer/diagnostics.ts): a
 * subscriber sees the requests of a real exchange with the simulated device (memory link), with
 * the header fields, sizes and answers of the packets that crossed; timeouts and aborts on a link
 * whose far end never answers; and the progress of an upload and a download.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { MCUmgrClient } from '../src/client.js';
import { startSimulator } from '../src/sim/simulator.js';
import { SmpSession } from '../src/session.js';
import { Op } from '../src/codec/header.js';
import { encodeCbor } from '../src/codec/cbor.js';
import { createMemoryPair } from '../src/transport/memory.js';
import { AbortError, SmpDeviceError, SmpTimeoutError } from '../src/errors.js';
import {
  REQUEST_CHANNELS,
  TRANSFER_CHANNELS,
  type RequestAnswerEvent,
  type RequestErrorEvent,
  type RequestStartEvent,
  type RequestTimeoutEvent,
  type TransferProgressEvent,
} from '../src/index.js';

type Seen = { channel: string; event: unknown };

/** Subscribes to every channel of the package; returns what arrived and an unsubscribe. */
function record(): { seen: Seen[]; stop: () => void } {
  const seen: Seen[] = [];
  const names = [...Object.values(REQUEST_CHANNELS), ...Object.values(TRANSFER_CHANNELS)];
  const subs = names.map((channel) => {
    const fn = (event: unknown): void => void seen.push({ channel, event });
    diagnostics_channel.subscribe(channel, fn);
    return () => diagnostics_channel.unsubscribe(channel, fn);
  });
  return { seen, stop: () => subs.forEach((u) => u()) };
}

const sim = await startSimulator({ transport: 'memory' });
after(() => sim.close());

test('channel names are the documented, stable ones', () => {
  assert.deepEqual(REQUEST_CHANNELS, {
    start: 'mcumgr:request:start',
    answer: 'mcumgr:request:answer',
    timeout: 'mcumgr:request:timeout',
    error: 'mcumgr:request:error',
  });
  assert.deepEqual(TRANSFER_CHANNELS, { progress: 'mcumgr:transfer:progress' });
});

test('an echo and a device error against the simulator: start then answer, with the packet fields', async () => {
  const client = MCUmgrClient.fromTransport(sim.transport!, { timeoutMs: 3000, closeTransport: false });
  const { seen, stop } = record();
  try {
    assert.equal(await client.os.echo('hi'), 'hi');
    // Group 0 command 99 does not exist: the device answers with an error, still an answer.
    await assert.rejects(client.session.request(Op.READ, 0, 99, {}), SmpDeviceError);
  } finally {
    stop();
  }
  const req = seen.filter((s) => s.channel.startsWith('mcumgr:request:'));
  assert.deepEqual(
    req.map((s) => s.channel),
    ['mcumgr:request:start', 'mcumgr:request:answer', 'mcumgr:request:start', 'mcumgr:request:answer'],
  );
  const [start1, answer1, start2, answer2] = req.map((s) => s.event) as [RequestStartEvent, RequestAnswerEvent, RequestStartEvent, RequestAnswerEvent];
  assert.equal(start1.session, client.session);
  assert.deepEqual(
    { op: start1.op, group: start1.group, id: start1.id, bytes: start1.bytes, timeoutMs: start1.timeoutMs },
    { op: Op.READ, group: 0, id: 0, bytes: 8 + encodeCbor({ d: 'hi' }).length, timeoutMs: 3000 },
  );
  assert.equal(answer1.session, client.session);
  assert.equal(answer1.seq, start1.seq);
  assert.equal(answer1.response.header.seq, start1.seq);
  assert.equal(answer1.response.header.op, Op.READ_RSP);
  assert.deepEqual(answer1.response.body, { r: 'hi' });
  assert.deepEqual({ op: start2.op, group: start2.group, id: start2.id }, { op: Op.READ, group: 0, id: 99 });
  assert.equal(answer2.seq, start2.seq);
  assert.equal(start2.seq, (start1.seq + 1) & 0xff);
  assert.ok(answer2.response.body.rc !== undefined || answer2.response.body.err !== undefined, 'the answer carries the device error');
  await client.close();
});

test('a silent peer: timeout, and abort as error, each after its start', async () => {
  const [near, far] = createMemoryPair();
  const session = new SmpSession(near, { timeoutMs: 20, seqStart: 7 });
  const { seen, stop } = record();
  try {
    await assert.rejects(session.request(Op.READ, 1, 2, {}), SmpTimeoutError);
    const ac = new AbortController();
    const pending = session.request(Op.WRITE, 3, 4, { x: 1 }, { signal: ac.signal, timeoutMs: 60000 });
    ac.abort();
    await assert.rejects(pending, AbortError);
  } finally {
    stop();
    session.close();
    await near.close();
    await far.close();
  }
  assert.deepEqual(
    seen.map((s) => s.channel),
    ['mcumgr:request:start', 'mcumgr:request:timeout', 'mcumgr:request:start', 'mcumgr:request:error'],
  );
  const timeout = seen[1]!.event as RequestTimeoutEvent;
  assert.deepEqual({ seq: timeout.seq, op: timeout.op, group: timeout.group, id: timeout.id, timeoutMs: timeout.timeoutMs }, { seq: 7, op: Op.READ, group: 1, id: 2, timeoutMs: 20 });
  const error = seen[3]!.event as RequestErrorEvent;
  assert.deepEqual({ seq: error.seq, op: error.op, group: error.group, id: error.id }, { seq: 8, op: Op.WRITE, group: 3, id: 4 });
  assert.ok(error.error instanceof AbortError);
  assert.equal(error.session, session);
});

test('transfer progress: an upload and a download, one id each, ending at the size', async () => {
  const client = MCUmgrClient.fromTransport(sim.transport!, { timeoutMs: 3000, closeTransport: false });
  const data = Buffer.alloc(3000, 0x5a);
  const { seen, stop } = record();
  try {
    await client.fs.upload('/lfs/diag.bin', data);
    const down = await client.fs.download('/lfs/diag.bin');
    assert.ok(Buffer.from(down.data).equals(data));
  } finally {
    stop();
  }
  const progress = seen.filter((s) => s.channel === TRANSFER_CHANNELS.progress).map((s) => s.event as TransferProgressEvent);
  for (const direction of ['upload', 'download'] as const) {
    const mine = progress.filter((p) => p.direction === direction);
    assert.ok(mine.length >= 2, `${direction}: several progress events (${mine.length})`);
    assert.equal(new Set(mine.map((p) => p.transfer)).size, 1, `${direction}: one transfer id`);
    assert.ok(mine.every((p) => p.total === data.length));
    for (let i = 1; i < mine.length; i++) assert.ok(mine[i]!.done >= mine[i - 1]!.done, `${direction}: done never goes back`);
    assert.equal(mine.at(-1)!.done, data.length);
  }
  assert.notEqual(progress.find((p) => p.direction === 'upload')!.transfer, progress.find((p) => p.direction === 'download')!.transfer);
  // Every chunk request of both transfers was traced too.
  assert.ok(seen.filter((s) => s.channel === REQUEST_CHANNELS.answer).length >= 4);
  await client.close();
});
