/**
 * Structured clone turns Buffers into plain Uint8Arrays; this turns them back (as views, no copy)
 * so that what the main thread parsed can be used as is in a worker.
 * @module
 */

/** Returns `v` with every Uint8Array inside it replaced by a Buffer view on the same bytes. */
export function reviveBuffers<T>(v: T, depth = 0): T {
  if (depth > 16) return v;
  if (v instanceof Uint8Array) return (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)) as T;
  if (Array.isArray(v)) return v.map((x) => reviveBuffers(x, depth + 1)) as T;
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = reviveBuffers(x, depth + 1);
    return out as T;
  }
  return v;
}
