/**
 * Console wire bytes cut into lines, so output faults hit whole lines.
 * @module
 */

const LF = 0x0a;

/** Splits console wire bytes into lines (each ending with its LF). */
export function splitLines(wire: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let s = 0;
  for (let i = 0; i < wire.length; i++) {
    if (wire[i] === LF) {
      out.push(wire.subarray(s, i + 1));
      s = i + 1;
    }
  }
  if (s < wire.length) out.push(wire.subarray(s));
  return out;
}
