/**
 * Random-access readers over upload sources. A rewind needs bytes the device already had
 * offered to it, so uploads read by offset: a Buffer is sliced, a file is read with positioned
 * reads (memory bounded by the window, not by the file), an async iterable is gathered first
 * (its size and `sha` are needed before the first chunk): in memory while it is small, then in a
 * temporary file that is removed when the upload ends, up to a cap.
 * @module
 */
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UploadSource } from './types.js';
import { McuMgrError } from '../errors.js';

/** Bytes hashed per read of a file source. */
const HASH_PIECE = 256 * 1024;

/** Largest source gathered from an async iterable (1 GiB: beyond any MCU slot or SMP `len`). */
export const MAX_ITERABLE_SOURCE = 1024 * 1024 * 1024;

/** An async iterable is kept in memory up to this many bytes, then spooled to a temporary file. */
export const SPOOL_THRESHOLD = 4 * 1024 * 1024;

/** A source of bytes by offset. */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Buffer>;
  /** The same bytes as {@link read}, for sources that hold them in memory (no wait, no promise per chunk). */
  readSync?(offset: number, length: number): Buffer;
  /** SHA-256 of the whole source, computed in one streaming pass. */
  sha256(): Promise<Buffer>;
  close(): Promise<void>;
}

class BufferSource implements ByteSource {
  constructor(private readonly buf: Buffer) {}
  get size(): number {
    return this.buf.length;
  }
  async read(offset: number, length: number): Promise<Buffer> {
    return this.readSync(offset, length);
  }
  readSync(offset: number, length: number): Buffer {
    return this.buf.subarray(offset, offset + length);
  }
  async sha256(): Promise<Buffer> {
    return createHash('sha256').update(this.buf).digest();
  }
  async close(): Promise<void> {}
}

class FileSource implements ByteSource {
  constructor(
    private readonly fh: FileHandle,
    private readonly path: string,
    readonly size: number,
    /** Runs after the handle is closed (a spool file removes itself). */
    private readonly cleanup?: () => Promise<void>,
  ) {}
  async read(offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(Math.min(length, this.size - offset));
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await this.fh.read(buf, got, buf.length - got, offset + got);
      if (bytesRead === 0) throw new McuMgrError('SOURCE_ERR_CHANGED', `${this.path} shrank while it was being uploaded; upload a file that is not being written`);
      got += bytesRead;
    }
    return buf;
  }
  async sha256(): Promise<Buffer> {
    // One buffer, reused: a read stream allocates a fresh 64 KiB buffer per read, and a 64 MiB
    // image left ~32 MiB of them for the GC to find (external memory is collected late).
    const h = createHash('sha256');
    const piece = Buffer.allocUnsafe(Math.min(HASH_PIECE, Math.max(1, this.size)));
    for (let off = 0; off < this.size; ) {
      const { bytesRead } = await this.fh.read(piece, 0, Math.min(piece.length, this.size - off), off);
      if (bytesRead === 0) throw new McuMgrError('SOURCE_ERR_CHANGED', `${this.path} shrank while it was being hashed; upload a file that is not being written`);
      h.update(piece.subarray(0, bytesRead));
      off += bytesRead;
    }
    return h.digest();
  }
  async close(): Promise<void> {
    try {
      await this.fh.close();
    } finally {
      await this.cleanup?.();
    }
  }
}

/** Gathers an async iterable: in memory up to {@link SPOOL_THRESHOLD}, beyond it in a temporary file. */
async function gather(source: AsyncIterable<Uint8Array>, what: string): Promise<ByteSource> {
  const parts: Buffer[] = [];
  let n = 0;
  let spool: { dir: string; path: string; fh: FileHandle } | undefined;
  const removeSpool = async (): Promise<void> => {
    if (spool) await rm(spool.dir, { recursive: true, force: true });
  };
  try {
    for await (const chunk of source) {
      if (!(chunk instanceof Uint8Array)) throw new TypeError(`${what}: the async iterable must yield Uint8Array chunks`);
      n += chunk.length;
      if (n > MAX_ITERABLE_SOURCE) throw new RangeError(`${what}: more than ${MAX_ITERABLE_SOURCE} bytes from the async iterable`);
      if (!spool && n > SPOOL_THRESHOLD) {
        const dir = await mkdtemp(join(tmpdir(), 'mcumgr-upload-'));
        const path = join(dir, 'source.bin');
        spool = { dir, path, fh: await open(path, 'w+') };
        for (const p of parts) await spool.fh.appendFile(p);
        parts.length = 0;
      }
      // Copied (or written out) at once: a producer may reuse its buffer for the next chunk.
      if (spool) await spool.fh.appendFile(chunk);
      else parts.push(Buffer.from(chunk));
    }
  } catch (e) {
    await spool?.fh.close().catch(() => undefined);
    await removeSpool();
    throw e;
  }
  if (!spool) return new BufferSource(Buffer.concat(parts, n));
  return new FileSource(spool.fh, `${what} (spooled to ${spool.path})`, n, removeSpool);
}

/** Opens `source` for reading by offset. */
export async function openSource(source: UploadSource, what = 'source'): Promise<ByteSource> {
  if (source instanceof Uint8Array) {
    return new BufferSource(Buffer.isBuffer(source) ? source : Buffer.from(source.buffer, source.byteOffset, source.byteLength));
  }
  if (typeof source === 'string') {
    const fh = await open(source, 'r').catch((e: NodeJS.ErrnoException) => {
      throw new TypeError(`${what}: cannot open file ${source}: ${e.code ?? e.message}`);
    });
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new TypeError(`${what}: ${source} is not a regular file`);
    }
    return new FileSource(fh, source, st.size);
  }
  if (source && typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    return gather(source as AsyncIterable<Uint8Array>, what);
  }
  throw new TypeError(`${what} must be a Buffer/Uint8Array, a file path, or an async iterable of Uint8Array`);
}
