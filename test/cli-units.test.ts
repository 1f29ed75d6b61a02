/**
 * The CLI's pure helpers, in process: word splitting of batch lines, argument parsers, JSON
 * conversion, exit codes, the devices file, bench advice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBatch, splitWords } from '../src/cli/batch.js';
import { bufferLimited, kconfigAdvice, parseList, type BenchRun } from '../src/cli/bench.js';
import { bulkExitCode, readDevicesFile } from '../src/cli/bulk.js';
import { mergeGlobals, parseTarget, windowOption } from '../src/cli/connect.js';
import { parseHash, parseRemotePath, parseUint } from '../src/cli/context.js';
import { parseDateTimeArg } from '../src/cli/os.js';
import { CliExitError, CliUsageError, exitCodeFor, Output, table, toJsonValue } from '../src/cli/output.js';
import { parseBody, parseGroup, parseOp } from '../src/cli/raw.js';
import { isPrintableUtf8 } from '../src/cli/settings.js';
import { ImageFormatError, SmpDeviceError, SmpTimeoutError, VerifyError } from '../src/errors.js';
import type { BulkDeviceResult } from '../src/bulk/index.js';
import { tempDir } from './cli-util.js';

test('splitWords: quotes, escapes, empty words', () => {
  assert.deepEqual(splitWords(`os echo "hello world"`), ['os', 'echo', 'hello world']);
  assert.deepEqual(splitWords(`settings write a 'it''s'`), ['settings', 'write', 'a', 'its']);
  assert.deepEqual(splitWords(`raw read os 0 '{"d":"x y"}'`), ['raw', 'read', 'os', '0', '{"d":"x y"}']);
  assert.deepEqual(splitWords(`a\\ b "q\\"q" ''`), ['a b', 'q"q', '']);
  assert.throws(() => splitWords(`os echo "open`, 'f:1'), (e: Error) => e instanceof CliUsageError && /f:1: unterminated " quote/.test(e.message));
  assert.throws(() => splitWords(`os echo 'open`), CliUsageError);
});

test('parseBatch: comments, blank lines, leading mcumgr, refused commands', () => {
  const b = parseBatch('# c\n\nmcumgr os echo hi\n  image list  \n', 'f');
  assert.deepEqual(b, [
    { line: 3, argv: ['os', 'echo', 'hi'] },
    { line: 4, argv: ['image', 'list'] },
  ]);
  assert.throws(() => parseBatch('os echo\nsim --count 2', 'f'), /f:2: "sim" cannot run inside a batch/);
});

test('argument parsers name the argument', () => {
  assert.equal(parseUint('n', '12'), 12);
  assert.equal(parseUint('n', '0x10'), 16);
  assert.throws(() => parseUint('--image', '-1', 0, 255), /--image must be a whole number 0\.\.255/);
  assert.equal(parseHash('hash', 'ab'.repeat(32)).length, 32);
  assert.throws(() => parseHash('hash', 'xyz'), /hash must be the image hash in hex/);
  assert.throws(() => parseRemotePath('remote', 'rel'), /remote must be an absolute device path/);
  assert.equal(windowOption('auto'), 'auto');
  assert.equal(windowOption('3'), 3);
  assert.throws(() => windowOption('0'), /'auto' or a whole number 1\.\.64/);
  assert.deepEqual(parseTarget('sim:mcuboot'), { kind: 'sim', personality: 'mcuboot' });
  assert.equal(parseTarget('udp:127.0.0.1:1337').kind, 'conn');
  assert.throws(() => parseTarget('sim:nrf'), /unknown simulator personality/);
  assert.throws(() => parseTarget('tcp:host'), (e: Error) => e instanceof CliUsageError && /--conn: .*unknown scheme/.test(e.message));
  assert.equal(parseOp('write'), 2);
  assert.equal(parseGroup('image'), 1);
  assert.equal(parseGroup('64'), 64);
  assert.deepEqual(parseBody('{"a":{"$bytes":"0102"},"b":[1]}'), { a: Buffer.from([1, 2]), b: [1] });
  assert.throws(() => parseBody('[1]'), /json-body must be a JSON object/);
  assert.equal(parseDateTimeArg('2024-01-02T03:04:05'), '2024-01-02T03:04:05');
  const d = parseDateTimeArg('2024-01-02T03:04:05+01:00');
  assert.ok(d instanceof Date && d.toISOString() === '2024-01-02T02:04:05.000Z');
  assert.throws(() => parseDateTimeArg('noon'), /datetime value must be/);
  assert.deepEqual(parseList('--windows', '1,2,auto,2', 1, 64, true), [1, 2, 'auto']);
  assert.throws(() => parseList('--frame-sizes', '128,auto', 64, 65535, false), /--frame-sizes must be a whole number/);
});

test('mergeGlobals: a batch line overrides transfer options, never the connection or --json', () => {
  const parent = { conn: ['sim'], json: true, verbose: 0, timeoutMs: 100 };
  const g = mergeGlobals(parent, { conn: [], json: false, verbose: 1, window: 2 });
  assert.deepEqual(g, { conn: ['sim'], json: true, verbose: 1, timeoutMs: 100, window: 2 });
});

test('toJsonValue: bytes as hex, bigints, dates, nested, undefined dropped', () => {
  assert.deepEqual(toJsonValue({ h: Buffer.from([0xab, 1]), n: 5n, big: 2n ** 70n, d: new Date(0), u: undefined, a: [new Uint8Array([2])] }), {
    h: 'ab01',
    n: 5,
    big: (2n ** 70n).toString(),
    d: '1970-01-01T00:00:00.000Z',
    a: ['02'],
  });
});

test('exit codes by kind of failure', () => {
  assert.equal(exitCodeFor(new CliUsageError('x')), 2);
  assert.equal(exitCodeFor(new RangeError('x')), 2);
  assert.equal(exitCodeFor(new SmpTimeoutError('t', 5)), 3);
  assert.equal(exitCodeFor(new VerifyError('v')), 4);
  assert.equal(exitCodeFor(new ImageFormatError('f')), 4);
  assert.equal(exitCodeFor(new SmpDeviceError({ group: 0, command: 0, rc: 8, style: 'rc', rcName: 'MGMT_ERR_ENOTSUP' })), 1);
  assert.equal(exitCodeFor(new Error('link')), 1);
  assert.equal(exitCodeFor(new CliExitError(4, 'X', 'x')), 4);
  const r = (error?: Error) => ({ ok: false, error }) as BulkDeviceResult;
  assert.equal(bulkExitCode([r(new SmpTimeoutError('t', 1))]), 3);
  assert.equal(bulkExitCode([r(new SmpTimeoutError('t', 1)), r(new VerifyError('v'))]), 4);
  assert.equal(bulkExitCode([r(new VerifyError('v')), r(new Error('port gone'))]), 1);
});

test('Output: one JSON document, error document, human text', () => {
  const sink = () => {
    const s = { text: '', isTTY: false, write: (c: string) => ((s.text += c), true) };
    return s;
  };
  const out1 = sink();
  const err1 = sink();
  const o = new Output(true, 0, { stdout: out1 as never, stderr: err1 as never });
  o.result({ hash: Buffer.from([1]) }, () => 'human');
  assert.equal(out1.text, '{"hash":"01"}\n');
  assert.equal(o.progressEnabled, false);
  const out2 = sink();
  const err2 = sink();
  const h = new Output(false, 0, { stdout: out2 as never, stderr: err2 as never });
  assert.equal(h.error(new SmpTimeoutError('no answer', 5)), 3);
  assert.equal(err2.text, 'error: no answer (SMP_ERR_TIMEOUT)\n');
  assert.equal(out2.text, '');
  const out3 = sink();
  const j = new Output(true, 0, { stdout: out3 as never, stderr: sink() as never });
  j.error(new CliUsageError('bad'));
  assert.deepEqual(JSON.parse(out3.text), { error: { name: 'CliUsageError', code: 'CLI_USAGE', message: 'bad' } });
  assert.equal(table(['a', 'bb'], [['xxx', 1]]), 'a    bb\nxxx  1');
  assert.equal(isPrintableUtf8(Buffer.from('ok text')), true);
  assert.equal(isPrintableUtf8(Buffer.from([0xff, 0])), false);
});

test('devices file: lines with names and comments, or a JSON array', async () => {
  const dir = tempDir();
  const lines = join(dir, 'devices.txt');
  writeFileSync(lines, '# rack 1\nserial:/dev/ttyACM0 board A\n\nudp:192.0.2.1  # spare\n');
  assert.deepEqual(await readDevicesFile(lines), [{ connection: 'serial:/dev/ttyACM0', name: 'board A' }, 'udp:192.0.2.1']);
  const json = join(dir, 'devices.json');
  writeFileSync(json, '["sim", {"connection": "udp:192.0.2.2", "name": "b"}]');
  assert.deepEqual(await readDevicesFile(json), ['sim', { connection: 'udp:192.0.2.2', name: 'b' }]);
  writeFileSync(json, '[1]');
  await assert.rejects(readDevicesFile(json), /item 0 must be a connection string/);
  await assert.rejects(readDevicesFile(join(dir, 'none.txt')), /--devices ".*none.txt" cannot be read: no such file/);
});

test('bench: buffer-limited detection and Kconfig advice', () => {
  const run = (frameSize: number, throughput: number): BenchRun => ({
    direction: 'upload',
    frameSize,
    window: 1,
    bytes: 1,
    seconds: 1,
    throughput,
    maxWindowUsed: 1,
    rewinds: 0,
    timeouts: 0,
  });
  assert.equal(bufferLimited([run(128, 100), run(256, 180), run(384, 250)], 384), true);
  assert.equal(bufferLimited([run(128, 100), run(256, 110), run(384, 105)], 384), false);
  const advice = kconfigAdvice(384, 2, true, true).join('\n');
  assert.match(advice, /CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE=4096/);
  assert.match(advice, /CONFIG_MCUMGR_TRANSPORT_WORKQUEUE_STACK_SIZE=8192/);
  assert.match(advice, /CONFIG_MCUMGR_TRANSPORT_NETBUF_COUNT=4/);
  assert.match(advice, /CONFIG_UART_MCUMGR_RX_BUF_SIZE/);
  assert.doesNotMatch(kconfigAdvice(384, 4, true, false).join('\n'), /UART|NETBUF_COUNT/);
  assert.deepEqual(kconfigAdvice(4096, 4, true, true), []);
  assert.deepEqual(kconfigAdvice(384, 4, false, true), []);
  assert.match(kconfigAdvice(undefined, undefined, false, false).join('\n'), /CONFIG_MCUMGR_GRP_OS_MCUMGR_PARAMS=y/);
});
