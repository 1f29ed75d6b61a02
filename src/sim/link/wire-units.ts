/**
 * What the device puts on a serial wire for one packet, cut into the units output faults hit
 * (whole console lines; one raw packet or COBS frame).
 * @module
 */
import { codec } from '../../codec/index.js';
import type { UnitStyle } from '../faults.js';

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

/**
 * One response packet as wire units of a serial `mode`: console lines in the split of the running
 * firmware (Zephyr's 93/90 or MCUboot's plain one), a COBS frame, or the raw packet.
 */
export function wireUnits(mode: 'console' | 'raw' | 'cobs', model: 'zephyr' | 'mcuboot', packet: Buffer): { units: Buffer[]; style: UnitStyle } {
  if (mode === 'console') return { units: splitLines(codec.encodeConsole(packet, model === 'mcuboot' ? 'plain' : 'zephyr')), style: 'line' };
  if (mode === 'cobs') return { units: [codec.encodeCobsFrame(packet)], style: 'cobs' };
  return { units: [Buffer.from(packet)], style: 'raw' };
}
