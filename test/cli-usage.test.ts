/**
 * Wrong arguments exit 2 with a message naming the argument and send nothing; a silent device
 * exits 3. The "device" is a UDP socket of the test that counts what reaches it and never answers.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from '../src/image/index.js';
import { oneJson, runCli, tempDir } from './cli-util.js';

let sock: Socket;
let received = 0;
let conn = '';

before(async () => {
  sock = createSocket('udp4');
  sock.on('message', () => received++);
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  conn = `udp:127.0.0.1:${sock.address().port}`;
});
after(() => sock.close());

test('wrong arguments: exit 2, the argument named, nothing sent', async () => {
  const dir = tempDir();
  const imagePath = join(dir, 'app.bin');
  writeFileSync(imagePath, buildImage({ size: 100, version: '1.0.0' }));
  const lines: Array<[string, RegExp]> = [
    ['image test nothex', /hash must be the image hash in hex/],
    ['image test abcd', /hash must be 64, 96 or 128 hex digits/],
    ['fs upload missing-file /x', /local "missing-file" cannot be read: no such file/],
    ['fs upload ' + imagePath + ' relative/path', /remote must be an absolute device path/],
    ['--window 0 os echo hi', /option '--window <n\|auto>' argument '0' is invalid/],
    ['--frame-size 10 os echo hi', /option '--frame-size <n>' argument '10' is invalid/],
    ['os echo', /missing required argument 'text'/],
    ['os reset --boot-mode 300', /--boot-mode must be a whole number 0\.\.255/],
    ['os datetime set yesterday', /datetime value must be/],
    ['image upload ' + imagePath + ' --image x', /--image must be a whole number/],
    ['image erase -1', /unknown option '-1'|slot must be a whole number/],
    ["raw read os 0 '{bad json'", /json-body is not valid JSON/],
    ['raw fetch os 0', /op must be read or write/],
    ['raw read nosuchgroup 0', /group must be a number 0\.\.65535 or one of/],
    ['settings write app/x zz --hex', /value must be hex digits/],
    ['enum single many', /index must be a whole number/],
    ['flash ' + imagePath + ' --mode maybe', /--mode must be test or confirm/],
    ['shell exec', /shell exec needs a command/],
    ['image nosuch', /unknown command 'nosuch'/],
    ['os echo hi -- extra', /"--" is only used by "shell exec"/],
  ];
  const run = await runCli(['--conn', conn, '--json', 'batch', '--keep-going'], { input: lines.map(([l]) => l).join('\n') });
  assert.equal(run.code, 2, run.stderr);
  const doc = oneJson(run);
  assert.equal(doc.results.length, lines.length);
  lines.forEach(([line, msg], i) => {
    const r = doc.results[i];
    assert.equal(r.exit, 2, `${line}: ${JSON.stringify(r)}`);
    assert.equal(r.error.code, 'CLI_USAGE', line);
    assert.match(r.error.message, msg, line);
  });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(received, 0, 'no byte reached the device');
});

test('usage errors from the top level: message on stderr, or one JSON error document', async () => {
  const human = await runCli(['--conn', conn, '--window', '0', 'os', 'echo', 'hi']);
  assert.equal(human.code, 2);
  assert.equal(human.stdout, '');
  assert.match(human.stderr, /^error: option '--window <n\|auto>' argument '0' is invalid\..*\(CLI_USAGE\)$/m);

  const json = await runCli(['--conn', conn, '--json', 'image', 'test', 'nothex']);
  assert.equal(json.code, 2);
  const doc = oneJson(json);
  assert.deepEqual(Object.keys(doc), ['error']);
  assert.equal(doc.error.name, 'CliUsageError');
  assert.equal(doc.error.code, 'CLI_USAGE');
  assert.match(doc.error.message, /^hash must be the image hash in hex/);

  const noConn = await runCli(['os', 'echo', 'hi']);
  assert.equal(noConn.code, 2);
  assert.match(noConn.stderr, /no device given: pass --conn/);
  assert.equal(received, 0, 'no byte reached the device');
});

test('a device that does not answer: exit 3 (timeout)', async () => {
  const run = await runCli(['--conn', conn, '--timeout', '300', '--frame-size', '384', '--json', 'os', 'echo', 'hi']);
  assert.equal(run.code, 3, run.stderr);
  const doc = oneJson(run);
  assert.equal(doc.error.code, 'SMP_ERR_TIMEOUT');
  assert.equal(doc.error.name, 'SmpTimeoutError');
  assert.ok(received >= 1, 'the request went out');
});
