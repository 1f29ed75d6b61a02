/**
 * The PROTOCOL.md §9 vectors (test/fixtures/vectors.json), byte-exact in both directions, on both
 * codec backends: the TypeScript twins and the C++ addon. Every console and COBS frame vector is
 * also decoded when cut at every byte offset, and the raw decoder gets all vector packets back to
 * back, cut at every offset.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tsCodec, nativeCodec, consoleFrameSizes, encodeRaw, type Codec } from '../src/codec/index.js';
import { nativeLoadError } from '../src/addon.js';

interface Vectors {
  crc16_xmodem: { data: string; crc: string }[];
  console: { name: string; packet: string; crc: string; zephyr: string[]; plain: string[] }[];
  split_shapes: { packet_len: number; zephyr_raw_bytes_per_frame: number[] }[];
  cobs: ({ name: string; packet: string; frame: string } | { name: string; data: string; cobs: string })[];
  mcuboot_image: { image: string; version: string; state_hash_tlv: string; upload_sha256: string };
}

const V = JSON.parse(readFileSync(new URL('./fixtures/vectors.json', import.meta.url), 'utf8')) as Vectors;
const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');

const cobsFrames = V.cobs.filter((c): c is { name: string; packet: string; frame: string } => 'frame' in c);
const cobsOnly = V.cobs.filter((c): c is { name: string; data: string; cobs: string } => 'cobs' in c);

const NATIVE_EXPECTED = process.env.MCUMGR_NATIVE !== '0';

test('the native addon is loaded (unless MCUMGR_NATIVE=0)', () => {
  if (NATIVE_EXPECTED) {
    assert.ok(nativeCodec !== undefined, `the addon did not load: ${nativeLoadError()?.message ?? 'unknown reason'}`);
    assert.equal(nativeCodec.backend, 'native');
  } else {
    assert.equal(nativeCodec, undefined);
  }
});

test('vectors file has what these tests expect', () => {
  assert.ok(V.crc16_xmodem.length >= 5);
  assert.ok(V.console.length >= 12);
  assert.ok(V.split_shapes.length >= 8);
  assert.ok(cobsFrames.length >= 3 && cobsOnly.length >= 4);
});

const backends: [string, Codec | undefined][] = [
  ['ts', tsCodec],
  ['native', nativeCodec],
];

/** Runs `fn` for a backend, or skips it (with the reason) when that backend is not loaded. */
function each(title: string, fn: (c: Codec, t: TestContext) => void): void {
  for (const [name, codec] of backends) {
    test(`${name}: ${title}`, (t) => {
      if (!codec) {
        t.skip('native addon disabled (MCUMGR_NATIVE=0)');
        return;
      }
      fn(codec, t);
    });
  }
}

/** Decodes `stream` cut into two chunks at `cut` with a fresh decoder; returns packets and stats. */
function decodeSplit<S>(make: () => { push(b: Uint8Array): Buffer[]; stats(): S; buffered(): number }, stream: Buffer, cuts: number[]) {
  const d = make();
  const packets: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    packets.push(...d.push(stream.subarray(from, cut)));
    from = cut;
  }
  return { packets, stats: d.stats(), buffered: d.buffered() };
}

const CONSOLE_ONE = { packets: 1, nonFrameLines: 0, badBase64: 0, badLength: 0, badCrc: 0, lineOverflow: 0, orphanContinuations: 0, abandoned: 0 };
const COBS_ONE = { packets: 1, malformed: 0, short: 0, oversize: 0, badCrc: 0, empty: 0 };

// ---- CRC16 ----------------------------------------------------------------------------------

each('crc16 vectors', (c) => {
  for (const v of V.crc16_xmodem) assert.equal(c.crc16(hex(v.data)), parseInt(v.crc, 16), `crc of "${v.data}"`);
  assert.equal(c.crc16(ascii('123456789')), 0x31c3, 'check value');
  for (const v of V.console) {
    const p = hex(v.packet);
    assert.equal(c.crc16(p), parseInt(v.crc, 16), v.name);
    assert.equal(c.crc16(Buffer.concat([p, hex(v.crc)])), 0, `${v.name}: residue over packet + CRC`);
  }
});

each('crc16 continues from init at every split', (c) => {
  for (const v of V.console) {
    const p = hex(v.packet);
    for (let k = 0; k <= p.length; k++) {
      assert.equal(c.crc16(p.subarray(k), c.crc16(p.subarray(0, k))), parseInt(v.crc, 16), `${v.name} split at ${k}`);
    }
  }
});

each('crc16 accepts any Uint8Array', (c) => {
  const p = hex(V.console[0]!.packet);
  const u8 = new Uint8Array(p);
  const offset = new Uint8Array(p.length + 5);
  offset.set(p, 3);
  assert.equal(c.crc16(u8), 0x536d);
  assert.equal(c.crc16(offset.subarray(3, 3 + p.length)), 0x536d);
});

// ---- base64 ---------------------------------------------------------------------------------

const RFC4648 = [
  ['', ''],
  ['f', 'Zg=='],
  ['fo', 'Zm8='],
  ['foo', 'Zm9v'],
  ['foob', 'Zm9vYg=='],
  ['fooba', 'Zm9vYmE='],
  ['foobar', 'Zm9vYmFy'],
] as const;

each('base64 RFC 4648 vectors', (c) => {
  for (const [plain, enc] of RFC4648) {
    assert.equal(c.base64Encode(ascii(plain)).toString('latin1'), enc);
    assert.deepEqual(c.base64Decode(ascii(enc)), ascii(plain));
  }
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  assert.equal(c.base64Encode(all).toString('latin1'), all.toString('base64'));
  assert.deepEqual(c.base64Decode(ascii(all.toString('base64'))), all);
});

each('base64 frame texts of the console vectors', (c) => {
  for (const v of V.console) {
    const stream = Buffer.concat([Buffer.from([(v.packet.length / 2 + 2) >> 8, (v.packet.length / 2 + 2) & 0xff]), hex(v.packet), hex(v.crc)]);
    for (const split of ['zephyr', 'plain'] as const) {
      const parts = v[split].map((f) => c.base64Decode(hex(f).subarray(2, -1)));
      for (const p of parts) assert.ok(p !== null, `${v.name} ${split}: a frame's text did not decode`);
      assert.deepEqual(Buffer.concat(parts as Buffer[]), stream, `${v.name} ${split}`);
    }
  }
});

each('base64 decoder is strict', (c) => {
  const invalid = ['A', 'AB', 'ABC', 'ABCDE', 'A===', '====', '=AAA', 'AB=C', 'A=BC', 'AB==AB==', 'ABC=ABCD', 'AB\nC', 'ABC*', 'AB C', 'ABCD\n', '\u00c0BCD'];
  for (const s of invalid) assert.equal(c.base64Decode(ascii(s)), null, JSON.stringify(s));
  // Non-zero bits under the padding are accepted, as Zephyr does.
  assert.deepEqual(c.base64Decode(ascii('AB==')), Buffer.from([0x00]));
  assert.deepEqual(c.base64Decode(ascii('AP==')), Buffer.from([0x00]));
  assert.deepEqual(c.base64Decode(ascii('AAB=')), Buffer.from([0x00, 0x00]));
  assert.deepEqual(c.base64Decode(new Uint8Array(0)), Buffer.alloc(0));
});

// ---- console framing ------------------------------------------------------------------------

each('console encoder: every vector, both splits', (c) => {
  for (const v of V.console) {
    const p = hex(v.packet);
    assert.deepEqual(c.encodeConsole(p, 'zephyr'), Buffer.concat(v.zephyr.map(hex)), `${v.name} zephyr`);
    assert.deepEqual(c.encodeConsole(p, 'plain'), Buffer.concat(v.plain.map(hex)), `${v.name} plain`);
    assert.deepEqual(c.encodeConsole(p), Buffer.concat(v.plain.map(hex)), `${v.name} default is plain`);
  }
});

/** The raw-byte size of each line of an encoded console stream. */
function lineRawSizes(c: Codec, wire: Buffer): number[] {
  const sizes: number[] = [];
  let from = 0;
  for (let i = 0; i < wire.length; i++) {
    if (wire[i] !== 0x0a) continue;
    const line = wire.subarray(from, i + 1);
    assert.ok(line.length <= 127, `a frame of ${line.length} bytes`);
    sizes.push(c.base64Decode(line.subarray(2, -1))!.length);
    from = i + 1;
  }
  assert.equal(from, wire.length);
  return sizes;
}

each('console encoder: Zephyr split shapes', (c) => {
  for (const s of V.split_shapes) {
    const p = Buffer.alloc(s.packet_len, 0x5a);
    assert.deepEqual(lineRawSizes(c, c.encodeConsole(p, 'zephyr')), s.zephyr_raw_bytes_per_frame, `n=${s.packet_len}`);
    assert.deepEqual(consoleFrameSizes(s.packet_len, 'zephyr'), s.zephyr_raw_bytes_per_frame);
    const plain = lineRawSizes(c, c.encodeConsole(p, 'plain'));
    assert.equal(plain.reduce((a, b) => a + b, 0), s.packet_len + 4);
    assert.ok(plain.slice(0, -1).every((n) => n === 93), `plain cuts every 93 raw bytes (n=${s.packet_len})`);
  }
});

each('console encoder: length limits', (c) => {
  assert.throws(() => c.encodeConsole(new Uint8Array(0)), RangeError);
  assert.throws(() => c.encodeConsole(new Uint8Array(0xffff - 1)), RangeError);
  const big = c.encodeConsole(new Uint8Array(0xffff - 2), 'zephyr');
  assert.equal(big.subarray(0, 2).toString('hex'), '0609');
  assert.equal(c.base64Decode(big.subarray(2, big.indexOf(0x0a)))!.readUInt16BE(0), 0xffff);
});

each('console decoder: every vector whole, cut at every offset, and byte by byte', (c) => {
  for (const v of V.console) {
    const p = hex(v.packet);
    for (const split of ['zephyr', 'plain'] as const) {
      const wire = Buffer.concat(v[split].map(hex));
      for (let cut = 0; cut <= wire.length; cut++) {
        const r = decodeSplit(() => c.createConsoleDecoder(), wire, [cut]);
        assert.deepEqual(r.packets, [p], `${v.name} ${split} cut at ${cut}`);
        assert.deepEqual(r.stats, CONSOLE_ONE);
        assert.equal(r.buffered, 0);
      }
      const bytes = decodeSplit(() => c.createConsoleDecoder(), wire, Array.from({ length: wire.length }, (_, i) => i));
      assert.deepEqual(bytes.packets, [p], `${v.name} ${split} byte by byte`);
      assert.deepEqual(bytes.stats, CONSOLE_ONE);
    }
  }
});

each('console decoder: all vectors in one stream among log lines, with CRLF', (c) => {
  const parts: Buffer[] = [];
  const want: Buffer[] = [];
  for (const v of V.console) {
    parts.push(ascii(`[00:00:01.000] <inf> log: ${v.name}\r\n`));
    for (const split of ['zephyr', 'plain'] as const) {
      parts.push(Buffer.concat(v[split].map((f) => Buffer.concat([hex(f).subarray(0, -1), ascii('\r\n')]))));
      want.push(hex(v.packet));
    }
  }
  const d = c.createConsoleDecoder();
  assert.deepEqual(d.push(Buffer.concat(parts)), want);
  assert.deepEqual(d.stats(), { ...CONSOLE_ONE, packets: want.length, nonFrameLines: V.console.length });
});

// ---- COBS framing ---------------------------------------------------------------------------

each('COBS: encodeCobsFrame / cobsEncode / cobsDecode vectors', (c) => {
  for (const v of cobsFrames) {
    const p = hex(v.packet);
    const frame = hex(v.frame);
    assert.deepEqual(c.encodeCobsFrame(p), frame, v.name);
    assert.deepEqual(c.cobsEncode(Buffer.concat([p, Buffer.from([c.crc16(p) >> 8, c.crc16(p) & 0xff])])), frame.subarray(0, -1));
    const dec = c.cobsDecode(frame.subarray(0, -1));
    assert.ok(dec !== null);
    assert.deepEqual(dec.subarray(0, -2), p);
    assert.equal(c.crc16(dec), 0);
  }
  for (const v of cobsOnly) {
    assert.deepEqual(c.cobsEncode(hex(v.data)), hex(v.cobs), v.name);
    assert.deepEqual(c.cobsDecode(hex(v.cobs)), hex(v.data), v.name);
  }
  assert.deepEqual(c.cobsEncode(Buffer.from('11220033', 'hex')), Buffer.from('0311220233', 'hex'));
  for (const bad of ['00', '0311', '02', '0300', '011100', 'ff01']) assert.equal(c.cobsDecode(hex(bad)), null, bad);
  assert.throws(() => c.encodeCobsFrame(new Uint8Array(0)), RangeError);
  assert.throws(() => c.encodeCobsFrame(new Uint8Array(0x10000)), RangeError);
});

each('COBS decoder: every frame vector cut at every offset', (c) => {
  for (const v of cobsFrames) {
    const p = hex(v.packet);
    const frame = hex(v.frame);
    for (let cut = 0; cut <= frame.length; cut++) {
      const r = decodeSplit(() => c.createCobsDecoder(), frame, [cut]);
      assert.deepEqual(r.packets, [p], `${v.name} cut at ${cut}`);
      assert.deepEqual(r.stats, COBS_ONE);
      assert.equal(r.buffered, 0);
    }
    // With a leading flush delimiter (as a client sends after a timeout): one empty frame.
    const flushed = decodeSplit(() => c.createCobsDecoder(), Buffer.concat([Buffer.from([0]), frame]), []);
    assert.deepEqual(flushed.packets, [p]);
    assert.deepEqual(flushed.stats, { ...COBS_ONE, empty: 1 });
  }
  const all = Buffer.concat(cobsFrames.map((v) => hex(v.frame)));
  for (let cut = 0; cut <= all.length; cut++) {
    for (const cut2 of [cut, Math.min(all.length, cut + 7), Math.min(all.length, cut + 300)]) {
      const r = decodeSplit(() => c.createCobsDecoder(), all, [cut, cut2]);
      assert.deepEqual(r.packets, cobsFrames.map((v) => hex(v.packet)), `all frames cut at ${cut}, ${cut2}`);
    }
  }
});

// ---- raw ------------------------------------------------------------------------------------

const rawPackets = [...new Set([...V.console.map((v) => v.packet), ...cobsFrames.map((v) => v.packet)])].map(hex);

each('raw decoder: all vector packets back to back, cut at every offset', (c) => {
  for (const p of rawPackets) assert.equal(p.readUInt16BE(2) + 8, p.length, 'vector packets have consistent headers');
  const stream = Buffer.concat(rawPackets.map((p) => encodeRaw(p)));
  for (let cut = 0; cut <= stream.length; cut++) {
    const r = decodeSplit(() => c.createRawDecoder(), stream, [cut]);
    assert.deepEqual(r.packets, rawPackets, `cut at ${cut}`);
    assert.deepEqual(r.stats, { packets: rawPackets.length, badLength: 0, badHeader: 0, discarded: 0 });
    assert.equal(r.buffered, 0);
  }
  const bytes = decodeSplit(() => c.createRawDecoder(), stream, Array.from({ length: stream.length }, (_, i) => i));
  assert.deepEqual(bytes.packets, rawPackets);
});

// ---- the synthetic MCUboot image through every framing ------------------------------------------

each('MCUboot image vector round-trips through console, COBS and raw framing', (c) => {
  const image = hex(V.mcuboot_image.image);
  assert.equal(image.length, 88);
  // v2 WRITE, group 1 (image), id 1 (upload), seq 7, the image as the body.
  const header = Buffer.from([0x0a, 0x00, 0x00, image.length, 0x00, 0x01, 0x07, 0x01]);
  const packet = Buffer.concat([header, image]);
  for (const split of ['zephyr', 'plain'] as const) {
    const d = c.createConsoleDecoder();
    assert.deepEqual(d.push(c.encodeConsole(packet, split)), [packet], split);
  }
  assert.deepEqual(c.createCobsDecoder().push(c.encodeCobsFrame(packet)), [packet]);
  assert.deepEqual(c.createRawDecoder().push(encodeRaw(packet)), [packet]);
  assert.deepEqual(c.base64Decode(c.base64Encode(image)), image);
  assert.equal(c.crc16(Buffer.concat([packet, Buffer.from([c.crc16(packet) >> 8, c.crc16(packet) & 0xff])])), 0);
});
