/**
 * The API docs build without a warning (issue #18): every type a public signature names is
 * exported and documented. Runs typedoc without writing files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('npm run docs: typedoc finds nothing to warn about', { timeout: 120_000 }, async () => {
  const bin = fileURLToPath(new URL('../node_modules/typedoc/bin/typedoc', import.meta.url));
  const r = await promisify(execFile)(process.execPath, [bin, '--emit', 'none'], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } }).catch(
    (e: { stdout?: string; stderr?: string; code?: number }) => ({ stdout: e.stdout ?? '', stderr: `${e.stderr ?? ''} (exit ${e.code})` }),
  );
  const out = `${r.stdout}${r.stderr}`;
  assert.doesNotMatch(out, /\[warning\]|\[error\]|Found [1-9]\d* (errors|warnings)|and [1-9]\d* warnings/, out);
});
