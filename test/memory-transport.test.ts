/**
 * The in-memory Transport pair (src/transport/memory.ts): asynchronous, ordered delivery of copies,
 * latency, size cap, closing both ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMemoryPair } from '../src/transport/memory.js';

test('memory pair: packets cross asynchronously, in order, as copies', async () => {
  const [a, b] = createMemoryPair();
  assert.equal(a.kind, 'memory');
  assert.equal(a.maxPacket, undefined);
  const atB: Buffer[] = [];
  const atA: Buffer[] = [];
  b.on('packet', (p) => atB.push(p));
  a.on('packet', (p) => atA.push(p));
  const p1 = Buffer.from([1, 2, 3]);
  await a.send(p1);
  assert.equal(atB.length, 0, 'never delivered inside send()');
  p1[0] = 99; // the sender may reuse its buffer
  await a.send(Buffer.from([4]));
  await b.send(Buffer.from([5]));
  await sleep(5);
  assert.deepEqual(atB, [Buffer.from([1, 2, 3]), Buffer.from([4])]);
  assert.deepEqual(atA, [Buffer.from([5])]);
  await a.close();
});

test('memory pair: latency delays every packet and keeps order', async () => {
  const [a, b] = createMemoryPair({ latencyMs: 25 });
  const got: Array<[number, number]> = [];
  const t0 = performance.now();
  b.on('packet', (p) => got.push([p[0]!, performance.now() - t0]));
  for (let i = 0; i < 5; i++) await a.send(Buffer.from([i]));
  await sleep(60);
  assert.deepEqual(
    got.map((g) => g[0]),
    [0, 1, 2, 3, 4],
  );
  assert.ok(got.every((g) => g[1] >= 24), `delivered after ${got.map((g) => g[1].toFixed(1)).join(', ')} ms`);
  await a.close();
});

test('memory pair: closing one end closes both; pending packets are dropped; send rejects', async () => {
  const [a, b] = createMemoryPair({ latencyMs: 20 });
  let closedA = 0;
  let closedB = 0;
  a.on('close', () => closedA++);
  b.on('close', () => closedB++);
  const got: Buffer[] = [];
  b.on('packet', (p) => got.push(p));
  await a.send(Buffer.from([1]));
  await b.close();
  await a.close();
  assert.equal(closedA, 1);
  assert.equal(closedB, 1);
  assert.ok(a.closed && b.closed);
  await sleep(40);
  assert.equal(got.length, 0);
  await assert.rejects(a.send(Buffer.from([2])), { code: 'SMP_ERR_CLOSED' });
});

test('memory pair: options and arguments are checked', async () => {
  assert.throws(() => createMemoryPair({ latencyMs: -1 }), /latencyMs/);
  assert.throws(() => createMemoryPair({ maxPacket: 0 }), /maxPacket/);
  const [a, b] = createMemoryPair({ maxPacket: 4, kind: 'loop' });
  assert.equal(b.kind, 'loop');
  await assert.rejects(a.send(Buffer.alloc(5)), RangeError);
  await assert.rejects(a.send('text' as never), TypeError);
  await a.close();
});
