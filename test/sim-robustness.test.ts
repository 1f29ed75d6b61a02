/**
 * Bad input to the simulated device (random bytes, malformed CBOR, wrong types, oversize,
 * mutated valid requests) gets an answer or silence, as Zephyr/MCUboot would, never an exception.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createZephyrDevice } from '../src/sim/device/zephyr.js';
import { createMcubootDevice } from '../src/sim/device/index.js';
import { buildPacket, decodeHeader } from '../src/codec/header.js';
import { encodeCbor } from '../src/codec/cbor.js';

const VALID: Array<[number, number, number, object]> = [
  [0, 0, 0, { d: 'hi' }],
  [0, 1, 0, {}],
  [2, 1, 0, { hash: Buffer.alloc(32), confirm: true }],
  [2, 1, 1, { image: 0, len: 100, off: 0, sha: Buffer.alloc(32), data: Buffer.alloc(40, 1) }],
  [2, 0, 4, { datetime: '2026-01-01T00:00:00' }],
  [0, 3, 0, { name: 'a/b' }],
  [2, 3, 0, { name: 'a/b', val: Buffer.from('x') }],
  [0, 8, 0, { name: '/lfs/x', off: 0 }],
  [2, 8, 0, { name: '/lfs/x', off: 0, len: 3, data: Buffer.from('abc') }],
  [2, 9, 0, { argv: ['kernel', 'version'] }],
  [0, 10, 2, { index: 1 }],
  [0, 2, 0, { name: 'smp' }],
];

function checkAnswers(responses: Buffer[], req: Buffer): void {
  // A packet may hold several messages (a cut length field makes the rest a second one): only the
  // first answer belongs to the request header we built.
  responses.forEach((r, i) => {
    assert.ok(r.length >= 8, 'an answer has a header');
    const h = decodeHeader(r);
    assert.equal(h.length, r.length - 8, 'the answer length field matches its payload');
    assert.ok(h.op === 1 || h.op === 3, 'an answer op');
    if (i === 0 && req.length >= 8) assert.equal(h.seq, req[6], 'seq copied from the request');
  });
}

for (const [name, make] of [
  ['zephyr', () => createZephyrDevice({ slotSize: 64 * 1024 })],
  ['mcuboot', () => createMcubootDevice({})],
] as const) {
  test(`${name}: random bytes never throw; every answer is a well-formed SMP packet`, () => {
    const dev = make();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), (bytes) => {
        const pkt = Buffer.from(bytes);
        checkAnswers(dev.handle(pkt, 'serial').responses, pkt);
      }),
      { numRuns: 3000, seed: 1 },
    );
  });

  test(`${name}: mutated valid requests (bit flips, cuts, wrong types) never throw`, () => {
    const dev = make();
    const requests = VALID.map(([op, group, id, body], i) => buildPacket({ op, version: 1, flags: 0, group, seq: i, id }, encodeCbor(body)));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: requests.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { maxLength: 6 }),
        fc.option(fc.nat()),
        (which, flips, cut) => {
          const pkt = Buffer.from(requests[which]!);
          for (const [pos, bit] of flips) pkt[pos % pkt.length]! ^= 1 << bit;
          const p = cut === null ? pkt : pkt.subarray(0, cut % (pkt.length + 1));
          checkAnswers(dev.handle(Buffer.from(p), 'serial').responses, p);
        },
      ),
      { numRuns: 5000, seed: 2 },
    );
  });

  test(`${name}: wrong CBOR types for known fields get an error answer, not a crash`, () => {
    const dev = make();
    const wrong = [{ d: 5 }, { d: Buffer.from('x') }, { off: 'zero', data: 1 }, { name: 7 }, { argv: 'ls' }, { hash: 'nothex' }, [1, 2, 3], 'str'];
    for (const body of wrong) {
      for (const [op, group, id] of VALID) {
        const pkt = buildPacket({ op, version: 1, flags: 0, group, seq: 9, id }, encodeCbor(body));
        checkAnswers(dev.handle(pkt, 'serial').responses, pkt);
      }
    }
  });
}
