/**
 * CRC-16/XMODEM (poly 0x1021, init 0, no reflection, no final xor): the CRC of PROTOCOL.md §4.1
 * and §5.5. Pure-TS twin of the addon's `crc16`. Slicing-by-4 tables: each step consumes 4 bytes.
 * @module
 */

const T = buildTables();

function buildTables(): Uint16Array[] {
  const t0 = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t0[i] = c;
  }
  const tables = [t0];
  for (let s = 1; s < 4; s++) {
    const prev = tables[s - 1]!;
    const t = new Uint16Array(256);
    for (let i = 0; i < 256; i++) t[i] = ((prev[i]! << 8) & 0xffff) ^ t0[prev[i]! >> 8]!;
    tables.push(t);
  }
  return tables;
}

/** CRC-16/XMODEM of `data`, continuing from `init` (0 for a fresh CRC). */
export function crc16(data: Uint8Array, init = 0): number {
  const [t0, t1, t2, t3] = T as [Uint16Array, Uint16Array, Uint16Array, Uint16Array];
  let crc = init & 0xffff;
  let i = 0;
  const n = data.length;
  for (; i + 4 <= n; i += 4) {
    const a = (crc >> 8) ^ data[i]!;
    const b = (crc & 0xff) ^ data[i + 1]!;
    crc = t3[a]! ^ t2[b]! ^ t1[data[i + 2]!]! ^ t0[data[i + 3]!]!;
  }
  for (; i < n; i++) crc = ((crc << 8) & 0xffff) ^ t0[(crc >> 8) ^ data[i]!]!;
  return crc;
}
