/**
 * The flat-map fast path against the general decoder (cbor-x): on random maps in every encoding
 * a device may use (definite and indefinite, minimal and padded heads, every integer width, the
 * edges of safe integers), mutated (cut short, trailing bytes), whenever the fast path answers
 * it answers exactly what the general decoder answers; and it does answer for the shapes that
 * transfers receive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFlatMap } from '../src/codec/cbor-flat.js';
import { decodeCbor, decodeCborMap } from '../src/codec/cbor.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A CBOR head of `major` with argument `v`, in the width asked (or the minimal one). */
function head(major: number, v: bigint, width?: 0 | 1 | 2 | 4 | 8): number[] {
  const w = width ?? (v < 24n ? 0 : v < 0x100n ? 1 : v < 0x10000n ? 2 : v < 0x100000000n ? 4 : 8);
  if (w === 0) return [(major << 5) | Number(v)];
  const info = { 1: 24, 2: 25, 4: 26, 8: 27 }[w];
  const out = [(major << 5) | info];
  for (let i = w - 1; i >= 0; i--) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
  return out;
}

interface Gen {
  bytes: number[];
  /** Only kinds the fast path takes. */
  flat: boolean;
}

function value(r: () => number): Gen {
  const k = Math.floor(r() * 13);
  const widthFor = (v: bigint): 0 | 1 | 2 | 4 | 8 | undefined => {
    if (r() < 0.7) return undefined;
    const ws = ([0, 1, 2, 4, 8] as const).filter((w) => (w === 0 ? v < 24n : v < 1n << BigInt(8 * w)));
    return ws[Math.floor(r() * ws.length)];
  };
  const edges = [0n, 23n, 24n, 255n, 256n, 65535n, 65536n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 2n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 64n - 1n];
  switch (k) {
    case 0:
    case 1: {
      const v = r() < 0.5 ? edges[Math.floor(r() * edges.length)]! : BigInt(Math.floor(r() * 2 ** 20));
      return { bytes: head(0, v, widthFor(v)), flat: true };
    }
    case 2: {
      const v = r() < 0.5 ? edges[Math.floor(r() * edges.length)]! : BigInt(Math.floor(r() * 2 ** 20));
      return { bytes: head(1, v, widthFor(v)), flat: true };
    }
    case 3:
      return { bytes: [r() < 0.5 ? 0xf4 : 0xf5], flat: true };
    case 4:
      return { bytes: [0xf6], flat: true };
    case 5: {
      const n = Math.floor(r() * (r() < 0.8 ? 40 : 600));
      const data = Array.from({ length: n }, () => Math.floor(r() * 256));
      const w = widthFor(BigInt(n));
      // cbor-x refuses 8-byte lengths; the fast path leaves them to it.
      return { bytes: [...head(2, BigInt(n), w), ...data], flat: w !== 8 };
    }
    case 6: {
      const s = Buffer.from(Array.from({ length: Math.floor(r() * 30) }, () => String.fromCharCode(32 + Math.floor(r() * 95))).join(''));
      return { bytes: [...head(3, BigInt(s.length)), ...s], flat: true };
    }
    case 7: {
      const s = Buffer.from(`é${'x'.repeat(Math.floor(r() * 5))}😀`);
      return { bytes: [...head(3, BigInt(s.length)), ...s], flat: false };
    }
    case 8: // float64
      return { bytes: [0xfb, ...Buffer.from(new Float64Array([r() * 1000]).buffer).reverse()], flat: false };
    case 9: // nested map
      return { bytes: [0xa1, 0x61, 0x78, 0x01], flat: false };
    case 10: // array
      return { bytes: [0x82, 0x01, 0x02], flat: false };
    case 11: // undefined
      return { bytes: [0xf7], flat: false };
    default: // a tag
      return { bytes: [0xc1, 0x01], flat: false };
  }
}

function key(r: () => number, used: string[]): Gen {
  const x = r();
  let s: string;
  let flat = true;
  if (x < 0.15 && used.length > 0) s = used[Math.floor(r() * used.length)]!; // repeated key
  else if (x < 0.18) s = '__proto__';
  else if (x < 0.21) {
    s = 'ké';
    flat = false;
  } else s = ['off', 'rc', 'len', 'data', 'match', 'sha', 'image', 'err', 'group', 'r', ''][Math.floor(r() * 11)]! + (r() < 0.3 ? String(Math.floor(r() * 9)) : '');
  if (s === '__proto__') flat = false;
  used.push(s);
  const b = Buffer.from(s);
  return { bytes: [...head(3, BigInt(b.length)), ...b], flat };
}

function map(r: () => number): Gen {
  const n = Math.floor(r() * 8);
  const indefinite = r() < 0.5;
  const out: number[] = indefinite ? [0xbf] : head(5, BigInt(n), r() < 0.2 ? 1 : undefined);
  let flat = true;
  const used: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = key(r, used);
    const v = value(r);
    out.push(...k.bytes, ...v.bytes);
    flat &&= k.flat && v.flat;
  }
  if (indefinite) out.push(0xff);
  return { bytes: out, flat };
}

function general(b: Buffer): { ok: true; v: unknown } | { ok: false } {
  try {
    return { ok: true, v: decodeCbor(b) };
  } catch {
    return { ok: false };
  }
}

test('the fast path answers exactly as cbor-x, or leaves the bytes to it (random maps, mutated)', () => {
  const r = rng(0x5eed);
  let fastTaken = 0;
  let flatSeen = 0;
  for (let i = 0; i < 20000; i++) {
    const g = map(r);
    let b = Buffer.from(g.bytes);
    let mutated = false;
    const m = r();
    if (m < 0.1 && b.length > 1) {
      b = b.subarray(0, Math.floor(r() * b.length));
      mutated = true;
    } else if (m < 0.15) {
      b = Buffer.concat([b, Buffer.from([Math.floor(r() * 256)])]);
      mutated = true;
    }
    const fast = decodeFlatMap(b);
    const gen = general(b);
    if (fast !== undefined) {
      fastTaken++;
      assert.ok(gen.ok, `fast path decoded what cbor-x refuses: ${b.toString('hex')}`);
      assert.deepStrictEqual(fast, gen.v, b.toString('hex'));
    }
    if (g.flat && !mutated) {
      flatSeen++;
      assert.notEqual(fast, undefined, `a flat map the fast path should take: ${b.toString('hex')}`);
    }
  }
  assert.ok(fastTaken > 3000 && flatSeen > 3000, `${fastTaken} fast, ${flatSeen} flat`);
});

test('answers a transfer gets, as Zephyr and MCUboot encode them; everything else still decodes', () => {
  // zcbor: indefinite map {"off": 4096}
  const z = Buffer.from('bf636f666619 1000ff'.replace(/ /g, ''), 'hex');
  assert.deepStrictEqual(decodeFlatMap(z), { off: 4096 });
  // {"rc": 0, "off": 512, "match": true}
  const m = Buffer.from('a362726300636f666619020065 6d61746368f5'.replace(/ /g, ''), 'hex');
  assert.deepStrictEqual(decodeFlatMap(m), { rc: 0, off: 512, match: true });
  // {"off": 0, "data": h'0102'}: the bytes are a view of the answer, as cbor-x gives them
  const d = Buffer.from('a2636f66660064646174614201 02'.replace(/ /g, ''), 'hex');
  const dd = decodeFlatMap(d)!;
  assert.deepStrictEqual(dd, { off: 0, data: Buffer.from([1, 2]) });
  assert.equal((dd.data as Buffer).buffer, d.buffer);
  // A nested answer (an error map) takes the general path through decodeCborMap.
  const e = Buffer.from('a163657272a26567726f7570016272630a', 'hex');
  assert.equal(decodeFlatMap(e), undefined);
  assert.deepStrictEqual(decodeCborMap(e), { err: { group: 1, rc: 10 } });
  // The edges of exact integers: 2^53 − 1 a number, beyond a BigInt, as cbor-x normalised.
  assert.deepStrictEqual(decodeFlatMap(Buffer.from('a1616e1b001fffffffffffff', 'hex')), { n: 2 ** 53 - 1 });
  assert.deepStrictEqual(decodeFlatMap(Buffer.from('a1616e1b0020000000000000', 'hex')), { n: 2n ** 53n });
  assert.deepStrictEqual(decodeFlatMap(Buffer.from('a1616e3b001ffffffffffffe', 'hex')), { n: -(2 ** 53 - 1) });
  assert.deepStrictEqual(decodeFlatMap(Buffer.from('a1616e3b001fffffffffffff', 'hex')), { n: -(2n ** 53n) });
});
