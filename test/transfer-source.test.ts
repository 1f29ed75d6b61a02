/**
 * Upload sources read by offset: the streaming SHA-256 of a file (one reused buffer) at every
 * piece boundary, and a file that changes under the upload.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSource, SPOOL_THRESHOLD } from '../src/transfer/source.js';
import { McuMgrError } from '../src/errors.js';

const PIECE = 256 * 1024;

test('a file source hashes to the SHA-256 of its bytes at and around the read-piece size', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mcumgr-src-'));
  try {
    for (const size of [0, 1, PIECE - 1, PIECE, PIECE + 1, 3 * PIECE + 17]) {
      const bytes = randomBytes(size);
      const path = join(dir, `f${size}.bin`);
      await writeFile(path, bytes);
      const src = await openSource(path);
      try {
        assert.equal(src.size, size);
        assert.deepEqual(await src.sha256(), createHash('sha256').update(bytes).digest(), `size ${size}`);
        if (size > 10) assert.deepEqual(await src.read(size - 10, 10), bytes.subarray(size - 10), `tail of ${size}`);
      } finally {
        await src.close();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a file that shrinks after it was opened is a SOURCE_ERR_CHANGED error, for hashing and for reading', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mcumgr-src-'));
  const path = join(dir, 'shrinks.bin');
  try {
    await writeFile(path, randomBytes(PIECE + 100));
    const src = await openSource(path);
    try {
      await truncate(path, 1000);
      await assert.rejects(src.sha256(), (e: unknown) => e instanceof McuMgrError && e.code === 'SOURCE_ERR_CHANGED');
      await assert.rejects(src.read(2000, 100), (e: unknown) => e instanceof McuMgrError && e.code === 'SOURCE_ERR_CHANGED');
    } finally {
      await src.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

async function* pieces(total: number, size: number, reuse: boolean, failAt?: number): AsyncGenerator<Uint8Array> {
  const shared = Buffer.alloc(size);
  for (let off = 0; off < total; off += size) {
    if (failAt !== undefined && off >= failAt) throw new Error('the producer failed');
    const n = Math.min(size, total - off);
    const b = reuse ? shared.subarray(0, n) : Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = ((off + i) * 131) & 0xff;
    yield b;
  }
}

function expected(total: number): Buffer {
  const b = Buffer.alloc(total);
  for (let i = 0; i < total; i++) b[i] = (i * 131) & 0xff;
  return b;
}

async function spoolDirs(): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  return (await readdir(tmpdir())).filter((n) => n.startsWith('mcumgr-upload-'));
}

test('an async iterable over the spool threshold goes to a temporary file, read back exactly, removed on close', async () => {
  const before = await spoolDirs();
  const total = SPOOL_THRESHOLD + 3 * 65536 + 5;
  // A producer that reuses one buffer: the source must copy or write out each chunk at once.
  const src = await openSource(pieces(total, 65536, true));
  const during = await spoolDirs();
  assert.equal(during.length, before.length + 1, 'one spool directory while the upload runs');
  try {
    const want = expected(total);
    assert.equal(src.size, total);
    assert.deepEqual(await src.sha256(), createHash('sha256').update(want).digest());
    assert.deepEqual(await src.read(0, 100), want.subarray(0, 100));
    assert.deepEqual(await src.read(SPOOL_THRESHOLD - 7, 300), want.subarray(SPOOL_THRESHOLD - 7, SPOOL_THRESHOLD + 293));
    assert.deepEqual(await src.read(total - 5, 5), want.subarray(total - 5));
  } finally {
    await src.close();
  }
  assert.deepEqual(await spoolDirs(), before, 'the spool is removed');
});

test('a small async iterable stays in memory (no temporary file), even from a reused buffer', async () => {
  const before = await spoolDirs();
  const src = await openSource(pieces(10_000, 999, true));
  try {
    assert.deepEqual(await spoolDirs(), before);
    assert.deepEqual(await src.read(0, 10_000), expected(10_000));
  } finally {
    await src.close();
  }
});

test('a producer that fails after spooling leaves no temporary file and its error comes through', async () => {
  const before = await spoolDirs();
  await assert.rejects(openSource(pieces(SPOOL_THRESHOLD * 2, 65536, false, SPOOL_THRESHOLD + 65536 * 2)), /the producer failed/);
  assert.deepEqual(await spoolDirs(), before);
});
