/**
 * The package a user installs: build it (addon prebuild + dist/), `npm pack` it, install the
 * tarball into an empty folder, and use it there the ways a user would — `import`, `require`,
 * `mcumgr-toolkit/sim`, its type declarations, the `mcumgr` command against a simulated device
 * started by that same command — with the native addon (from the prebuild, nothing compiled at
 * install) and without it (`MCUMGR_NATIVE=0`, or no addon to find).
 *
 * The build runs in a copy of the package's sources in a temporary folder (node_modules linked):
 * `node-gyp rebuild` starts by deleting build/, which the other test files load the addon from
 * while this one runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** What the package's build needs; everything else (tests, bench, fuzz, examples) stays out. */
const SOURCES = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'binding.gyp', 'README.md', 'native', 'src', 'scripts'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (never rejects on a non-zero exit; does on a timeout). */
function run(cmd: string, args: readonly string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err && (err as { killed?: boolean }).killed) {
          reject(new Error(`${cmd} ${args.join(' ')} timed out\n${stderr}`));
          return;
        }
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function mustPass(r: Run, what: string): Run {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code})\nstdout: ${r.stdout.slice(-3000)}\nstderr: ${r.stderr.slice(-3000)}`);
  return r;
}

/** npm itself: the one running `npm test` when there is one, else `npm` on the PATH. */
function npm(args: readonly string[], cwd: string, timeoutMs = 60_000): Promise<Run> {
  const cli = process.env.npm_execpath;
  if (cli && /\.[cm]?js$/.test(cli)) return run(process.execPath, [cli, ...args], { cwd, timeoutMs });
  return run('npm', args, { cwd, timeoutMs });
}

/** The last line of stdout as JSON. */
function lastJson(r: Run): any {
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  assert.ok(lines.length > 0, `no output; stderr: ${r.stderr}`);
  return JSON.parse(lines.at(-1)!);
}

// Consumers, written into the installed folder.
const ESM_CONSUMER = `
import { writeFileSync } from 'node:fs';
import * as pkg from 'mcumgr-toolkit';
import { startSimulator } from 'mcumgr-toolkit/sim';

const sim = await startSimulator({ transport: 'udp' });
const client = await pkg.MCUmgrClient.connect(sim.connection);
let echo;
try {
  echo = await client.os.echo('over udp');
} finally {
  await client.close();
  await sim.close();
}
if (process.argv[2]) writeFileSync(process.argv[2], pkg.buildImage({ size: 20000, version: '1.2.3', seed: 7 }));
console.log(JSON.stringify({ codecBackend: pkg.codecBackend, echo, connection: sim.connection }));
`;

const CJS_CONSUMER = `
const pkg = require('mcumgr-toolkit');
const sim = require('mcumgr-toolkit/sim');
const meta = require('mcumgr-toolkit/package.json');
console.log(JSON.stringify({
  codecBackend: pkg.codecBackend,
  client: typeof pkg.MCUmgrClient,
  startSimulator: typeof sim.startSimulator,
  version: meta.version,
}));
`;

const TS_CONSUMER = `
import { MCUmgrClient, codecBackend, type ImageSlotState } from 'mcumgr-toolkit';
import { startSimulator, type Simulator } from 'mcumgr-toolkit/sim';

export async function check(): Promise<string> {
  const sim: Simulator = await startSimulator({ transport: 'udp' });
  const client = await MCUmgrClient.connect(sim.connection);
  const slots: ImageSlotState[] = await client.image.state();
  const text: string = await client.os.echo('x');
  return codecBackend + text + slots.length;
}
`;

/** Starts `mcumgr sim … --json` and returns the child and the connection string it printed. */
function startCliSim(bin: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ child: ReturnType<typeof spawn>; connection: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['sim', '--transport', 'udp', '--json'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mcumgr sim printed no connection string in time; stderr: ${err}`));
    }, 20_000);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        const doc = JSON.parse(out.slice(0, nl)) as { simulators: { connection: string }[] };
        resolve({ child, connection: doc.simulators[0]!.connection });
      } catch (e) {
        child.kill('SIGKILL');
        reject(e as Error);
      }
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mcumgr sim exited (${code}) before printing a connection; stderr: ${err}`));
    });
  });
}

test('the packed package installs and works: import, require, sim, types, the mcumgr CLI, with and without the addon', { timeout: 300_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'mcumgr-pkg-'));
  t.after(() => {
    if (!process.env.KEEP_PACKAGE_TEST) rmSync(work, { recursive: true, force: true });
  });

  // 1. Build in a copy of the sources.
  const src = join(work, 'src-copy');
  mkdirSync(src);
  for (const name of SOURCES) cpSync(join(ROOT, name), join(src, name), { recursive: true });
  for (const name of readdirSync(ROOT)) if (/^(LICEN[CS]E|COPYING)/i.test(name)) cpSync(join(ROOT, name), join(src, name));
  symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'), 'dir');

  const t0 = Date.now();
  // `npm run build` would run `prebuild` first (npm's pre-hook) and then compile the addon a second
  // time for build/; the prebuild alone gives the package what it ships. The two steps write
  // different folders (build/ + prebuilds/, dist/), so they run side by side.
  const [prebuild, buildTs] = await Promise.all([npm(['run', 'prebuild'], src, 120_000), npm(['run', 'build:ts'], src, 120_000)]);
  if (prebuild.code !== 0) {
    // Under npm test the addon was just built: a failing prebuild is a regression, not an excuse.
    if (process.env.npm_lifecycle_event === 'test' || existsSync(join(ROOT, 'build', 'Release', 'mcumgr_native.node'))) {
      assert.fail(`npm run prebuild exited ${prebuild.code}: ${prebuild.stderr.trim().split('\n').slice(-5).join(' / ')}`);
    }
    t.skip(`cannot build the addon here (npm run prebuild exited ${prebuild.code}): ${prebuild.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    return;
  }
  mustPass(buildTs, 'npm run build:ts');
  const prebuilds = readdirSync(join(src, 'prebuilds', `${process.platform}-${process.arch}`));
  assert.ok(prebuilds.some((f) => f.endsWith('.node')), `no prebuild in ${prebuilds.join(', ')}`);
  const main = join(src, 'dist', 'cli', 'main.js');
  assert.ok(readFileSync(main, 'utf8').startsWith('#!/usr/bin/env node\n'), 'dist/cli/main.js keeps its shebang');
  assert.ok((statSync(main).mode & 0o111) !== 0, 'dist/cli/main.js is executable');

  // 2. Pack (the build is done: no prepack).
  const pack = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], src);
  if (pack.code !== 0) {
    t.skip(`npm pack is impossible here: ${pack.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    return;
  }
  const [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { filename: string; files: { path: string; mode: number }[] }[];
  const paths = packed!.files.map((f) => f.path);
  for (const p of ['package.json', 'README.md', 'binding.gyp', 'dist/index.js', 'dist/index.d.ts', 'dist/sim/index.js', 'dist/sim/index.d.ts', 'dist/cli/main.js', 'scripts/install.mjs', 'dist/page/assets/index.html', 'dist/page/assets/page.js']) {
    assert.ok(paths.includes(p), `the tarball lacks ${p}`);
  }
  assert.ok(paths.some((p) => p.startsWith('native/') && p.endsWith('.cc')), 'the addon sources are shipped (builds where no prebuild fits)');
  assert.ok(paths.some((p) => p.startsWith(`prebuilds/${process.platform}-${process.arch}/`)), 'the prebuild is shipped');
  const strays = paths.filter((p) => /^(src|test|bench|examples|fuzz|scratch|build|docs)\//.test(p) || /\.test\.|\.tsbuildinfo$/.test(p));
  assert.deepEqual(strays, [], 'no tests, sources, benchmarks or build leftovers in the tarball');
  assert.ok((packed!.files.find((f) => f.path === 'dist/cli/main.js')!.mode & 0o111) !== 0, 'the bin is executable in the tarball');
  const tarball = join(work, packed!.filename);
  t.diagnostic(`built and packed in ${Date.now() - t0} ms: ${packed!.files.length} files`);

  // 3. Install into an empty project: from npm's cache when it has everything, else the registry.
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  const flags = ['--no-audit', '--no-fund', '--no-save', '--loglevel=error'];
  let install = await npm(['install', tarball, '--offline', ...flags], app, 90_000);
  if (install.code !== 0) {
    t.diagnostic('npm install --offline: not everything is cached, retrying with --prefer-offline');
    install = await npm(['install', tarball, '--prefer-offline', ...flags], app, 120_000);
  }
  mustPass(install, 'npm install <tarball>');
  const installed = join(app, 'node_modules', 'mcumgr-toolkit');
  assert.ok(!existsSync(join(installed, 'build')), 'nothing was compiled at install: the prebuild was taken');
  t.diagnostic(`installed in ${Date.now() - t0} ms`);

  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, MCUMGR_CONN: '' };
  delete env.MCUMGR_NATIVE;
  const noAddonDir = join(work, 'no-addon');
  mkdirSync(noAddonDir);

  await t.test('import: the native codec from the prebuild, a UDP round trip with mcumgr-toolkit/sim', async () => {
    writeFileSync(join(app, 'esm.mjs'), ESM_CONSUMER);
    const r = lastJson(mustPass(await run(process.execPath, ['esm.mjs', join(app, 'image.bin')], { cwd: app, env }), 'esm.mjs'));
    assert.equal(r.codecBackend, 'native');
    assert.equal(r.echo, 'over udp');
    assert.match(r.connection, /^udp:127\.0\.0\.1:\d+$/);
  });

  await t.test('install scripts denied (--ignore-scripts, as npm 11 does for packages outside allowScripts): the prebuild still loads, the CLI runs', async () => {
    const denied = join(work, 'app-no-scripts');
    mkdirSync(denied);
    writeFileSync(join(denied, 'package.json'), JSON.stringify({ name: 'consumer-no-scripts', version: '1.0.0', private: true }));
    let r = await npm(['install', tarball, '--offline', '--ignore-scripts', ...flags], denied, 90_000);
    if (r.code !== 0) r = await npm(['install', tarball, '--prefer-offline', '--ignore-scripts', ...flags], denied, 120_000);
    mustPass(r, 'npm install --ignore-scripts <tarball>');
    writeFileSync(join(denied, 'esm.mjs'), ESM_CONSUMER);
    const j = lastJson(mustPass(await run(process.execPath, ['esm.mjs'], { cwd: denied, env }), 'esm.mjs without install scripts'));
    assert.equal(j.codecBackend, 'native', 'node-gyp-build finds the shipped prebuild without the install script');
    assert.equal(j.echo, 'over udp');
    const echo = await run(join(denied, 'node_modules', '.bin', 'mcumgr'), ['-c', 'sim', 'os', 'echo', 'no scripts', '--json'], { cwd: denied, env });
    assert.deepEqual(lastJson(mustPass(echo, 'mcumgr without install scripts')), { text: 'no scripts' });
  });

  await t.test('MCUMGR_NATIVE=0, or no addon to be found: the TypeScript codec, same results', async () => {
    for (const extra of [{ MCUMGR_NATIVE: '0' }, { MCUMGR_TOOLKIT_PREBUILD: noAddonDir }]) {
      const r = lastJson(mustPass(await run(process.execPath, ['esm.mjs'], { cwd: app, env: { ...env, ...extra } }), `esm.mjs ${JSON.stringify(extra)}`));
      assert.equal(r.codecBackend, 'ts', JSON.stringify(extra));
      assert.equal(r.echo, 'over udp');
    }
  });

  await t.test('the station page serves its own assets from dist/', async () => {
    const code = `import { servePage } from 'mcumgr-toolkit';
const page = await servePage();
const got = [];
for (const p of ['', 'page.js', 'page.css']) { const r = await fetch(page.url + p); got.push(r.status); await r.text(); }
await page.close();
console.log(JSON.stringify(got));`;
    writeFileSync(join(app, 'page.mjs'), code);
    assert.deepEqual(lastJson(mustPass(await run(process.execPath, ['page.mjs'], { cwd: app, env }), 'page.mjs')), [200, 200, 200]);
  });

  await t.test('require() from CommonJS', async () => {
    writeFileSync(join(app, 'cjs.cjs'), CJS_CONSUMER);
    // require() of an ES module: on by default from Node 20.19 / 22.12 (process.features.require_module);
    // older Node 20/22 lines need --experimental-require-module, which this passes when needed.
    const features = process.features as { require_module?: boolean };
    const flag = features.require_module === true ? [] : ['--experimental-require-module'];
    const r = lastJson(mustPass(await run(process.execPath, [...flag, 'cjs.cjs'], { cwd: app, env }), 'cjs.cjs'));
    assert.deepEqual(r, { codecBackend: 'native', client: 'function', startSimulator: 'function', version: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version });
  });

  await t.test('the type declarations resolve through "exports" (TypeScript, NodeNext)', async () => {
    writeFileSync(join(app, 'consumer.mts'), TS_CONSUMER);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          lib: ['ES2023'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        files: ['consumer.mts'],
      }),
    );
    mustPass(await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: app, env }), 'tsc on a consumer');
  });

  await t.test('the mcumgr command: sim, os echo, image upload, image list', async () => {
    const bin = join(app, 'node_modules', '.bin', 'mcumgr');
    const version = mustPass(await run(bin, ['--version'], { cwd: app, env }), 'mcumgr --version');
    assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);

    const image = readFileSync(join(app, 'image.bin'));
    // MCUboot: the SHA-256 covers the header and the body (ih_hdr_size at 8, ih_img_size at 12; no protected TLVs).
    const hash = createHash('sha256').update(image.subarray(0, image.readUInt16LE(8) + image.readUInt32LE(12))).digest('hex');

    const { child, connection } = await startCliSim(bin, app, env);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      assert.match(connection, /^udp:127\.0\.0\.1:\d+$/);
      const echo = lastJson(mustPass(await run(bin, ['--conn', connection, 'os', 'echo', 'hi', '--json'], { cwd: app, env }), 'mcumgr os echo'));
      assert.deepEqual(echo, { text: 'hi' });

      const up = lastJson(mustPass(await run(bin, ['--conn', connection, 'image', 'upload', join(app, 'image.bin'), '--json'], { cwd: app, env }), 'mcumgr image upload'));
      assert.equal(up.hash, hash);
      assert.equal(up.version, '1.2.3');
      assert.equal(up.bytes, image.length);
      assert.equal(up.match, true);

      const list = lastJson(mustPass(await run(bin, ['--conn', connection, 'image', 'list', '--json'], { cwd: app, env }), 'mcumgr image list'));
      const slot1 = (list.images as { slot: number; version: string; hash: string; active: boolean }[]).find((s) => s.slot === 1);
      assert.ok(slot1, `no slot 1 in ${JSON.stringify(list)}`);
      assert.equal(slot1.hash, hash);
      assert.equal(slot1.version, '1.2.3');
      assert.equal(slot1.active, false);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, 'mcumgr sim stops cleanly on SIGTERM');
  });

  await t.test('the install script never fails: no prebuild that loads and no compiler → the TypeScript codec', async () => {
    const bare: NodeJS.ProcessEnv = { ...env, MCUMGR_TOOLKIT_PREBUILD: noAddonDir, PATH: noAddonDir };
    delete bare.npm_config_node_gyp;
    const r = mustPass(await run(process.execPath, [join(installed, 'scripts', 'install.mjs')], { cwd: installed, env: bare }), 'install.mjs');
    assert.match(r.stdout, /using the TypeScript codec/);
    assert.ok(!existsSync(join(installed, 'build', 'Release')), 'nothing was built');
  });
});
