/**
 * Codec benchmark: the C++ addon against its TypeScript twins, side by side in one run, for
 * CRC16, base64, console framing and COBS at 127 B, 4 KiB and 1 MiB of payload.
 *
 * Figures are MB/s (10^6 bytes per second) of payload: the bytes of the packet or data being
 * checksummed, encoded or recovered. Console packets are at most 65 533 bytes, so the 1 MiB
 * console rows frame sixteen near-maximal packets. Each figure is the best of several timed
 * rounds, the two backends interleaved so machine drift hits both alike.
 *
 * Usage: npm run bench:codec   (BENCH_MS=<ms per round> to trade time for precision)
 * Prints a table, then one JSON line: {"bench":"codec", ...}.
 * @module
 */
import { tsCodec, nativeCodec, type Codec } from '../src/codec/index.js';

const ROUND_MS = Number(process.env.BENCH_MS ?? 80);
const ROUNDS = 5;
const SIZES = [127, 4096, 1 << 20] as const;
const MAX_CONSOLE_PACKET = 0xffff - 2;

/** Deterministic pseudo-random bytes (xorshift32), so every run measures the same input. */
function bytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** Cuts `data` into console-sized packets. */
function pieces(data: Buffer, max: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += max) out.push(data.subarray(off, Math.min(data.length, off + max)));
  return out;
}

let sink = 0;

/** One operation prepared for a backend and a size: returns a closure to time. */
type Prepare = (c: Codec, data: Buffer) => () => void;

const OPS: [string, Prepare][] = [
  ['crc16', (c, d) => () => void (sink ^= c.crc16(d))],
  ['base64 encode', (c, d) => () => void (sink ^= c.base64Encode(d).length)],
  [
    'base64 decode',
    (c, d) => {
      const text = tsCodec.base64Encode(d);
      return () => void (sink ^= c.base64Decode(text)!.length);
    },
  ],
  [
    'console encode',
    (c, d) => {
      const ps = pieces(d, MAX_CONSOLE_PACKET);
      return () => {
        for (const p of ps) sink ^= c.encodeConsole(p, 'zephyr').length;
      };
    },
  ],
  [
    'console decode',
    (c, d) => {
      const wire = Buffer.concat(pieces(d, MAX_CONSOLE_PACKET).map((p) => tsCodec.encodeConsole(p, 'zephyr')));
      const dec = c.createConsoleDecoder({ maxPacket: MAX_CONSOLE_PACKET });
      return () => void (sink ^= dec.push(wire).length);
    },
  ],
  ['cobs encode', (c, d) => () => void (sink ^= c.cobsEncode(d).length)],
  [
    'cobs decode',
    (c, d) => {
      const enc = tsCodec.cobsEncode(d);
      return () => void (sink ^= c.cobsDecode(enc)!.length);
    },
  ],
  [
    'cobs frame stream',
    (c, d) => {
      const wire = Buffer.concat(pieces(d, 0xffff).map((p) => tsCodec.encodeCobsFrame(p)));
      const dec = c.createCobsDecoder({ maxPacket: 0xffff });
      return () => void (sink ^= dec.push(wire).length);
    },
  ],
];

/** Iterations that take about `ms` milliseconds. */
function calibrate(fn: () => void, ms: number): number {
  let n = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (dt >= ms / 4 || n >= 1 << 24) return Math.max(1, Math.round((n * ms) / Math.max(dt, 0.001)));
    n *= 4;
  }
}

/** Seconds per call of one timed round. */
function round(fn: () => void, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1e9 / n;
}

function sizeLabel(n: number): string {
  return n >= 1 << 20 ? `${n / (1 << 20)} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} B`;
}

interface Row {
  op: string;
  size: number;
  ts: number;
  native: number | null;
  ratio: number | null;
}

function main(): void {
  const started = Date.now();
  const backends: Codec[] = nativeCodec ? [tsCodec, nativeCodec] : [tsCodec];
  if (!nativeCodec) console.log('native addon not loaded: TypeScript figures only\n');
  const rows: Row[] = [];
  for (const [op, prepare] of OPS) {
    for (const size of SIZES) {
      const data = bytes(size, 0x9e3779b9 ^ size);
      const fns = backends.map((c) => prepare(c, data));
      const iters = fns.map((fn) => {
        fn(); // warm up (and JIT) before calibrating
        return calibrate(fn, ROUND_MS);
      });
      const best = fns.map(() => Infinity);
      for (let r = 0; r < ROUNDS; r++) {
        fns.forEach((fn, i) => (best[i] = Math.min(best[i]!, round(fn, iters[i]!))));
      }
      const mbps = best.map((s) => size / s / 1e6);
      const ts = mbps[0]!;
      const nat = mbps[1] ?? null;
      rows.push({ op, size, ts, native: nat, ratio: nat === null ? null : nat / ts });
    }
  }

  const fmt = (v: number | null, digits = 1): string => (v === null ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(digits));
  const header = ['operation', 'payload', 'ts MB/s', 'native MB/s', 'native/ts'];
  const table = rows.map((r) => [r.op, sizeLabel(r.size), fmt(r.ts), fmt(r.native), r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`codec throughput, MB/s of payload (best of ${ROUNDS} rounds of ~${ROUND_MS} ms), node ${process.version}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of table) console.log(line(row));
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
  if (sink === 0.5) console.log(); // keeps `sink` observable

  const results: Record<string, Record<string, { ts: number; native: number | null; ratio: number | null }>> = {};
  for (const r of rows) {
    (results[r.op] ??= {})[String(r.size)] = {
      ts: Number(r.ts.toFixed(1)),
      native: r.native === null ? null : Number(r.native.toFixed(1)),
      ratio: r.ratio === null ? null : Number(r.ratio.toFixed(2)),
    };
  }
  // Flat figures under the names the issue asks for: crc16 / encode / decode (console framing) at
  // 128 B (the 127-byte row), 4 KiB and 1 MiB, native and TS.
  const flat: Record<string, number | null> = {};
  const names: Array<[string, string]> = [
    ['crc16', 'crc16'],
    ['console encode', 'encode'],
    ['console decode', 'decode'],
    ['cobs encode', 'cobs_encode'],
    ['cobs decode', 'cobs_decode'],
  ];
  for (const [op, key] of names) {
    for (const [size, tag] of [
      ['127', '128b'],
      ['4096', '4k'],
      ['1048576', '1m'],
    ] as const) {
      const r = results[op]?.[size];
      if (!r) continue;
      flat[`${key}_${tag}_native_MBps`] = r.native;
      flat[`${key}_${tag}_ts_MBps`] = r.ts;
    }
  }
  console.log(
    JSON.stringify({ bench: 'codec', ...flat, unit: 'MB/s', node: process.version, native: nativeCodec !== undefined, roundMs: ROUND_MS, results }),
  );
}

main();
