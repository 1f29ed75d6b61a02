/**
 * `mcumgr sim` flags through the real entry point: `--json-lines` prints one line per device as
 * it is ready, the buffer flags reach the device (`os params`), and `mcumgr flash` against
 * `mcumgr sim --personality mcuboot` completes as on a board: upload in recovery, reset, the
 * application runs the new image.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage, parseImage } from '../src/image/index.js';
import { oneJson, runCli, spawnCli, tempDir } from './cli-util.js';

const skip = process.platform === 'win32';

/** Starts `mcumgr sim …`, returns its first `n` stdout lines and a stop function. */
async function startSim(args: string[], n: number): Promise<{ lines: string[]; stop(): Promise<number | null> }> {
  const sim = spawnCli(['sim', ...args]);
  let stderr = '';
  sim.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(sim, 'exit');
  const rl = createInterface({ input: sim.stdout! });
  const lines: string[] = [];
  await Promise.race([
    new Promise<void>((resolve) =>
      rl.on('line', (l) => {
        lines.push(l);
        if (lines.length === n) resolve();
      }),
    ),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`sim printed ${lines.length} lines; stderr: ${stderr}`)), 30_000)),
  ]);
  return {
    lines,
    async stop() {
      sim.kill('SIGTERM');
      const [code] = await exited;
      return code as number | null;
    },
  };
}

test('sim --json-lines: one line per device; --netbuf-size/--netbuf-count answered by os params', { skip }, async () => {
  const sim = await startSim(['--transport', 'udp', '--count', '2', '--json-lines', '--netbuf-size', '2048', '--netbuf-count', '4'], 2);
  try {
    const devs = sim.lines.map((l) => JSON.parse(l));
    assert.deepEqual(
      devs.map((d) => [d.index, d.personality, d.kind]),
      [
        [0, 'zephyr', 'udp'],
        [1, 'zephyr', 'udp'],
      ],
    );
    const run = await runCli(['--conn', devs[1].connection, 'os', 'params', '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(oneJson(run), { bufSize: 2048, bufCount: 4 });
  } finally {
    assert.equal(await sim.stop(), 0);
  }
});

test('sim --personality mcuboot --wait-for-dfu over a PTY: mcumgr flash uploads in recovery, waits out the DFU wait, and the board boots the new image', { skip }, async () => {
  const dir = tempDir();
  const image = buildImage({ size: 5000, version: '7.8.9', seed: 5 });
  const path = join(dir, 'app.bin');
  writeFileSync(path, image);
  const sim = await startSim(['--personality', 'mcuboot', '--transport', 'pty', '--baud', '1000000', '--no-slot-info', '--no-mcumgr-params', '--wait-for-dfu', '--json-lines'], 1);
  try {
    const dev = JSON.parse(sim.lines[0]!);
    assert.equal(dev.personality, 'mcuboot');
    const run = await runCli(['--conn', dev.connection, 'flash', path, '--json'], { timeoutMs: 60_000 });
    assert.equal(run.code, 0, run.stderr);
    const r = oneJson(run);
    assert.equal(r.ok, true);
    assert.ok(r.steps.some((s: { step: string }) => s.step === 'reconnect'), 'reset and reconnect: the board left recovery');
    const active = r.images.find((s: { slot: number; active?: boolean }) => s.slot === 0 && s.active);
    assert.equal(active.hash, parseImage(image).hash.toString('hex'));
    assert.equal(active.version, '7.8.9');
  } finally {
    assert.equal(await sim.stop(), 0);
  }
});

test('sim: MCUboot flags on a Zephyr device are refused with the fix', { skip }, async () => {
  const run = await runCli(['sim', '--no-echo']);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /MCUboot options: add --personality mcuboot/);
  const wait = await runCli(['sim', '--wait-for-dfu', '300']);
  assert.equal(wait.code, 2, wait.stderr);
  assert.match(wait.stderr, /--wait-for-dfu are MCUboot options/);
  const zero = await runCli(['sim', '--personality', 'mcuboot', '--wait-for-dfu', '0']);
  assert.equal(zero.code, 2, zero.stderr);
  assert.match(zero.stderr, /--wait-for-dfu/);
});
