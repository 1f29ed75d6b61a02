/**
 * Security of the command line and the UDP transport:
 * - `mcumgr fs download` never writes outside the folder it was given: `..`, names from the
 *   device path that are not one plain name, symbolic links out of the folder and NUL bytes are
 *   refused with exit 2 before anything is sent or written; the file is written through a
 *   temporary file renamed inside the folder;
 * - UDP answers are taken only from the device's address and port;
 * - nothing in the package downloads anything at install or run time.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../src/cli/program.js';
import { isInside, nameFromDevicePath, resolveDownloadTarget, writeFileInFolder } from '../src/cli/safe-path.js';
import { CliUsageError } from '../src/cli/output.js';
import { createDevice, startSimulator, type Simulator } from '../src/sim/simulator.js';
import { MCUmgrClient } from '../src/client.js';
import { UdpTransport } from '../src/transport/udp.js';
import { buildPacket, decodeHeader } from '../src/codec/header.js';
import { encodeCbor } from '../src/codec/cbor.js';
import { deterministicBytes } from '../src/image/index.js';
import { ROOT } from './cli-util.js';

const DATA = deterministicBytes(3000, 21);
const FILES = {
  '/lfs/a.bin': DATA,
  '/lfs/..\\..\\evil.bin': Buffer.from('evil'),
};

let sim: Simulator;
let conn: string;
let base: string;

before(async () => {
  sim = await startSimulator({ transport: 'udp', core: createDevice('zephyr', { files: FILES }, 'udp') });
  conn = sim.connection;
  base = mkdtempSync(join(tmpdir(), 'mcumgr-sec-'));
});

after(async () => {
  await sim.close();
  rmSync(base, { recursive: true, force: true });
});

/** A fresh folder layout: `inside/` (the folder given) and `outside/` next to it. */
function layout(): { inside: string; outside: string } {
  const d = mkdtempSync(join(base, 'case-'));
  const inside = join(d, 'inside');
  const outside = join(d, 'outside');
  mkdirSync(inside);
  mkdirSync(outside);
  return { inside, outside };
}

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

/** Runs `mcumgr` in this process against the UDP simulator. */
async function mcumgr(...args: string[]): Promise<{ code: number; stdout: string; stderr: string; sent: number }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const before = sim.stats().requests;
  const code = await runCli(['--conn', conn, ...args], { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text, sent: sim.stats().requests - before };
}

/** Every entry under `dir`, recursively (names relative to it). */
function tree(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    out.push(e.name);
    if (e.isDirectory()) for (const s of tree(join(dir, e.name))) out.push(join(e.name, s));
  }
  return out.sort();
}

describe('fs download writes only inside the folder it was given', () => {
  test('into a folder: the file is named after the device path, written whole, no temporary file left', async () => {
    const { inside } = layout();
    for (const folder of [inside, `${inside}/`]) {
      const r = await mcumgr('--json', 'fs', 'download', '/lfs/a.bin', folder);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.ok(readFileSync(join(inside, 'a.bin')).equals(DATA));
      assert.deepEqual(tree(inside), ['a.bin']);
      assert.equal(JSON.parse(r.stdout).path, join(inside, 'a.bin'));
    }
  });

  test('an existing file is replaced by rename (a new inode), not written in place', async () => {
    const { inside } = layout();
    const dest = join(inside, 'x.bin');
    writeFileSync(dest, 'old contents');
    const ino = statSync(dest).ino;
    const r = await mcumgr('fs', 'download', '/lfs/a.bin', dest);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readFileSync(dest).equals(DATA));
    assert.notEqual(statSync(dest).ino, ino);
    assert.deepEqual(tree(inside), ['x.bin']);
  });

  test('a failed download leaves the old file as it was and nothing else', async () => {
    const { inside } = layout();
    const dest = join(inside, 'x.bin');
    writeFileSync(dest, 'old contents');
    const r = await mcumgr('fs', 'download', '/lfs/missing.bin', dest);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(readFileSync(dest, 'utf8'), 'old contents');
    assert.deepEqual(tree(inside), ['x.bin']);
  });

  const refusals: Array<[string, (l: { inside: string; outside: string }) => [remote: string, local: string], RegExp]> = [
    ['".." in the local path', (l) => ['/lfs/a.bin', `${l.inside}/../outside/x.bin`], /contains a "\.\." segment/],
    ['".." as the whole local path', () => ['/lfs/a.bin', '..'], /contains a "\.\." segment/],
    ['a folder path with ".." inside', (l) => ['/lfs/a.bin', `${l.inside}/../outside/`], /contains a "\.\." segment/],
    ['a NUL byte in the local path', (l) => ['/lfs/a.bin', join(l.inside, 'a\0b.bin')], /NUL byte/],
    ['a device path ending in ".."', (l) => ['/lfs/..', l.inside], /last segment is "\.\."/],
    ['a device path ending in "."', (l) => ['/lfs/.', l.inside], /last segment is "\."/],
    ['a device path ending in "/"', (l) => ['/lfs/', l.inside], /ends with "\/"/],
    ['a device path that is "/"', (l) => ['/', l.inside], /ends with "\/"/],
    ['a device name with backslashes', (l) => ['/lfs/..\\..\\evil.bin', l.inside], /contains "\\"/],
    ['a folder that does not exist', (l) => ['/lfs/a.bin', join(l.inside, 'nope', 'x.bin')], /does not exist/],
    ['a file used as a folder', (l) => {
      writeFileSync(join(l.inside, 'plain'), 'x');
      return ['/lfs/a.bin', join(l.inside, 'plain', 'x.bin')];
    }, /does not exist|not a folder|cannot be used/],
  ];
  for (const [what, make, message] of refusals) {
    test(`refused with exit 2, nothing sent or written: ${what}`, async () => {
      const l = layout();
      const [remote, local] = make(l);
      const beforeInside = tree(l.inside);
      const r = await mcumgr('fs', 'download', remote, local);
      assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.sent, 0, 'nothing was sent to the device');
      assert.deepEqual(tree(l.inside), beforeInside, 'nothing was written inside');
      assert.deepEqual(tree(l.outside), [], 'nothing was written outside');
    });
  }

  test('refused with exit 2: a local file that is a symbolic link out of the folder (existing or dangling)', async () => {
    for (const dangling of [false, true]) {
      const { inside, outside } = layout();
      const victim = join(outside, 'victim.bin');
      if (!dangling) writeFileSync(victim, 'keep me');
      symlinkSync(victim, join(inside, 'link.bin'));
      const r = await mcumgr('fs', 'download', '/lfs/a.bin', join(inside, 'link.bin'));
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /symbolic link to .*outside the folder/);
      assert.equal(r.sent, 0);
      if (dangling) assert.equal(existsSync(victim), false, 'the dangling target was not created');
      else assert.equal(readFileSync(victim, 'utf8'), 'keep me');
      assert.ok(lstatSync(join(inside, 'link.bin')).isSymbolicLink(), 'the link is untouched');
      assert.deepEqual(tree(inside), ['link.bin']);
    }
  });

  test('refused with exit 2: the device-derived name is a link out of the folder; also a relative link and a chain', async () => {
    const { inside, outside } = layout();
    writeFileSync(join(outside, 'victim.bin'), 'keep me');
    // Named by the device path: inside/a.bin → ../outside/victim.bin (relative).
    symlinkSync(join('..', 'outside', 'victim.bin'), join(inside, 'a.bin'));
    let r = await mcumgr('fs', 'download', '/lfs/a.bin', inside);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(readFileSync(join(outside, 'victim.bin'), 'utf8'), 'keep me');
    // A chain: inside/hop.bin → inside/a.bin → outside.
    symlinkSync(join(inside, 'a.bin'), join(inside, 'hop.bin'));
    r = await mcumgr('fs', 'download', '/lfs/a.bin', join(inside, 'hop.bin'));
    assert.equal(r.code, 2, r.stderr);
    assert.equal(readFileSync(join(outside, 'victim.bin'), 'utf8'), 'keep me');
    assert.equal(r.sent, 0);
  });

  test('refused with exit 2: the target is a directory', async () => {
    const { inside } = layout();
    mkdirSync(join(inside, 'a.bin'));
    // `inside/a.bin` is a directory, so it is taken as the folder: the file lands inside it.
    const r1 = await mcumgr('fs', 'download', '/lfs/a.bin', join(inside, 'a.bin'));
    assert.equal(r1.code, 0, r1.stderr);
    assert.ok(readFileSync(join(inside, 'a.bin', 'a.bin')).equals(DATA));
    // Named after the device path inside `inside`: that name is a directory.
    const r2 = await mcumgr('fs', 'download', '/lfs/a.bin', inside);
    assert.equal(r2.code, 2, r2.stderr);
    assert.match(r2.stderr, /names a directory/);
  });

  test('a link that stays inside the folder is followed: the file it names is replaced', async () => {
    const { inside, outside } = layout();
    mkdirSync(join(inside, 'sub'));
    writeFileSync(join(inside, 'sub', 'real.bin'), 'old');
    symlinkSync(join('sub', 'real.bin'), join(inside, 'current.bin'));
    const r = await mcumgr('fs', 'download', '/lfs/a.bin', join(inside, 'current.bin'));
    assert.equal(r.code, 0, r.stderr);
    assert.ok(lstatSync(join(inside, 'current.bin')).isSymbolicLink(), 'the link stays a link');
    assert.ok(readFileSync(join(inside, 'sub', 'real.bin')).equals(DATA));
    assert.deepEqual(tree(outside), []);
  });

  test('a folder given through a link is the folder: writing into its real directory is fine', async () => {
    const { inside, outside } = layout();
    symlinkSync(outside, join(inside, 'to-outside'));
    const r = await mcumgr('fs', 'download', '/lfs/a.bin', join(inside, 'to-outside'));
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readFileSync(join(outside, 'a.bin')).equals(DATA));
  });

  test('inside batch the same checks apply per line', async () => {
    const { inside, outside } = layout();
    const script = join(inside, 'script.txt');
    writeFileSync(script, `fs download /lfs/a.bin ${inside}/../outside/x.bin\nfs download /lfs/a.bin ${inside}/ok.bin\n`);
    const stdout = new Sink();
    const code = await runCli(['--conn', conn, '--json', 'batch', '--keep-going', script], { stdout, stderr: new Sink() });
    const doc = JSON.parse(stdout.text);
    assert.equal(code, 2, stdout.text);
    assert.equal(doc.results[0].exit, 2);
    assert.equal(doc.results[1].exit, 0);
    assert.deepEqual(tree(outside), []);
    assert.ok(readFileSync(join(inside, 'ok.bin')).equals(DATA));
  });
});

describe('safe-path units', () => {
  test('nameFromDevicePath takes one plain segment or refuses', () => {
    assert.equal(nameFromDevicePath('/lfs/log.txt'), 'log.txt');
    assert.equal(nameFromDevicePath('/lfs/dir/.hidden'), '.hidden');
    assert.equal(nameFromDevicePath('/lfs/../../etc/passwd'), 'passwd', 'only the last segment is ever used');
    for (const bad of ['/', '/lfs/', '/lfs/.', '/lfs/..', '/lfs/a\\b', '/lfs/a\0b', '']) {
      assert.throws(() => nameFromDevicePath(bad), CliUsageError, JSON.stringify(bad));
    }
  });

  test('isInside compares whole segments', () => {
    assert.equal(isInside('/a/b', '/a/b'), true);
    assert.equal(isInside('/a/b', '/a/b/c'), true);
    assert.equal(isInside('/a/b', '/a/bc'), false);
    assert.equal(isInside('/a/b', '/a'), false);
  });

  test('a link planted between the check and the write is refused and leaves no temporary file', async () => {
    const { inside, outside } = layout();
    const t = await resolveDownloadTarget(join(inside, 'x.bin'), '/lfs/a.bin');
    writeFileSync(join(outside, 'victim.bin'), 'keep me');
    symlinkSync(join(outside, 'victim.bin'), join(inside, 'x.bin'));
    await assert.rejects(writeFileInFolder(t, DATA), CliUsageError);
    assert.equal(readFileSync(join(outside, 'victim.bin'), 'utf8'), 'keep me');
    assert.deepEqual(tree(inside), ['x.bin']);
  });
});

describe('UDP answers only from the device', () => {
  const sockets: Socket[] = [];
  after(() => {
    for (const s of sockets) s.close();
  });

  test('forged answers from another address (same port) and another port are dropped and counted', async () => {
    // The device answers 400 ms late, so the forgeries arrive first, one for every sequence number.
    const dev = await startSimulator({ transport: 'udp', latencyMs: 400 });
    const client = await MCUmgrClient.connect(dev.connection, { timeoutMs: 3000 });
    try {
      const t = client.transport as UdpTransport;
      assert.ok(t instanceof UdpTransport);
      const devicePort = t.remote.port;
      const forgers: Socket[] = [];
      // Another loopback address on the device's own port, and the device's address on another port.
      for (const [address, port] of [
        ['127.0.0.2', devicePort],
        ['127.0.0.1', 0],
      ] as const) {
        const s = createSocket('udp4');
        sockets.push(s);
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.bind(port, address, () => resolve());
        });
        forgers.push(s);
      }
      const forge = (s: Socket): Promise<void[]> =>
        Promise.all(
          Array.from({ length: 256 }, (_, seq) => {
            const pkt = buildPacket({ op: 3, version: 1, flags: 0, group: 0, seq, id: 0 }, encodeCbor({ r: 'forged' }));
            return new Promise<void>((resolve) => s.send(pkt, t.local.port, '127.0.0.1', () => resolve()));
          }),
        );
      const settle = async (): Promise<number> => {
        // Until the counter stops moving (the kernel may drop some of a burst: that is fine).
        let last = -1;
        while (t.stats().foreign !== last) {
          last = t.stats().foreign;
          await new Promise((r) => setTimeout(r, 30));
        }
        return last;
      };
      const echo = client.os.echo('genuine');
      await forge(forgers[0]!);
      const fromOtherAddress = await settle();
      assert.ok(fromOtherAddress > 0, 'datagrams from 127.0.0.2 on the device port are counted as foreign');
      await forge(forgers[1]!);
      const fromOtherPort = (await settle()) - fromOtherAddress;
      assert.ok(fromOtherPort > 0, 'datagrams from the device address on another port are counted as foreign');
      assert.equal(await echo, 'genuine', 'only the device answer is taken');
      assert.equal(t.stats().received, 1);
      assert.equal(decodeHeader(buildPacket({ op: 3, version: 1, flags: 0, group: 0, seq: 1, id: 0 }, encodeCbor({ r: 'x' }))).op, 3);
    } finally {
      await client.close();
      await dev.close();
    }
  });
});

describe('nothing is downloaded at install or run time', () => {
  test('package.json scripts run no network tool, and the runtime sources open no network connection but the device link', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const [name, cmd] of Object.entries(pkg.scripts)) {
      assert.doesNotMatch(cmd, /\b(curl|wget|fetch|npx|pnpx|bunx|git clone|prebuild-install|https?:\/\/)\b/, `script ${name}: ${cmd}`);
    }
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(ts|js|mjs|cjs)$/.test(e.name)) {
          const text = readFileSync(p, 'utf8');
          // The station page (src/page/) listens with node:http, only when asked to serve; its browser
          // script fetches from its own origin only (CSP connect-src 'self'). Nothing there calls out.
          const allowed = /[\\/]src[\\/]page[\\/]assets[\\/]/.test(p) ? ['fetch('] : /[\\/]src[\\/]page[\\/]/.test(p) ? ["'node:http'"] : [];
          const hits = (text.match(/\bfetch\(|['"]node:https?['"]|['"]https?['"]|\bundici\b|\bWebSocket\b|\bnet\.connect\(|\bcreateConnection\(|\btls\.connect\(|https?:\/\/(?!(www\.)?(github\.com|docs\.zephyrproject\.org|example\.(com|org)))[a-z]/g) ?? []).filter((h) => !allowed.includes(h));
          if (hits.length) offenders.push(`${p}: ${[...new Set(hits)].join(', ')}`);
        }
      }
    };
    walk(join(ROOT, 'src'));
    assert.deepEqual(offenders, []);
  });

  test('the install script never lets node-gyp fetch Node headers: it builds only with local ones (--nodedir)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const install = pkg.scripts.install;
    if (install === undefined) return;
    // node-gyp-build's own command falls back to a plain "node-gyp rebuild", which downloads headers.
    assert.doesNotMatch(install, /node-gyp-build(?!-test)|node-gyp\s+(re)?build|prebuild-install/, `install: ${install}`);
    const m = /^node\s+(\S+\.m?js)$/.exec(install.trim());
    assert.ok(m, `install runs one local script, got ${install}`);
    const text = readFileSync(join(ROOT, m[1]!), 'utf8');
    const rebuilds = text.split('\n').filter((l) => /'rebuild'/.test(l));
    assert.ok(rebuilds.length > 0, 'the install script is expected to build with node-gyp when it can');
    for (const l of rebuilds) assert.match(l, /--nodedir=/, `a node-gyp rebuild without --nodedir: ${l.trim()}`);
  });
});
