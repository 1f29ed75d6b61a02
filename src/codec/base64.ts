/**
 * Strict RFC 4648 base64 (standard alphabet, `=` padding) on bytes. Pure-TS twin of the addon's
 * `base64Encode`/`base64Decode`. Each serial frame's text is decoded on its own (PROTOCOL.md §4.1),
 * so the decoder refuses anything Node's lenient decoder would silently skip: a length that is not
 * a multiple of 4, characters outside the alphabet, padding anywhere but the end.
 * Non-zero bits under the padding are accepted, as Zephyr's decoder does.
 * @module
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ENC = Buffer.from(ALPHABET, 'ascii');
/** 0..63 for alphabet characters, 64 for '=', 255 for anything else. */
const DEC = new Uint8Array(256).fill(255);
for (let i = 0; i < 64; i++) DEC[ALPHABET.charCodeAt(i)] = i;
DEC[0x3d] = 64;

/** Number of base64 characters for `n` raw bytes. */
export function base64Length(n: number): number {
  return Math.ceil(n / 3) * 4;
}

/** Encodes `data` as base64 text (ASCII bytes), padded with `=`. */
export function base64Encode(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(base64Length(data.length));
  base64EncodeInto(data, out, 0);
  return out;
}

/**
 * Encodes `data[start..end)` (default: all of it) into `out` at `offset`; returns the number of
 * characters written. The range spares the caller a view object per call on the hot path.
 */
export function base64EncodeInto(data: Uint8Array, out: Uint8Array, offset: number, start = 0, end = data.length): number {
  let o = offset;
  const n = end;
  let i = start;
  for (; i + 3 <= n; i += 3) {
    const v = (data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!;
    out[o++] = ENC[v >> 18]!;
    out[o++] = ENC[(v >> 12) & 63]!;
    out[o++] = ENC[(v >> 6) & 63]!;
    out[o++] = ENC[v & 63]!;
  }
  const rest = n - i;
  if (rest === 1) {
    const v = data[i]! << 16;
    out[o++] = ENC[v >> 18]!;
    out[o++] = ENC[(v >> 12) & 63]!;
    out[o++] = 0x3d;
    out[o++] = 0x3d;
  } else if (rest === 2) {
    const v = (data[i]! << 16) | (data[i + 1]! << 8);
    out[o++] = ENC[v >> 18]!;
    out[o++] = ENC[(v >> 12) & 63]!;
    out[o++] = ENC[(v >> 6) & 63]!;
    out[o++] = 0x3d;
  }
  return o - offset;
}

/** Decodes strict base64 text. Returns `null` when the text is not valid base64. */
export function base64Decode(text: Uint8Array): Buffer | null {
  const n = text.length;
  if (n % 4 !== 0) return null;
  if (n === 0) return Buffer.alloc(0);
  let pad = 0;
  if (text[n - 1] === 0x3d) pad = text[n - 2] === 0x3d ? 2 : 1;
  const out = Buffer.allocUnsafe((n / 4) * 3 - pad);
  let o = 0;
  const full = pad ? n - 4 : n;
  for (let i = 0; i < full; i += 4) {
    const a = DEC[text[i]!]!, b = DEC[text[i + 1]!]!, c = DEC[text[i + 2]!]!, d = DEC[text[i + 3]!]!;
    if ((a | b | c | d) & 0xc0) return null; // 64 ('=') or 255 (not in alphabet)
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = v >> 16;
    out[o++] = (v >> 8) & 0xff;
    out[o++] = v & 0xff;
  }
  if (pad) {
    const i = n - 4;
    const a = DEC[text[i]!]!, b = DEC[text[i + 1]!]!;
    if ((a | b) & 0xc0) return null;
    if (pad === 1) {
      const c = DEC[text[i + 2]!]!;
      if (c & 0xc0) return null;
      const v = (a << 18) | (b << 12) | (c << 6);
      out[o++] = v >> 16;
      out[o++] = (v >> 8) & 0xff;
    } else {
      out[o++] = ((a << 18) | (b << 12)) >> 16;
    }
  }
  return out;
}
