/**
 * `mcumgr sim --transport pty --json` in one child process, `mcumgr --conn <printed> …` in
 * another: the simulated device is reached over a real PTY like a board on a serial port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { oneJson, runCli, spawnCli } from './cli-util.js';

test('sim over a PTY: the printed connection string works for another mcumgr', { skip: process.platform === 'win32' }, async () => {
  const sim = spawnCli(['sim', '--transport', 'pty', '--json']);
  let stderr = '';
  sim.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(sim, 'exit');
  try {
    const lines = createInterface({ input: sim.stdout! });
    const first = await Promise.race([
      once(lines, 'line').then(([l]) => l as string),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`sim printed nothing; stderr: ${stderr}`)), 30_000)),
    ]);
    const info = JSON.parse(first);
    assert.equal(info.simulators.length, 1);
    const connection: string = info.simulators[0].connection;
    assert.match(connection, /^serial:\/dev\/.+\?baud=115200&encoding=console$/);
    assert.equal(info.simulators[0].personality, 'zephyr');

    const run = await runCli(['--conn', connection, 'os', 'echo', 'hi', '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(oneJson(run), { text: 'hi' });
  } finally {
    sim.kill('SIGTERM');
  }
  const [code] = await exited;
  assert.equal(code, 0, `sim exits cleanly on SIGTERM; stderr: ${stderr}`);
});
