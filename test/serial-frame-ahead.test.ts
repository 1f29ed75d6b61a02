/**
 * A serial transport's frames made ahead (`frameAhead` now, `sendFrame` later, the upload
 * engine's next chunk) put the same bytes on the link as `sendPartsNow`, delimiters included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPacketParts } from '../src/codec/packet.js';
import { Op } from '../src/codec/header.js';
import { SmpClosedError } from '../src/errors.js';
import { SerialTransport, type ByteLink } from '../src/transport/serial.js';
import type { SerialEncoding } from '../src/transport/framing.js';

/** A link that keeps every byte written (and never answers). */
function recordingLink(path: string): { link: ByteLink; bytes: () => Buffer } {
  const written: Buffer[] = [];
  const link: ByteLink = {
    path,
    attach: () => {},
    write: (pieces) => {
      for (const p of pieces) written.push(Buffer.from(p));
    },
    pending: () => 0,
    drain: () => Promise.resolve(),
    close: () => {},
    unref: () => {},
    ref: () => {},
  };
  return { link, bytes: () => Buffer.concat(written) };
}

const packet = (seq: number, n: number): Buffer[] =>
  buildPacketParts({ op: Op.WRITE, version: 1, flags: 0, group: 1, seq, id: 1 }, { off: seq * n, data: Buffer.alloc(n, seq) }).parts;

for (const encoding of ['console', 'raw', 'cobs'] as SerialEncoding[]) {
  test(`${encoding}: frames made ahead write the bytes sendPartsNow writes, delimiters included`, async () => {
    const now = recordingLink('/now');
    const ahead = recordingLink('/ahead');
    const a = await SerialTransport.open({ path: '/now', encoding }, async () => now.link);
    const b = await SerialTransport.open({ path: '/ahead', encoding }, async () => ahead.link);
    for (let seq = 0; seq < 6; seq++) {
      if (seq === 3) {
        // After a timeout the transport delimits its next frame again (console: an LF).
        a.flush();
        b.flush();
      }
      const frame = b.frameAhead(packet(seq, 200 + seq * 37));
      a.sendPartsNow(packet(seq, 200 + seq * 37));
      b.sendFrame(frame);
    }
    assert.ok(now.bytes().length > 6 * 200);
    assert.deepEqual(ahead.bytes(), now.bytes());
    await a.close();
    await b.close();
  });
}

test('frameAhead refuses a packet over the link limit; sendFrame after close throws SmpClosedError', async () => {
  const rec = recordingLink('/x');
  const t = await SerialTransport.open({ path: '/x', encoding: 'console', maxPacket: 256 }, async () => rec.link);
  assert.throws(() => t.frameAhead(packet(1, 300)), /exceed the 256-byte limit/);
  const frame = t.frameAhead(packet(1, 100));
  await t.close();
  assert.throws(() => t.sendFrame(frame), SmpClosedError);
  assert.equal(rec.bytes().length, 0, 'nothing written');
});
