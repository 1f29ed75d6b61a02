/**
 * The one-line summary of a finished upload, honest about what crossed the link: an image the
 * device already held ("already in slot"), an upload resumed at the device's offset, and rates
 * over the bytes actually sent, never over the whole image.
 * @module
 */
import type { TransferResult } from '../transfer/types.js';
import { fmtBytes, fmtRate } from './output.js';

/** What the device held before this run, in words ('' when the upload started at 0). */
export function skippedText(r: Pick<TransferResult, 'bytes' | 'resumedAt' | 'alreadyComplete'>, where = 'in slot'): string {
  if (r.alreadyComplete) return `already ${where}`;
  if (r.resumedAt !== undefined) return `resumed at offset ${r.resumedAt}`;
  return '';
}

/**
 * `uploaded 96.0 KiB in 13.20 s (7.3 KiB/s, window up to 3)`, or
 * `already in slot: sent 300 B of 96.0 KiB in 0.08 s (3.6 KiB/s)`, or
 * `resumed at offset 40960: sent 56.0 KiB of 96.0 KiB in …`.
 */
export function uploadSummary(r: TransferResult, where = 'in slot'): string {
  const extra = `${r.maxWindowUsed > 1 ? `, window up to ${r.maxWindowUsed}` : ''}${r.rewinds ? `, ${r.rewinds} rewinds` : ''}${r.timeouts ? `, ${r.timeouts} timeouts` : ''}`;
  const how = `in ${r.seconds.toFixed(2)} s (${fmtRate(r.throughput)}${extra})`;
  const skipped = skippedText(r, where);
  if (skipped === '') return `uploaded ${fmtBytes(r.bytes)}${r.sent > r.bytes ? ` (${r.sent} bytes sent, resends included)` : ''} ${how}`;
  return `${skipped !== '' ? `${skipped}: ` : ''}sent ${fmtBytes(r.sent)} of ${fmtBytes(r.bytes)} ${how}`;
}
