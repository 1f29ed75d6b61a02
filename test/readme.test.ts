/**
 * The README as a new user meets it, run: in a copy of the tracked files (a fresh clone, with this
 * checkout's node_modules and addon), its commands exactly as written, every JavaScript sample on
 * this Node (20: no `await using`, no TypeScript syntax) against simulated devices, and every CLI
 * line against simulated devices. It fails when the README and the code part ways.
 *
 * Hardware in the samples (`serial:/dev/ttyACM0`, `udp:192.0.2.1`, `build/zephyr/zephyr.signed.bin`)
 * is replaced by simulated devices and built images: each distinct connection string by a device
 * of its own, on UDP for the library samples and on a PTY with the same encoding for the CLI.
 * `npm test` itself is not run from here (it is what runs this); its script must exist.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildImage } from '../src/image/index.js';
import { MCUmgrClient } from '../src/client.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import type { SerialEncoding } from '../src/transport/framing.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

interface Fence {
  lang: string;
  body: string;
  /** The `## ` section it is in. */
  section: string;
}

function fences(md: string): Fence[] {
  const out: Fence[] = [];
  let section = '';
  let open: { lang: string; lines: string[] } | undefined;
  for (const line of md.split('\n')) {
    if (open) {
      if (line.startsWith('```')) {
        out.push({ lang: open.lang, body: open.lines.join('\n'), section });
        open = undefined;
      } else open.lines.push(line);
    } else if (line.startsWith('```')) open = { lang: line.slice(3).trim(), lines: [] };
    else if (line.startsWith('## ')) section = line.slice(3).trim();
  }
  return out;
}

/** The command lines of a shell block: comments dropped (a `#` outside quotes after a space). */
function shellLines(body: string): string[] {
  return body
    .split('\n')
    .map((l) => {
      let q = false;
      for (let i = 0; i < l.length; i++) {
        if (l[i] === "'") q = !q;
        if (!q && l[i] === '#' && (i === 0 || l[i - 1] === ' ')) return l.slice(0, i).trim();
      }
      return l.trim();
    })
    .filter((l) => l !== '');
}

/** Shell words with single quotes (all the README uses). */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2]!);
  return out;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: readonly string[], cwd: string, timeoutMs = 60_000, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && (err as { killed?: boolean }).killed) return reject(new Error(`${cmd} ${args.join(' ')} timed out\n${stderr}`));
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function ok(r: Run, what: string): Run {
  assert.equal(r.code, 0, `${what} exited ${r.code}\nstdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-2000)}`);
  return r;
}

/** A copy of the tracked files (what a clone holds), with this checkout's node_modules and addon. */
function freshClone(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcumgr-readme-'));
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    try {
      cpSync(join(ROOT, f), join(dir, f));
    } catch {
      /* tracked but deleted in the working tree */
    }
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  symlinkSync(join(ROOT, 'build'), join(dir, 'build'), 'dir');
  return dir;
}

const clone = freshClone();
test.after(() => rmSync(clone, { recursive: true, force: true }));
const sims: Simulator[] = [];
test.after(async () => {
  await Promise.all(sims.map((s) => s.close().catch(() => {})));
});

async function sim(transport: 'udp' | 'pty', encoding: SerialEncoding = 'console'): Promise<Simulator> {
  const s = await startSimulator(transport === 'pty' ? { transport, encoding, baudRate: 1_000_000, seed: 1 } : { transport, seed: 1 });
  sims.push(s);
  return s;
}

/** Writes a small valid image at every `….bin` path a text names (relative to `dir`). */
function imagesFor(text: string, dir: string): void {
  for (const m of text.matchAll(/([\w./-]+\.bin)\b/g)) {
    const file = join(dir, m[1]!);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, buildImage({ size: 6000, version: '2.0.0', seed: 3 }));
  }
}

test('the two commands: npm install && npm run demo, npm install && npm test; the demo runs (small and fast)', { timeout: 90_000 }, async () => {
  const block = fences(README).find((f) => f.section === 'The two commands' && f.lang === 'sh');
  assert.ok(block, 'the README has its two commands');
  assert.deepEqual(shellLines(block.body), ['npm install && npm run demo', 'npm install && npm test']);
  assert.ok(PKG.scripts.demo && PKG.scripts.test && PKG.scripts.install, 'package.json has the demo, test and install scripts');
  const demo = ok(await run('npm', ['run', 'demo', '--', '--devices', '2', '--size', '8', '--baud', '1000000'], clone, 80_000), 'npm run demo');
  assert.match(demo.stdout, /2\/2 boards verified/);
});

test('the CLI from a checkout: the README command runs as written in a fresh clone', { timeout: 60_000 }, async () => {
  const lines = fences(README)
    .filter((f) => f.lang === 'sh')
    .flatMap((f) => shellLines(f.body))
    .filter((l) => l.startsWith('npm run mcumgr --'));
  assert.ok(lines.length >= 1, 'the README shows how to run mcumgr from a checkout');
  for (const line of lines) {
    const r = ok(await run('sh', ['-c', line], clone), line);
    assert.notEqual(r.stdout.trim(), '', `${line} printed nothing`);
  }
  assert.ok(PKG.scripts.docs, 'the README names npm run docs');
  assert.match(README, /npm run docs/);
});

// Samples and CLI lines wait on their devices most of the time: two at a time (two cores).
test('every JavaScript sample runs on this Node as plain JavaScript, against simulated devices', { timeout: 120_000, concurrency: 2 }, async (t) => {
  const samples = fences(README).filter((f) => f.lang === 'js');
  assert.ok(samples.length >= 4, `expected the API samples as js blocks, found ${samples.length}`);
  assert.ok(!fences(README).some((f) => f.lang === 'ts' || f.lang === 'typescript'), 'samples are plain JavaScript (js), which also type-checks as TypeScript');
  const dir = join(clone, 'samples');
  mkdirSync(dir);
  const runs = samples.map((s, i) =>
    t.test(`sample ${i + 1} (${s.section})`, async () => {
      let code = s.body
        .replaceAll("from 'mcumgr-toolkit/sim'", `from '${pathToFileURL(join(clone, 'src/sim/index.ts')).href}'`)
        .replaceAll("from 'mcumgr-toolkit'", `from '${pathToFileURL(join(clone, 'src/index.ts')).href}'`);
      const conns = [...new Set([...code.matchAll(/'((?:serial|udp|usb):[^']*)'/g)].map((m) => m[1]!))];
      for (const c of conns) code = code.replaceAll(`'${c}'`, `'${(await sim('udp')).connection}'`);
      imagesFor(code, dir);
      const file = join(dir, `sample-${i + 1}.mjs`);
      writeFileSync(file, code);
      // Node alone first: plain JavaScript for this Node (no tsx to lower `await using` or strip types).
      ok(await run(process.execPath, ['--check', file], dir), `node --check sample ${i + 1}`);
      ok(await run(process.execPath, ['--import', 'tsx', file], dir, 90_000), `sample ${i + 1}`);
    }),
  );
  await Promise.all(runs);
});

test('every CLI line of the README runs against simulated devices', { timeout: 150_000, concurrency: 2 }, async (t) => {
  const block = fences(README).find((f) => f.section === 'The CLI' && f.lang === 'sh');
  assert.ok(block, 'the README has a CLI block');
  const lines = shellLines(block.body);
  assert.ok(lines.length >= 6 && lines.every((l) => l.startsWith('mcumgr ')), lines.join('\n'));
  const dir = join(clone, 'cli');
  mkdirSync(dir);
  imagesFor(block.body, dir);
  const main = join(clone, 'src', 'cli', 'main.ts');
  const runs = lines.map((line) =>
    t.test(line, async () => {
      const args = words(line).slice(1);
      let usb = false;
      for (const [k, a] of args.entries()) {
        const m = /^(serial|udp|usb):/.exec(a);
        if (!m) continue;
        if (m[1] === 'usb') {
          usb = true;
          continue;
        }
        const encoding = (/encoding=(\w+)/.exec(a)?.[1] ?? 'console') as SerialEncoding;
        const s = await sim(m[1] === 'udp' ? 'udp' : 'pty', encoding);
        args[k] = s.connection;
        // A file the line downloads is put there first, as it would be on a real device.
        const dl = args.indexOf('download');
        if (dl > 0 && args[dl - 1] === 'fs') {
          const c = await MCUmgrClient.connect(s.connection);
          try {
            await c.fs.upload(args[dl + 1]!, Buffer.from('log line\n'));
          } finally {
            await c.close();
          }
        }
      }
      const r = await run(process.execPath, ['--import', 'tsx', main, ...args], dir, 120_000);
      if (usb) {
        // No USB device with that id on a test machine: a usage error that lists the ports present.
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /no serial port matches USB 2fe3:0004; ports present:/);
        return;
      }
      ok(r, line);
    }),
  );
  await Promise.all(runs);
});
