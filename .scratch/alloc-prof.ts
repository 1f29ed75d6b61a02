import { Session } from 'node:inspector/promises';
import { MCUmgrClient } from '../src/client.js';
import { buildImage } from '../src/image/index.js';
import { spawnSimulatorProcess } from '../src/sim/child.js';
import { uploadImage } from '../src/transfer/index.js';

const encoding = (process.env.ENC ?? 'console') as 'console' | 'raw';
const sim = await spawnSimulatorProcess([{ transport: 'pty', encoding, baudRate: 0, bootMs: 0, limits: { lineBufCount: 1024 }, device: { netbufSize: 2048, netbufCount: 4, requestMs: 0, eraseMsPerPage: 0, writeBytesPerMs: 1e9, readBytesPerMs: 1e9, slotSize: 1 << 20 } }]);
const path = decodeURIComponent(sim.connections[0]!.slice('serial:'.length).split('?')[0]!);
const c = await MCUmgrClient.serial(path, { encoding, timeoutMs: 5000, frameSize: 2048 });
await c.os.echo('warm');
const ctx = c.transferContext();
await uploadImage(ctx, buildImage({ size: 64 * 1024, version: '1.0.0', seed: 1 }), { window: 1, chunkSize: 1024 });
const s = new Session();
s.connect();
await s.post('HeapProfiler.enable');
await s.post('HeapProfiler.startSampling', { samplingInterval: 64, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
const img = buildImage({ size: 192 * 1024, version: '2.0.0', seed: 2 });
await uploadImage(ctx, img, { window: 1, chunkSize: 1024 });
const { profile } = (await s.post('HeapProfiler.stopSampling')) as { profile: { head: Node } };
interface Node { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: Node[] }
const chunks = 192;
const by = new Map<string, number>();
const walk = (n: Node, stack: string[]): void => {
  const f = n.callFrame;
  const name = `${f.functionName || '(anon)'} ${f.url.replace(/.*\/main\//, '')}:${f.lineNumber + 1}`;
  if (n.selfSize) {
    const key = [name, ...stack.slice(-3)].join(' < ');
    by.set(key, (by.get(key) ?? 0) + n.selfSize);
  }
  for (const ch of n.children) walk(ch, [name, ...stack].slice(0, 4));
};
walk(profile.head, []);
const total = [...by.values()].reduce((a, b) => a + b, 0);
console.log('total per chunk', Math.round(total / chunks));
for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(String(Math.round(v / chunks)).padStart(6), k);
await c.close();
await sim.close();
