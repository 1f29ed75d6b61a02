/**
 * What a new user trips on (issue #18), each through the `mcumgr` entry point where it is a CLI
 * matter: errors that name the command and the fix, Ctrl-C with --json, names in
 * `enum details --json`, and honest transfer figures (already in slot, resumed at offset N,
 * rates over the bytes sent) in the library, the CLI and the bulk flasher.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from '../src/image/index.js';
import { MCUmgrClient } from '../src/client.js';
import { bulkFlash, BulkProgressTally, type BulkProgressEvent } from '../src/bulk/index.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { SmpDeviceError, AbortError, McuMgrError } from '../src/errors.js';
import { explainError } from '../src/cli/hints.js';
import { barLabels } from '../src/cli/labels.js';
import { oneJson, runCli, spawnCli, tempDir } from './cli-util.js';

const dir = tempDir();
function image(name: string, size: number): string {
  const file = join(dir, name);
  writeFileSync(file, buildImage({ size, version: '1.2.3', seed: 7 }));
  return file;
}

async function withSim<T>(opts: Parameters<typeof startSimulator>[0], fn: (s: Simulator) => Promise<T>): Promise<T> {
  const s = await startSimulator(opts);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

// Each CLI run spends most of its time starting up and waiting on its device: two at a time (two cores).
describe('errors that name the fix (through the mcumgr entry point)', { concurrency: 2 }, () => {
  test('a device that never answers: the timeout names the command typed and what to check', async () => {
    await withSim({ transport: 'pty', faults: { toDevice: { drop: 1 } }, seed: 1 }, async (s) => {
      const r = await runCli(['-c', s.connection, '--timeout', '300', 'os', 'echo', 'hi']);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /no answer to "os echo" from serial:\S+ within 300 ms/);
      assert.match(r.stderr, /the first request, os mcumgr params, got no answer/);
      for (const word of [/mcumgr list/, /baud/, /--encoding console/, /runs MCUmgr on that UART/]) assert.match(r.stderr, word);
      const j = oneJson(await runCli(['-c', s.connection, '--timeout', '300', 'os', 'echo', 'hi', '--json']));
      assert.equal(j.error.code, 'SMP_ERR_TIMEOUT');
      assert.match(j.error.message, /^no answer to "os echo"/);
    });
  });

  test('serial:/dev/ttyNOPE: a usage error that lists the ports present and suggests mcumgr list', async () => {
    const r = await runCli(['-c', 'serial:/dev/ttyNOPE', 'os', 'echo', 'hi']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /no serial port \/dev\/ttyNOPE: ports present: .+; "mcumgr list" shows them/);
  });

  test('--window 4 over raw SMP prints a notice (one request in flight) instead of ignoring it', async () => {
    await withSim({ transport: 'pty', encoding: 'raw', baudRate: 1_000_000, seed: 1 }, async (s) => {
      const r = await runCli(['-c', s.connection, '--window', '4', 'os', 'echo', 'raw']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'raw');
      assert.match(r.stderr, /--window 4 does not apply over raw SMP: raw frames have no CRC and no resync/);
    });
  });

  test('an image larger than the slot is refused before the upload, with both sizes', async () => {
    const big = image('too-big.bin', 300_000);
    await withSim({ transport: 'udp', seed: 1 }, async (s) => {
      const j = oneJson(await runCli(['-c', s.connection, 'image', 'upload', big, '--json']));
      assert.equal(j.error.code, 'IMAGE_ERR_TOO_LARGE');
      assert.match(j.error.message, /the image is 293\.0 KiB \(300072 bytes\) but slot 1 of image 0 is 256\.0 KiB \(262144 bytes\)/);
      const c = await MCUmgrClient.connect(s.connection);
      try {
        assert.deepEqual((await c.image.state()).map((x) => x.slot), [0], 'nothing was written to slot 1');
      } finally {
        await c.close();
      }
    });
  });

  test('firmwareUpdate (and so mcumgr flash and bulk) refuses it too, before the upload; checkSlotSize: false leaves it to the device', async () => {
    const big = image('too-big-flash.bin', 300_000);
    await withSim({ transport: 'udp', seed: 1 }, async (s) => {
      const j = oneJson(await runCli(['-c', s.connection, 'flash', big, '--json']));
      assert.equal(j.error.code, 'IMAGE_ERR_TOO_LARGE');
      assert.match(j.error.message, /but slot 1 of image 0 is 256\.0 KiB \(262144 bytes\): nothing was uploaded/);
      const c = await MCUmgrClient.connect(s.connection);
      try {
        const steps: string[] = [];
        await assert.rejects(
          c.firmwareUpdate(big, { onStep: (st) => steps.push(st) }),
          (e: unknown) => e instanceof McuMgrError && e.code === 'IMAGE_ERR_TOO_LARGE',
        );
        assert.deepEqual(steps, ['validate', 'check'], 'refused in the check step, no upload started');
        assert.deepEqual((await c.image.state()).map((x) => x.slot), [0], 'nothing was written to slot 1');
        // Without the check the device's own one answers at the first chunk (img_mgmt: image too large).
        await assert.rejects(c.firmwareUpdate(big, { checkSlotSize: false }), (e: unknown) => e instanceof McuMgrError && e.code !== 'IMAGE_ERR_TOO_LARGE');
      } finally {
        await c.close();
      }
    });
  });

  test('fs upload to a device whose file system fills up: it stops at the first failed write and says why (CLI)', async () => {
    const file = join(dir, 'big.bin');
    writeFileSync(file, Buffer.alloc(200_000, 0x5a));
    await withSim({ transport: 'udp', seed: 1, device: { fsSize: 64 * 1024 } }, async (s) => {
      const r = await runCli(['-c', s.connection, 'fs', 'upload', file, '/lfs/big.bin']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /FS_MGMT_ERR_FILE_WRITE_FAILED/);
      assert.match(r.stderr, /could not write the file at offset \d+ of 200000, most often because its file system is full/);
      const at = Number(/at offset (\d+) of/.exec(r.stderr)![1]);
      assert.ok(at <= 64 * 1024, `stopped at the limit, not after it (${at})`);
    });
  });

  test('os datetime on a clock never set suggests "os datetime set now", which works', async () => {
    const r = await runCli(['-c', 'sim', 'os', 'datetime']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /OS_MGMT_ERR_RTC_NOT_SET.*clock has not been set.*"mcumgr os datetime set now"/);
    const b = await runCli(['-c', 'sim', 'batch', '-', '--json'], { input: 'os datetime set now\nos datetime\n' });
    assert.equal(b.code, 0, b.stdout + b.stderr);
    assert.match(oneJson(b).results[1].result.datetime, /^\d{4}-\d\d-\d\dT/);
  });

  test('SETTINGS_MGMT_ERR_ROOT_KEY_NOT_FOUND explains what a root key is', async () => {
    const j = oneJson(await runCli(['-c', 'sim', 'settings', 'read', 'nosuch/name', '--json']));
    assert.equal(j.error.rcName, 'SETTINGS_MGMT_ERR_ROOT_KEY_NOT_FOUND');
    assert.match(j.error.message, /root key, the part before the first "\/" \(e\.g\. "bt" in "bt\/name"\)/);
  });

  test('Ctrl-C during a --json upload: one JSON document saying what was done, exit 130', async () => {
    const file = image('interrupted.bin', 250_000);
    const child = spawnCli(['-c', 'sim', '-vv', 'image', 'upload', file, '--json']);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stderr!.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (/debug: upload: [1-9]\d*\/250072 bytes/.test(stderr)) resolve(); // upload under way
      });
      void closed.then(() => resolve());
    });
    child.kill('SIGINT');
    assert.equal(await closed, 130, stderr);
    const lines = stdout.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, stdout);
    const j = JSON.parse(lines[0]!);
    assert.equal(j.error.code, 'CLI_INTERRUPTED');
    assert.equal(j.error.signal, 'SIGINT');
    assert.equal(j.error.done.command, 'image upload');
    assert.ok(j.error.done.progress.done > 0 && j.error.done.progress.done < 250_072, JSON.stringify(j));
    assert.match(j.error.message, /interrupted by SIGINT during "image upload" on sim: upload had .+ confirmed; nothing was marked for boot/);
  });

  test('enum details --json names every group the text output names', async () => {
    const j = oneJson(await runCli(['-c', 'sim', 'enum', 'details', '--json']));
    const text = await runCli(['-c', 'sim', 'enum', 'details']);
    for (const g of j.groups as { group: number; name: string; nameFrom: string }[]) {
      assert.notEqual(g.name, '', `group ${g.group} has a name`);
      assert.match(text.stdout, new RegExp(`^${g.group}\\s+${g.name}\\s`, 'm'));
      assert.ok(g.nameFrom === 'device' || g.nameFrom === 'client');
    }
    assert.ok(j.groups.some((g: { nameFrom: string }) => g.nameFrom === 'client'), 'the simulated device leaves some names empty');
  });
});

describe('honest transfer figures', { concurrency: 2 }, () => {
  test('an image already in the slot: "already in slot", the bytes sent, a rate over those bytes (CLI)', async () => {
    const file = image('twice.bin', 20_000);
    const j = oneJson(await runCli(['-c', 'sim', 'batch', '-', '--json'], { input: `image upload ${file}\nimage upload ${file}\n` }));
    const [first, second] = j.results.map((x: { result: Record<string, number | boolean> }) => x.result);
    assert.equal(first.sent, first.bytes);
    assert.equal(first.alreadyComplete, undefined);
    assert.equal(second.alreadyComplete, true);
    assert.ok(second.sent > 0 && (second.sent as number) < (second.bytes as number) / 4, `only the first chunk crossed the link: ${second.sent}`);
    assert.ok(Math.abs((second.throughput as number) - (second.sent as number) / (second.seconds as number)) < 1e-6 * (second.throughput as number) + 1e-9);
    const text = await runCli(['-c', 'sim', 'batch', '-'], { input: `image upload ${file}\nimage upload ${file}\n` });
    assert.match(text.stdout, /^uploaded 19\.6 KiB in /m);
    assert.match(text.stdout, /^already in slot: sent \d+ B of 19\.6 KiB in /m);
  });

  test('an interrupted upload resumed by sha: resumedAt, only the rest sent (library)', async () => {
    await withSim({ transport: 'memory', seed: 1 }, async (s) => {
      const client = MCUmgrClient.fromTransport(s.transport as never);
      try {
        const img = buildImage({ size: 60_000, version: '3.0.0', seed: 5 });
        const ac = new AbortController();
        await assert.rejects(
          client.image.upload(img, { signal: ac.signal, onProgress: (p) => p.done > 20_000 && ac.abort() }),
          (e: unknown) => e instanceof AbortError,
        );
        const r = await client.image.upload(img);
        assert.ok(r.resumedAt !== undefined && r.resumedAt > 20_000, `resumed at ${r.resumedAt}`);
        assert.equal(r.bytes, img.length);
        assert.ok(r.sent < img.length - 20_000 + 1024, `sent ${r.sent} of ${img.length}`);
        assert.equal(r.match, true);
      } finally {
        await client.close();
      }
    });
  });

  test('bulk results: already in slot and the bytes sent, per device', async () => {
    await withSim({ transport: 'udp', seed: 1 }, async (s) => {
      const img = buildImage({ size: 12_000, version: '1.0.1', seed: 2 });
      const first = await bulkFlash([s.connection], img, { job: 'upload', threads: 1 });
      const second = await bulkFlash([s.connection], img, { job: 'upload', threads: 1 });
      assert.ok(first.ok && second.ok, JSON.stringify([first.devices[0]?.error?.message, second.devices[0]?.error?.message]));
      assert.equal(first.devices[0]!.sent, img.length);
      assert.equal(first.devices[0]!.alreadyInSlot, undefined);
      assert.equal(second.devices[0]!.alreadyInSlot, true);
      assert.ok(second.devices[0]!.sent! < img.length / 4, `only the first chunk crossed the link: ${second.devices[0]!.sent}`);
    });
  });

  test('the TOTAL rate after the last upload is the aggregate over the run, not 0', () => {
    const tally = new BulkProgressTally(2);
    const ev = (index: number, bytes: number, at: number, state: BulkProgressEvent['state'] = 'running'): BulkProgressEvent => ({
      index, target: `t${index}`, name: `t${index}`, state, step: state === 'ok' ? 'done' : 'upload', bytes, total: 10_000,
      rate: state === 'ok' ? 0 : 5000, window: 1, rewinds: 0, timeouts: 0, attempt: 1, at,
    });
    tally.update(ev(0, 200, 1000));
    tally.update(ev(1, 4000, 1000)); // resumed: it already held 4000 bytes
    tally.update(ev(0, 10_000, 3000));
    tally.update(ev(1, 10_000, 3000));
    tally.update(ev(0, 10_000, 5000, 'ok'));
    tally.update(ev(1, 10_000, 5000, 'ok'));
    const t = tally.totals();
    assert.equal(t.rate, 0);
    assert.equal(t.averageRate, (9800 + 6000) / 2); // bytes sent in this run over the 2 s of uploading
  });

  test('bar labels tell devices apart by port, not by the end of the connection string', () => {
    const labels = barLabels(['serial:/dev/ttyACM0?baud=115200&encoding=console', 'serial:/dev/ttyACM1?baud=115200&encoding=console', 'udp:10.0.0.7', 'line 3']);
    assert.deepEqual(labels.map((l) => l.trim()), ['/dev/ttyACM0', '/dev/ttyACM1', '10.0.0.7:1337', 'line 3']);
    assert.equal(new Set(labels.map((l) => l.length)).size, 1, 'one width');
    const long = barLabels(['serial:/dev/serial/by-id/usb-ZEPHYR_Board_0123456789ABCDEF-if00'])[0]!;
    assert.equal(long.length, 24);
    assert.match(long, /^\/dev\/serial.*….*-if00$/);
  });

  test('a device whose file system is full: the fs write failure says so, and that free space cannot be asked', () => {
    const e = new SmpDeviceError({ group: 8, command: 0, rc: 10, style: 'err', rcName: 'FS_MGMT_ERR_FILE_WRITE_FAILED' });
    const m = (explainError(e, { command: 'fs upload', progress: { done: 4096, total: 8192 } }) as Error).message;
    assert.match(m, /could not write the file at offset 4096 of 8192, most often because its file system is full/);
    assert.match(m, /no command that reports free space/);
  });
});
