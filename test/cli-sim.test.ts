/**
 * The `mcumgr` command against an in-process simulated device (`--conn sim`), run as a child
 * process. A `--conn sim` device lives as long as its process, so commands that depend on each
 * other (upload then list, write then read) run in one `batch`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage, deterministicBytes, parseImage } from '../src/image/index.js';
import { oneJson, runCli, tempDir } from './cli-util.js';

const dir = tempDir();
const imagePath = join(dir, 'app.bin');
const image = buildImage({ size: 6000, version: '1.2.3', seed: 11 });
writeFileSync(imagePath, image);
const imageHash = parseImage(image).hash.toString('hex');
const dataPath = join(dir, 'data.bin');
const data = deterministicBytes(2500, 5);
writeFileSync(dataPath, data);
const backPath = join(dir, 'back.bin');

test('one session: echo, image upload then list, fs round trip, shell, settings, stat, enum, raw', async () => {
  const script = [
    'os echo "hello cli"',
    'os params',
    'image list',
    `image upload ${imagePath}`,
    'image list',
    `fs upload ${dataPath} /lfs/data.bin`,
    `fs download /lfs/data.bin ${backPath}`,
    'fs stat /lfs/data.bin',
    'fs hash /lfs/data.bin --type sha256',
    'shell exec -- kernel version',
    "settings write app/name 'bench one'",
    'settings read app/name',
    'stat list',
    'enum count',
    `raw read os 0 '{"d":"raw hi"}'`,
    'shell exec -- no-such-command',
    'os echo after',
  ].join('\n');
  const run = await runCli(['--conn', 'sim', '--json', 'batch', '--keep-going'], { input: script });
  const doc = oneJson(run);
  assert.equal(run.code, 1, `a failing shell command fails the batch with 1; stderr: ${run.stderr}`);
  assert.equal(doc.ok, false);
  const r = doc.results as Array<{ command: string[]; exit: number; result?: any; error?: any }>;
  assert.equal(r.length, 17);
  const byLine = (i: number) => {
    assert.equal(r[i]!.exit, i === 15 ? 1 : 0, `line ${i + 1} (${r[i]!.command.join(' ')}): ${JSON.stringify(r[i])}`);
    return r[i]!.result;
  };

  assert.deepEqual(byLine(0), { text: 'hello cli' });
  assert.ok(byLine(1).bufSize >= 64 && byLine(1).bufCount >= 1);
  const before = byLine(2).images as Array<{ slot: number; hash: string; active: boolean }>;
  assert.ok(before.some((s) => s.active && /^[0-9a-f]{64}$/.test(s.hash)), 'the running image is listed with its hash');
  assert.ok(!before.some((s) => s.hash === imageHash));

  const up = byLine(3);
  assert.equal(up.hash, imageHash);
  assert.equal(up.bytes, image.length);
  assert.equal(up.version, '1.2.3');
  const after = byLine(4).images as Array<{ slot: number; hash: string; active: boolean; version: string }>;
  const landed = after.find((s) => s.hash === imageHash);
  assert.ok(landed, 'the uploaded image is listed');
  assert.equal(landed.slot, 1);
  assert.equal(landed.active, false);
  assert.equal(landed.version, '1.2.3');

  assert.equal(byLine(5).bytes, data.length);
  assert.equal(byLine(6).bytes, data.length);
  assert.ok(readFileSync(backPath).equals(data), 'fs upload then download gives the same bytes');
  assert.equal(byLine(7).size, data.length);
  assert.equal(byLine(8).type, 'sha256');
  assert.match(byLine(8).output, /^[0-9a-f]{64}$/);

  const sh = byLine(9);
  assert.deepEqual(sh.argv, ['kernel', 'version']);
  assert.equal(sh.ret, 0);
  assert.match(sh.output, /Zephyr version/);

  assert.equal(byLine(10).written, true);
  const st = byLine(11);
  assert.equal(st.text, 'bench one');
  assert.equal(st.value, Buffer.from('bench one').toString('hex'));

  assert.ok(Array.isArray(byLine(12).groups) && byLine(12).groups.length > 0);
  assert.ok(byLine(13).count >= 1);
  assert.deepEqual(byLine(14).body, { r: 'raw hi' });
  assert.equal(byLine(14).header.group, 0);

  // A failing shell command: its output and ret are reported, the line exits 1.
  const bad = byLine(15);
  assert.notEqual(bad.ret, 0);
  assert.equal(typeof bad.output, 'string');
  // --keep-going ran the next line on the same device.
  assert.deepEqual(byLine(16), { text: 'after' });
});

test('single commands print exactly one JSON document; human output by default', async () => {
  const json = await runCli(['--conn', 'sim', 'os', 'echo', 'hi', '--json']);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(oneJson(json), { text: 'hi' });
  assert.equal(json.stderr, '');

  // Human output; "-" reads stdin and writes stdout.
  const script = join(dir, 'human.txt');
  writeFileSync(script, 'image list\nfs upload - /lfs/in.txt\nfs download /lfs/in.txt -\n');
  const human = await runCli(['-c', 'sim', 'batch', script], { input: 'from stdin\n' });
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^image\s+slot\s+version\s+hash\s+flags$/m);
  assert.match(human.stdout, /active confirmed/);
  assert.match(human.stdout, /^\/lfs\/in\.txt: uploaded 11 B/m);
  assert.match(human.stdout, /^from stdin$/m);
});

test('flash: upload, mark for a test boot, reset, verify, confirm; step lines and the final state', async () => {
  const run = await runCli(['--conn', 'sim', 'flash', imagePath, '--json']);
  assert.equal(run.code, 0, run.stderr);
  const doc = oneJson(run);
  assert.equal(doc.ok, true);
  assert.equal(doc.hash, imageHash);
  assert.deepEqual(
    doc.steps.map((s: { step: string }) => s.step),
    ['validate', 'check', 'upload', 'mark', 'reset', 'reconnect', 'verify', 'confirm', 'done'],
  );
  const running = doc.images.find((s: { active: boolean }) => s.active);
  assert.equal(running.hash, imageHash);
  assert.equal(running.confirmed, true);
});

test('image info and list need no device; a corrupted image exits 4', async () => {
  const bad = Buffer.from(image);
  bad[100] = (bad[100] ?? 0) ^ 0xff; // body byte: the hash no longer matches
  const badPath = join(dir, 'bad.bin');
  writeFileSync(badPath, bad);
  const run = await runCli(['--json', 'batch', '--keep-going'], { input: `image info ${imagePath}\nimage info ${badPath}\nlist\n` });
  // batch needs no --conn as long as no line talks to a device
  const r = oneJson(run).results;
  assert.equal(r[0].exit, 0);
  assert.equal(r[0].result.hash, imageHash);
  assert.equal(r[0].result.version, '1.2.3');
  assert.equal(r[0].result.hashVerified, true);
  assert.equal(r[1].exit, 4);
  assert.equal(r[1].error.code, 'IMAGE_ERR_FORMAT');
  assert.equal(r[2].exit, 0, JSON.stringify(r[2]));
  assert.ok(Array.isArray(r[2].result.ports));
  assert.equal(run.code, 4);
});

test('bulk flash on two simulated devices: every device verified, exit 0', async () => {
  const run = await runCli(['--json', 'bulk', 'flash', imagePath, '--conn', 'sim', '--conn', 'sim']);
  assert.equal(run.code, 0, run.stderr);
  const doc = oneJson(run);
  assert.equal(doc.ok, true);
  assert.equal(doc.image.hash, imageHash);
  assert.equal(doc.devices.length, 2);
  for (const d of doc.devices) {
    assert.equal(d.ok, true, JSON.stringify(d));
    assert.equal(d.verified, true);
    assert.equal(d.bytes, image.length);
  }
});

test('the other commands in one session: os, image test/erase/slots, fs hash, stat, settings, enum, storage-erase, bench, reset', async () => {
  const script = [
    'os info a',
    'os bootloader',
    'os bootloader mode',
    'os taskstat',
    'os mpstat',
    'os datetime set 2024-05-06T07:08:09',
    'os datetime',
    'image slots',
    'image erase',
    `image upload ${imagePath}`,
    `image test ${imageHash}`,
    `image confirm ${imageHash}`,
    `fs upload ${dataPath} /lfs/x.bin`,
    'fs hash /lfs/x.bin',
    'fs supported',
    'stat read smp_svr_stats',
    'settings write app/name v',
    'settings delete app/name',
    'settings commit',
    'settings load',
    'settings save',
    'enum list',
    'enum single 1',
    'enum details',
    'storage-erase',
    'bench --size 2048 --frame-sizes 128,384 --windows 1,auto',
    'os reset',
  ];
  const run = await runCli(['--conn', 'sim', '--json', 'batch', '--keep-going'], { input: script.join('\n') });
  const r = oneJson(run).results as Array<{ exit: number; result?: any; error?: any }>;
  assert.equal(r.length, script.length);
  const ok = (i: number) => {
    assert.equal(r[i]!.exit, 0, `${script[i]}: ${JSON.stringify(r[i])}`);
    return r[i]!.result;
  };
  assert.match(ok(0).output, /Zephyr/);
  assert.equal(ok(1).bootloader, 'MCUboot');
  assert.equal(typeof ok(2).modeName, 'string');
  assert.ok(ok(3).tasks.length > 0);
  assert.ok(ok(4).pools.length > 0);
  assert.equal(ok(5).set, true);
  assert.equal(ok(6).datetime, '2024-05-06T07:08:09');
  assert.ok(ok(7).images[0].slots.length >= 1);
  assert.equal(ok(8).erased, true);
  assert.equal(ok(9).hash, imageHash);
  const pending = ok(10).images.find((s: { hash: string }) => s.hash === imageHash);
  assert.equal(pending.pending, true, 'image test marks the new image pending');
  // A device error: exit 1 with the device's error named.
  assert.equal(r[11]!.exit, 1);
  assert.equal(r[11]!.error.name, 'SmpDeviceError');
  assert.match(r[11]!.error.rcName, /^IMG_MGMT_ERR_/);
  ok(12);
  assert.equal(ok(13).type, 'crc32');
  assert.match(ok(13).text, /^0x[0-9a-f]{8}$/);
  assert.ok(ok(14).types.some((t: { name: string }) => t.name === 'sha256'));
  assert.equal(typeof ok(15).fields, 'object');
  for (const i of [16, 17, 18, 19, 20]) ok(i);
  assert.ok(ok(21).groups.includes(1));
  assert.equal(typeof ok(22).group, 'number');
  assert.ok(ok(23).groups.length > 0);
  assert.equal(ok(24).erased, true);
  const bench = ok(25);
  assert.equal(bench.device.bufSize, 384);
  assert.deepEqual(
    bench.runs.map((x: { direction: string; frameSize?: number; window: unknown }) => `${x.direction}:${x.frameSize ?? '-'}:${x.window}`),
    ['upload:128:1', 'upload:128:auto', 'upload:384:1', 'upload:384:auto', 'download:-:1', 'download:-:auto'],
  );
  assert.ok(bench.runs.every((x: { throughput: number }) => x.throughput > 0));
  assert.equal(ok(26).reset, true);
  assert.equal(run.code, 1);
});

test('sim:mcuboot: serial recovery uploads to the primary slot', async () => {
  const run = await runCli(['--conn', 'sim:mcuboot', '--json', 'batch'], { input: `os echo boot\nimage upload ${imagePath}\nimage list\n` });
  assert.equal(run.code, 0, run.stderr);
  const r = oneJson(run).results;
  assert.deepEqual(r[0].result, { text: 'boot' });
  assert.equal(r[1].result.hash, imageHash);
  assert.equal(r[2].result.images[0].slot, 0);
  assert.equal(r[2].result.images[0].hash, imageHash);
});
