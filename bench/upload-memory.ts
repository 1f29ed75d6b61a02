/**
 * Memory probe for bench/upload.ts: writes a large valid image to a file without holding it,
 * starts a simulated device in another process, then streams the file to it and reports this
 * process's RSS before the upload and at its peak (one JSON line). Run as its own process so
 * that no earlier allocation counts toward the peak.
 *
 *   node --import tsx bench/upload-memory.ts <MiB> <path>
 */
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { spawnSimulatorProcess } from '../src/sim/child.js';
import { MCUmgrClient } from '../src/client.js';
import { uploadImage } from '../src/transfer/index.js';

const mib = Number(process.argv[2] ?? 64);
const path = process.argv[3]!;
const bodySize = mib * 1024 * 1024;

/** Writes header + body + a SHA-256 TLV, one 1 MiB piece at a time. */
async function writeImage(): Promise<void> {
  const header = Buffer.alloc(32);
  header.writeUInt32LE(0x96f3b83d, 0);
  header.writeUInt16LE(32, 8);
  header.writeUInt32LE(bodySize, 12);
  header[20] = 1;
  const hash = createHash('sha256').update(header);
  const fh = await open(path, 'w');
  try {
    await fh.write(header);
    const piece = Buffer.alloc(1024 * 1024);
    for (let off = 0; off < bodySize; off += piece.length) {
      for (let i = 0; i < piece.length; i += 4) piece.writeUInt32LE((off + i) * 2654435761 >>> 0, i);
      hash.update(piece);
      await fh.write(piece);
    }
    const tlv = Buffer.alloc(4 + 4 + 32);
    tlv.writeUInt16LE(0x6907, 0);
    tlv.writeUInt16LE(tlv.length, 2);
    tlv.writeUInt16LE(0x10, 4);
    tlv.writeUInt16LE(32, 6);
    hash.digest().copy(tlv, 8);
    await fh.write(tlv);
  } finally {
    await fh.close();
  }
}

await writeImage();
const sims = await spawnSimulatorProcess({
  count: 1,
  options: { transport: 'udp', device: { netbufSize: 1400, netbufCount: 4, slotSize: bodySize + 2 * 1024 * 1024, writeBytesPerMs: 1e6, eraseMsPerPage: 0 } },
});
const client = await MCUmgrClient.connect(sims.connections[0]!, { timeoutMs: 5000 });
try {
  await client.useAutoFrameSize();
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t0 = performance.now();
  await uploadImage(client.transferContext(), path);
  clearInterval(sample);
  peak = Math.max(peak, process.memoryUsage().rss);
  const seconds = (performance.now() - t0) / 1000;
  (globalThis as { gc?: () => void }).gc?.();
  const after = process.memoryUsage();
  const M = 1024 * 1024;
  console.log(
    JSON.stringify({
      baselineMiB: baseline / M,
      peakMiB: peak / M,
      growthMiB: (peak - baseline) / M,
      afterGcRssMiB: after.rss / M,
      afterGcHeapMiB: after.heapUsed / M,
      afterGcExternalMiB: (after.external + after.arrayBuffers) / M,
      seconds,
    }),
  );
} finally {
  await client.close();
  await sims.close();
}
