/**
 * Hostile input against the decoders' hard caps, on both backends: huge length prefixes, a frame
 * line that never ends, a COBS stream with no delimiter, raw headers claiming more than the cap.
 * Nothing may be buffered beyond the caps, the counters must name the reason, and the next valid
 * frame must still decode.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { tsCodec, nativeCodec, type Codec, type PacketDecoder } from '../src/codec/index.js';

const NATIVE_EXPECTED = process.env.MCUMGR_NATIVE !== '0';

test('the native addon is loaded (unless MCUMGR_NATIVE=0)', () => {
  if (NATIVE_EXPECTED) assert.ok(nativeCodec !== undefined, 'the native addon did not load');
});

function each(title: string, fn: (c: Codec, t: TestContext) => void): void {
  for (const [name, codec] of [
    ['ts', tsCodec],
    ['native', nativeCodec],
  ] as const) {
    test(`${name}: ${title}`, (t) => {
      if (!codec) {
        t.skip('native addon disabled (MCUMGR_NATIVE=0)');
        return;
      }
      fn(codec, t);
    });
  }
}

const MB = 1 << 20;
const CHUNKINGS = [65536, 4093, 7, Infinity];

/** A valid SMP packet (echo request, PROTOCOL.md §4.4). */
const ECHO = Buffer.from('0800000600000100a16164626869', 'hex');
const packetOf = (n: number): Buffer => {
  const p = Buffer.alloc(n, 0x61);
  ECHO.copy(p, 0, 0, 8);
  p.writeUInt16BE(n - 8, 2);
  return p;
};

/** Feeds `data` in chunks of `size`, checking `buffered()` against `cap` after every chunk. */
function feed<S>(d: PacketDecoder<S>, data: Uint8Array, size: number, cap: number): Buffer[] {
  const out: Buffer[] = [];
  let max = 0;
  for (let off = 0; off < data.length; off += size) {
    out.push(...d.push(data.subarray(off, Math.min(data.length, off + size))));
    max = Math.max(max, d.buffered());
  }
  assert.ok(max <= cap, `buffered() reached ${max}, cap ${cap}`);
  return out;
}

const frameLine = (marker: readonly [number, number], c: Codec, raw: Uint8Array): Buffer =>
  Buffer.concat([Buffer.from(marker), c.base64Encode(raw), Buffer.from('\n')]);
const INITIAL = [0x06, 0x09] as const;
const CONT = [0x04, 0x14] as const;

const CONSOLE_ZERO = { packets: 0, nonFrameLines: 0, badBase64: 0, badLength: 0, badCrc: 0, lineOverflow: 0, orphanContinuations: 0, abandoned: 0 };

// ---- console ---------------------------------------------------------------------------------

each('console: length prefix 65535 is refused before any payload is kept', (c) => {
  for (const size of CHUNKINGS) {
    for (const opts of [{}, { maxLine: 128, maxPacket: 1024 }]) {
      const maxLine = opts.maxLine ?? 512;
      const maxPacket = opts.maxPacket ?? 16384;
      const d = c.createConsoleDecoder(opts);
      // An initial frame announcing 65535 bytes, then 800 continuation frames of 90 bytes (72 000 bytes).
      const parts = [frameLine(INITIAL, c, Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.alloc(91, 0x33)]))];
      for (let i = 0; i < 800; i++) parts.push(frameLine(CONT, c, Buffer.alloc(90, i & 0xff)));
      assert.deepEqual(feed(d, Buffer.concat(parts), size, maxLine + maxPacket), []);
      assert.deepEqual(d.stats(), { ...CONSOLE_ZERO, badLength: 1, orphanContinuations: 800 });
      assert.deepEqual(feed(d, c.encodeConsole(ECHO, 'zephyr'), size, maxLine + maxPacket), [ECHO], 'the next frame decodes');
      assert.equal(d.stats().packets, 1);
      assert.equal(d.buffered(), 0);
    }
  }
});

each('console: a packet at maxPacket is kept, one byte more is refused', (c) => {
  const maxPacket = 1000;
  const d = c.createConsoleDecoder({ maxPacket });
  const ok = packetOf(maxPacket);
  assert.deepEqual(feed(d, c.encodeConsole(ok, 'plain'), 100, 512 + maxPacket + 2), [ok]);
  assert.deepEqual(feed(d, c.encodeConsole(packetOf(maxPacket + 1), 'plain'), 100, 512 + maxPacket + 2), []);
  assert.deepEqual(d.stats(), { ...CONSOLE_ZERO, packets: 1, badLength: 1, orphanContinuations: Math.ceil((maxPacket + 5) / 93) - 1 });
  // The largest console packet with the largest cap.
  const big = packetOf(0xffff - 2);
  const d2 = c.createConsoleDecoder({ maxPacket: 0xffff - 2 });
  assert.deepEqual(feed(d2, c.encodeConsole(big, 'zephyr'), 65536, 512 + 0xffff), [big]);
});

each('console: a packet overrun by its continuations is dropped (badLength)', (c) => {
  const d = c.createConsoleDecoder();
  const wire = Buffer.concat([frameLine(INITIAL, c, Buffer.from([0x00, 0x0c, ...ECHO.subarray(0, 6)])), frameLine(CONT, c, Buffer.alloc(30, 1))]);
  assert.deepEqual(d.push(wire), []);
  assert.deepEqual(d.stats(), { ...CONSOLE_ZERO, badLength: 1 });
  assert.deepEqual(d.push(c.encodeConsole(ECHO)), [ECHO]);
});

each('console: a frame line that never ends (1 MB, no LF)', (c) => {
  for (const size of CHUNKINGS) {
    for (const maxLine of [4, 512, 4096]) {
      const d = c.createConsoleDecoder({ maxLine });
      const endless = Buffer.concat([Buffer.from(INITIAL), Buffer.alloc(MB, 0x41)]);
      assert.deepEqual(feed(d, endless, size, maxLine), []);
      assert.equal(d.buffered(), 0, 'the over-long line is not kept');
      assert.deepEqual(d.stats(), { ...CONSOLE_ZERO, lineOverflow: 1 });
      // The next frame follows with no LF in between: its marker ends the discard.
      assert.deepEqual(feed(d, c.encodeConsole(ECHO), size, maxLine + 16384), maxLine >= 24 ? [ECHO] : [], `maxLine ${maxLine}`);
      // And after an LF, too.
      const d2 = c.createConsoleDecoder({ maxLine });
      feed(d2, endless, size, maxLine);
      feed(d2, Buffer.from('AAAA\n'), size, maxLine);
      assert.deepEqual(feed(d2, c.encodeConsole(ECHO), size, maxLine + 16384), maxLine >= 24 ? [ECHO] : []);
      assert.equal(d2.stats().lineOverflow, maxLine >= 24 ? 1 : 2);
    }
  }
});

each('console: a log line that never ends (1 MB) is never buffered', (c) => {
  for (const size of CHUNKINGS) {
    const d = c.createConsoleDecoder();
    const junk = Buffer.alloc(MB, 0x2e);
    for (let i = 0; i < junk.length; i += 97) junk[i] = (i * 31) & 0xff; // includes 0x06/0x04 now and then
    for (let i = 0; i < junk.length; i++) if (junk[i] === 0x0a) junk[i] = 0x20;
    assert.deepEqual(feed(d, junk, size, 512), []);
    assert.deepEqual(feed(d, c.encodeConsole(ECHO), size, 512 + 16384), [ECHO]);
    assert.equal(d.stats().packets, 1);
    assert.equal(d.stats().nonFrameLines, 0);
  }
});

each('console: repeated initial frames abandon the partial packet; bad CRC is counted', (c) => {
  const d = c.createConsoleDecoder();
  const two = c.encodeConsole(packetOf(200), 'zephyr');
  const firstLine = two.subarray(0, two.indexOf(0x0a) + 1);
  for (let i = 0; i < 1000; i++) d.push(firstLine);
  assert.deepEqual(d.stats(), { ...CONSOLE_ZERO, abandoned: 999 });
  assert.ok(d.buffered() <= 512 + 16384);
  const bad = Buffer.from(c.encodeConsole(ECHO));
  bad[5] ^= 0x01; // another base64 letter: a valid frame whose CRC no longer matches
  assert.deepEqual(d.push(bad), []);
  assert.deepEqual(d.push(c.encodeConsole(ECHO)), [ECHO]);
  assert.deepEqual(d.stats(), { ...CONSOLE_ZERO, abandoned: 1000, badCrc: 1, packets: 1 });
});

// ---- COBS ------------------------------------------------------------------------------------

each('COBS: 1 MB with no delimiter is dropped; a 0x00 resynchronises', (c) => {
  for (const size of CHUNKINGS) {
    for (const maxPacket of [8, 1024, 16384]) {
      const cap = maxPacket + 2 + Math.floor((maxPacket + 2) / 254) + 1;
      const d = c.createCobsDecoder({ maxPacket });
      const noDelimiter = Buffer.alloc(MB);
      for (let i = 0; i < noDelimiter.length; i++) noDelimiter[i] = (i % 255) + 1;
      assert.deepEqual(feed(d, noDelimiter, size, cap), []);
      assert.equal(d.buffered(), 0);
      assert.deepEqual(d.stats(), { packets: 0, malformed: 0, short: 0, oversize: 1, badCrc: 0, empty: 0 });
      const p = packetOf(Math.min(maxPacket, 14));
      assert.deepEqual(feed(d, Buffer.concat([Buffer.from([0]), c.encodeCobsFrame(p)]), size, cap), [p]);
      assert.deepEqual(d.stats(), { packets: 1, malformed: 0, short: 0, oversize: 1, badCrc: 0, empty: 0 });
    }
  }
});

each('COBS: a packet at maxPacket is kept, one byte more is oversize; short and bad CRC', (c) => {
  for (const maxPacket of [8, 100, 300, 16384]) {
    const d = c.createCobsDecoder({ maxPacket });
    const ok = packetOf(maxPacket);
    assert.deepEqual(d.push(c.encodeCobsFrame(ok)), [ok]);
    assert.deepEqual(d.push(c.encodeCobsFrame(packetOf(maxPacket + 1))), []);
    assert.deepEqual(d.push(Buffer.concat([c.encodeCobsFrame(Buffer.from([1, 2, 3])), Buffer.from([0, 0])])), []);
    const wrongCrc = c.crc16(ok) ^ 0x0101;
    const bad = Buffer.concat([c.cobsEncode(Buffer.concat([ok, Buffer.from([wrongCrc >> 8, wrongCrc & 0xff])])), Buffer.from([0])]);
    assert.deepEqual(d.push(bad), []);
    assert.deepEqual(d.push(c.encodeCobsFrame(ok)), [ok]);
    assert.deepEqual(d.stats(), { packets: 2, malformed: 0, short: 1, oversize: 1, badCrc: 1, empty: 2 });
    assert.equal(d.buffered(), 0);
  }
});

each('COBS: a malformed frame is counted and skipped', (c) => {
  const d = c.createCobsDecoder();
  assert.deepEqual(d.push(Buffer.from([0x05, 0x11, 0x22, 0x00])), []); // block runs past the end
  assert.deepEqual(d.push(c.encodeCobsFrame(ECHO)), [ECHO]);
  assert.deepEqual(d.stats(), { packets: 1, malformed: 1, short: 0, oversize: 0, badCrc: 0, empty: 0 });
});

// ---- raw -------------------------------------------------------------------------------------

each('raw: a header claiming 65535 bytes with a small maxPacket is thrown away', (c) => {
  for (const size of [1, 3, 8, Infinity]) {
    const d = c.createRawDecoder({ maxPacket: 1024 });
    const hostile = Buffer.from([0x0a, 0x00, 0xff, 0xff, 0x00, 0x01, 0x07, 0x01]);
    assert.deepEqual(feed(d, Buffer.concat([hostile, ECHO]), size, 1024), [ECHO]);
    assert.deepEqual(d.stats(), { packets: 1, badLength: 1, badHeader: 0, discarded: 0 });
    assert.equal(d.buffered(), 0);
  }
});

each('raw: the largest cap accepts 65535-byte bodies; reset() discards a stalled packet', (c) => {
  const d = c.createRawDecoder({ maxPacket: 0xffff + 8 });
  const big = packetOf(0xffff + 8);
  assert.deepEqual(feed(d, big.subarray(0, 40000), 4096, 0xffff + 8), []);
  assert.equal(d.buffered(), 40000);
  d.reset();
  assert.equal(d.buffered(), 0);
  assert.deepEqual(feed(d, Buffer.concat([big, ECHO]), 4096, 0xffff + 8), [big, ECHO]);
  assert.deepEqual(d.stats(), { packets: 2, badLength: 0, badHeader: 0, discarded: 1 });
  d.reset();
  assert.equal(d.stats().discarded, 1, 'reset() with nothing held counts nothing');
});

each('raw: bad headers and garbage are counted and never buffered beyond one header', (c) => {
  const d = c.createRawDecoder({ maxPacket: 64 });
  const garbage = Buffer.alloc(MB, 0xff); // op 7 and reserved bits: every 8 bytes a bad header
  assert.deepEqual(feed(d, garbage, 4093, 64), []);
  assert.deepEqual(d.stats(), { packets: 0, badLength: 0, badHeader: MB / 8, discarded: 0 });
  assert.deepEqual(d.push(ECHO), [ECHO]);
  const tooLong = packetOf(65);
  assert.deepEqual(d.push(Buffer.concat([tooLong.subarray(0, 8), ECHO])), [ECHO]);
  assert.deepEqual(d.stats(), { packets: 2, badLength: 1, badHeader: MB / 8, discarded: 0 });
});
