/**
 * File upload (group 8, command 0 WRITE) on the pipelined engine (PROTOCOL.md §3.5).
 * Zephyr answers an out-of-place chunk with `err {8, 11}` plus `len` = the offset it expects,
 * and closes its file context; the next chunk at that offset reopens and appends. The engine
 * treats that answer as a rewind. A v1 device only says rc 1, so the offset is read back with
 * a status request.
 * @module
 */
import { Op } from '../codec/header.js';
import { FsCmd, Group } from '../protocol/ids.js';
import { SmpResponseError } from '../errors.js';
import { openSource } from './source.js';
import { runPipelinedUpload } from './window.js';
import { readOff } from './image-upload.js';
import type { TransferContext, TransferOptions, TransferResult, UploadSource } from './types.js';

/** FS_MGMT_ERR_FILE_OFFSET_NOT_VALID */
const FILE_OFFSET_NOT_VALID = 11;

/** Checks a device file name before anything is sent. */
export function checkDeviceFileName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('name must be a non-empty path on the device, e.g. "/lfs/data.bin"');
  if (Buffer.byteLength(name) > 255) throw new RangeError(`name is ${Buffer.byteLength(name)} bytes; device paths are short (Zephyr default limit 64)`);
  return name;
}

/**
 * Uploads a file to the device's file system with a window of requests in flight.
 * @example
 * await uploadFile(client.transferContext(), '/lfs/config.json', Buffer.from('{}'));
 */
export async function uploadFile(ctx: TransferContext, name: string, source: UploadSource, opts: TransferOptions = {}): Promise<TransferResult> {
  checkDeviceFileName(name);
  const src = await openSource(source, 'file');
  try {
    return await runPipelinedUpload(
      {
        source: src,
        maxRequest: ctx.maxRequest,
        bufCount: ctx.bufCount,
        firstTimeoutMs: opts.timeoutMs ?? ctx.session.timeoutMs,
        alignment: 1,
        defaultMaxWindow: 2,
        fields: (off, first) => (first ? { name, off: 0, len: src.size } : { name, off }),
        send: (body, timeoutMs, signal) => ctx.session.request(Op.WRITE, Group.FS, FsCmd.FILE, body, { timeoutMs, signal, rawErrors: true }),
        offsetOf: (rsp) => {
          const err = rsp.body.err as { group?: unknown; rc?: unknown } | undefined;
          if (err && err.group === Group.FS && err.rc === FILE_OFFSET_NOT_VALID) {
            const len = rsp.body.len;
            return typeof len === 'number' && Number.isInteger(len) && len >= 0 ? len : undefined;
          }
          if (rsp.header.version === 0 && rsp.body.rc === 1) return undefined; // v1: ask with status
          return readOff(rsp, Group.FS, FsCmd.FILE);
        },
        recover: async () => {
          const rsp = await ctx.session.request(Op.READ, Group.FS, FsCmd.STATUS, { name }, { retries: 2 });
          const len = rsp.body.len;
          if (typeof len !== 'number') throw new SmpResponseError('fs status answer has no "len"');
          return len;
        },
      },
      opts,
    );
  } finally {
    await src.close();
  }
}
