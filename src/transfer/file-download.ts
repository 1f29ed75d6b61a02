/**
 * File download (group 8, command 0 READ) with several reads in flight (PROTOCOL.md §3.5).
 * Reads are idempotent, so a lost request or answer is simply asked again. The first answer
 * gives the file size and the device's chunk size; the other reads then go out W at a time and
 * are placed by the offset each answer echoes.
 * @module
 */
import { Op } from '../codec/header.js';
import { FsCmd, Group } from '../protocol/ids.js';
import { AbortError, SmpResponseError, SmpTimeoutError } from '../errors.js';
import type { SmpResponse } from '../session.js';
import { checkDeviceFileName } from './file-upload.js';
import { fileDownloadData, fileDownloadRequest } from '../groups/fs.js';
import { resolveWindow } from './window-size.js';
import { createHash } from 'node:crypto';
import { closeDeviceFile, crc32Of, verifyDeviceFile, type FsVerification } from './fs-verify.js';
import type { TransferContext, TransferOptions, TransferProgress, TransferResult } from './types.js';
import { nextTransferId, progressObserved, publishTransferProgress } from './diagnostics.js';

/** Options of {@link downloadFile}. */
export interface DownloadOptions extends Omit<TransferOptions, 'chunkSize' | 'alignment'> {
  /** Largest file accepted, checked against the size the device announces. Default 64 MiB. */
  maxSize?: number;
  /** Afterwards, compare the device's hash of the file with the bytes received (as for upload). Default true. */
  verify?: boolean;
}

/** Result of a download. */
export interface DownloadResult extends TransferResult {
  data: Buffer;
  /** How the bytes were checked against the device's own hash (`undefined` with `verify: false`). */
  verified: FsVerification | undefined;
}

/** Options of `client.fs.download`: those of {@link downloadFile}. */
export type FileDownloadOptions = DownloadOptions;
/** What `client.fs.download` resolves with. */
export type FileDownloadResult = DownloadResult;

/**
 * Downloads a file from the device's file system.
 * @example
 * const { data } = await downloadFile(client.transferContext(), '/lfs/log.txt');
 */
export async function downloadFile(ctx: TransferContext, name: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  checkDeviceFileName(name);
  const maxSize = opts.maxSize ?? 64 * 1024 * 1024;
  if (!Number.isSafeInteger(maxSize) || maxSize < 0) throw new RangeError(`maxSize must be a non-negative integer number of bytes, got ${String(opts.maxSize)}`);
  // Never more reads waiting than the device has buffers for (buf_count − 1), and one when unknown.
  const { fixedWindow, maxWindow: ceiling0 } = resolveWindow(opts, ctx.bufCount, ctx.encoding);
  const maxTimeouts = opts.maxTimeouts ?? 5;
  const signal = opts.signal;
  const started = performance.now();

  const read = (off: number): Promise<SmpResponse> =>
    ctx.session.request(Op.READ, Group.FS, FsCmd.FILE, fileDownloadRequest(name, off), { timeoutMs: opts.timeoutMs, signal });
  const checkAbort = (): void => {
    if (signal?.aborted) throw new AbortError('the download was aborted', { cause: signal.reason });
  };

  // A download of a path still open for download would reuse the stale size: start clean.
  await closeDeviceFile(ctx.session, opts.timeoutMs);
  let timeouts = 0;
  let consecutive = 0;
  let first: SmpResponse | undefined;
  while (!first) {
    checkAbort();
    try {
      first = await read(0);
    } catch (e) {
      if (!(e instanceof SmpTimeoutError) || ++consecutive > maxTimeouts) throw e;
      timeouts++;
    }
  }
  const total = first.body.len;
  if (typeof total !== 'number' || !Number.isInteger(total) || total < 0) {
    throw new SmpResponseError('the first download answer has no valid "len" (file size)');
  }
  if (total > maxSize) throw new RangeError(`${name} is ${total} bytes, more than maxSize ${maxSize}; raise maxSize to download it`);
  const out = Buffer.alloc(total);
  const firstData = fileDownloadData(first.body, 0, total);
  firstData.copy(out, 0);
  const chunk = firstData.length;
  if (chunk === 0 && total > 0) throw new SmpResponseError('the device sent no data for a non-empty file');

  // Offsets still to fetch, in order; answers shorter than asked re-queue their remainder.
  const todo: number[] = [];
  for (let off = chunk; off < total; off += chunk) todo.push(off);
  let done = firstData.length;
  let received = firstData.length; // every data byte that came over the link, repeats included
  let window = fixedWindow ?? 1;
  let ceiling = fixedWindow ?? ceiling0;
  let maxWindowUsed = 1;
  const inflight = new Map<number, Promise<{ off: number; rsp?: SmpResponse; err?: unknown }>>();
  const transferId = nextTransferId();
  const report = (): void => {
    if (!opts.onProgress && !progressObserved()) return;
    const secs = (performance.now() - started) / 1000;
    const p: TransferProgress = { done, total, rate: secs > 0 ? done / secs : 0, window, rewinds: 0, timeouts };
    opts.onProgress?.(p);
    publishTransferProgress(transferId, 'download', p);
  };
  report();

  while (todo.length > 0 || inflight.size > 0) {
    checkAbort();
    while (inflight.size < window && todo.length > 0) {
      const off = todo.shift()!;
      inflight.set(
        off,
        read(off).then(
          (rsp) => ({ off, rsp }),
          (err: unknown) => ({ off, err }),
        ),
      );
    }
    maxWindowUsed = Math.max(maxWindowUsed, inflight.size);
    const r = await Promise.race(inflight.values());
    inflight.delete(r.off);
    if (r.err !== undefined) {
      if (!(r.err instanceof SmpTimeoutError)) throw r.err;
      timeouts++;
      if (++consecutive > maxTimeouts) throw r.err;
      todo.unshift(r.off);
      if (fixedWindow === undefined) {
        if (window > 1) ceiling = Math.max(1, window - 1);
        window = 1;
      }
      continue;
    }
    consecutive = 0;
    const echoed = r.rsp!.body.off;
    if (echoed !== r.off) throw new SmpResponseError(`download answer for offset ${r.off} echoes offset ${String(echoed)}`);
    const data = fileDownloadData(r.rsp!.body, r.off, total);
    received += data.length;
    data.copy(out, r.off);
    done += data.length;
    const want = Math.min(chunk, total - r.off);
    if (data.length < want) {
      if (data.length === 0) throw new SmpResponseError(`the device sent no data at offset ${r.off} of ${total}`);
      todo.unshift(r.off + data.length);
    }
    if (fixedWindow === undefined && window < ceiling) window++;
    report();
  }
  const seconds = (performance.now() - started) / 1000;
  const verified =
    opts.verify === false
      ? undefined
      : await verifyDeviceFile(
          ctx.session,
          name,
          total,
          { sha256: async () => createHash('sha256').update(out).digest(), crc32: async () => crc32Of(out)! },
          opts.timeoutMs,
        );
  return { data: out, bytes: total, sent: received, seconds, throughput: seconds > 0 ? received / seconds : 0, rewinds: 0, timeouts, maxWindowUsed, verified };
}
