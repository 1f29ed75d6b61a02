// Seed corpus for the fuzz targets, from the protocol test vectors (PROTOCOL.md §9,
// test/fixtures/vectors.json): whole console frames (Zephyr and plain splits), COBS frames, raw
// packets, base64 texts, and packets with true and forged length prefixes, each behind the
// parameter bytes its target reads first (see fuzz/fuzz_*.cc). Also the CBOR payloads for the JS
// target. Usage: node fuzz/gen-corpus.mjs <out-dir>   (writes <out-dir>/<target>/<name>)
import { readFileSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const v = JSON.parse(readFileSync(join(root, 'test/fixtures/vectors.json'), 'utf8'));
const out = process.argv[2] ?? join(root, '.fuzz/seeds');
const hex = (h) => Buffer.from(h, 'hex');

const seeds = {};
const add = (target, name, ...parts) => {
  (seeds[target] ??= []).push([name, Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))))]);
};

// Chunker parameter bytes: mode, then four sizes (fuzz_common.h).
const CHUNKINGS = {
  whole: [0, 0, 0, 0, 0],
  bytes: [1, 0, 0, 0, 0],
  tiny: [2, 3, 5, 1, 7],
  mid: [3, 40, 200, 7, 93],
  stream: [5, 60, 0, 0, 0],
  resets: [0x83, 17, 90, 3, 250],
};
const LOG = Buffer.from('[00:00:01.000,000] <inf> main: booting\r\nuart:~$ \n');

// console: caps byte = maxLine index | maxPacket index << 4 (fuzz_console.cc tables).
const CONSOLE_CAPS = { l124p16384: 6 | (13 << 4), l512p380: 11 | (10 << 4), l128p92: 9 | (9 << 4), l16p64: 5 | (5 << 4) };
const allConsole = [];
for (const [i, c] of v.console.entries()) {
  for (const split of ['zephyr', 'plain']) {
    const wire = Buffer.concat(c[split].map(hex));
    allConsole.push(wire, i % 3 === 0 ? LOG : Buffer.alloc(0));
    add('console', `v${i}-${split}`, [CONSOLE_CAPS.l124p16384], CHUNKINGS.mid, wire);
  }
}
for (const [cn, caps] of Object.entries(CONSOLE_CAPS)) {
  for (const [kn, ch] of Object.entries(CHUNKINGS)) add('console', `all-${cn}-${kn}`, [caps], ch, ...allConsole);
}

// COBS: cap index into fuzz_cobs.cc's table (13 = 16384, 11 = 380, 5 = 64).
const allCobs = [Buffer.from([0])];
for (const [i, c] of v.cobs.entries()) {
  if (c.frame !== undefined) {
    allCobs.push(hex(c.frame));
    add('cobs', `v${i}`, [13], CHUNKINGS.mid, hex(c.frame));
  } else {
    // A bare COBS block sequence (no CRC): exercises the block functions and the `short` path.
    add('cobs', `block${i}`, [13], CHUNKINGS.whole, hex(c.cobs), [0], hex(c.cobs));
  }
}
for (const [cn, cap] of Object.entries({ p16384: 13, p380: 11, p64: 5 })) {
  for (const [kn, ch] of Object.entries(CHUNKINGS)) add('cobs', `all-${cn}-${kn}`, [cap], ch, ...allCobs);
}

// raw: the packets back to back; cap index into fuzz_raw.cc's table (12 = 16384, 9 = 380).
const packets = [...v.console.map((c) => hex(c.packet)), ...v.cobs.filter((c) => c.packet !== undefined).map((c) => hex(c.packet))];
for (const [cn, cap] of Object.entries({ p16384: 12, p380: 9 })) {
  for (const [kn, ch] of Object.entries(CHUNKINGS)) add('raw', `all-${cn}-${kn}`, [cap], ch, ...packets);
}
packets.forEach((p, i) => add('raw', `v${i}`, [12], CHUNKINGS.tiny, p));

// base64: the text of every console frame, and raw bytes (CRC vectors, the image).
for (const [i, c] of v.console.entries()) {
  for (const [k, f] of c.plain.entries()) add('base64', `v${i}-f${k}`, hex(f).subarray(2, -1));
}
for (const [i, c] of v.crc16_xmodem.entries()) add('base64', `crc${i}`, hex(c.data));
add('base64', 'image', hex(v.mcuboot_image.image));

// packet: cap index (fuzz_packet.cc: 6 = 16384, 4 = 380, 0 = 8), the console length prefix, the packet.
for (const [i, p] of packets.entries()) {
  const n = p.length + 2;
  add('packet', `v${i}-true`, [6, n >> 8, n & 0xff], p);
  add('packet', `v${i}-cap380`, [4, n >> 8, n & 0xff], p);
  add('packet', `v${i}-forged-huge`, [6, 0xff, 0xff], p);
  add('packet', `v${i}-forged-short`, [0, 0, 9], p);
}
add('packet', 'image', [6, 0, 90], hex(v.mcuboot_image.image));

// cbor (JS target): SMP payloads, without the 8-byte header.
packets.forEach((p, i) => add('cbor', `v${i}`, p.subarray(8)));

rmSync(out, { recursive: true, force: true });
let total = 0;
for (const [target, list] of Object.entries(seeds)) {
  mkdirSync(join(out, target), { recursive: true });
  for (const [name, bytes] of list) {
    writeFileSync(join(out, target, name), bytes);
    total++;
  }
}
console.log(`seed corpus: ${total} inputs for ${Object.keys(seeds).join(', ')} in ${out}`);
