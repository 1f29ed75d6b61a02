/**
 * How wide a transfer's window may be: the caller's options checked against what the device told
 * (its buffer count) and the link (raw SMP has no resync). Shared by uploads and downloads.
 * @module
 */
import type { TransferOptions } from './types.js';

/** Largest window accepted from a caller. */
export const MAX_WINDOW = 64;

/**
 * The window a transfer may use, from the caller's options and what the device told: checks the
 * options, then caps every window (fixed or auto) at buf_count − 1 (one buffer holds the answer),
 * at 1 when buf_count is unknown (auto), and at 1 over raw SMP (no CRC and no resync: bytes lost
 * inside one request would glue it to the next). Shared by uploads and downloads.
 */
export function resolveWindow(
  opts: Pick<TransferOptions, 'window' | 'maxWindow' | 'maxTimeouts'>,
  bufCount: number | undefined,
  encoding: 'console' | 'raw' | 'cobs' | undefined,
): { fixedWindow: number | undefined; maxWindow: number; rawLink: boolean } {
  const fixed = opts.window === undefined || opts.window === 'auto' ? undefined : opts.window;
  if (fixed !== undefined && (!Number.isInteger(fixed) || fixed < 1 || fixed > MAX_WINDOW)) {
    throw new RangeError(`window must be 'auto' or an integer 1..${MAX_WINDOW}, got ${String(opts.window)}`);
  }
  if (opts.maxWindow !== undefined && (!Number.isInteger(opts.maxWindow) || opts.maxWindow < 1 || opts.maxWindow > MAX_WINDOW)) {
    throw new RangeError(`maxWindow must be an integer 1..${MAX_WINDOW}, got ${opts.maxWindow}`);
  }
  if (opts.maxTimeouts !== undefined && (!Number.isInteger(opts.maxTimeouts) || opts.maxTimeouts < 0)) {
    throw new RangeError(`maxTimeouts must be a non-negative integer, got ${opts.maxTimeouts}`);
  }
  const deviceCap = bufCount !== undefined ? Math.min(MAX_WINDOW, Math.max(1, bufCount - 1)) : undefined;
  const rawLink = encoding === 'raw';
  const maxWindow = rawLink ? 1 : Math.min(opts.maxWindow ?? deviceCap ?? 1, deviceCap ?? MAX_WINDOW);
  const fixedWindow = fixed === undefined ? undefined : rawLink ? 1 : Math.min(fixed, deviceCap ?? MAX_WINDOW);
  return { fixedWindow, maxWindow, rawLink };
}
