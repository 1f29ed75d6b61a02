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
import { openSource } from '../src/transfer/source.js';
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
