#!/usr/bin/env node
// Builds and runs the fuzz targets (fuzz/): the libFuzzer harnesses over the native codec core,
// built with clang -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all into .fuzz/bin,
// and the JavaScript target over the session/CBOR/group parsing (fuzz/cbor-session.ts).
//
//   npm run fuzz -- [--seconds N] [--targets console,cobs,...] [--jobs J] [--regress-only]
//
// Each target first replays the committed regression inputs (fuzz/regressions/<target>/), then
// fuzzes for N seconds (default 10) from the seed corpus (made from the §9 vectors by
// fuzz/gen-corpus.mjs) plus the corpus earlier runs left in .fuzz/corpus/<target>. A crash, a
// leak, undefined behaviour, a failed invariant, an allocation over 256 MB or an input running over
// 10 s is a finding: the reproducer is written to .fuzz/artifacts/ and the exit code is 1.
// Prints a table, then a last JSON line {"fuzz":"summary","findings":0,"targets":[…]}.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const NATIVE_TARGETS = ['console', 'cobs', 'raw', 'base64', 'packet'];
const JS_TARGETS = ['cbor-session'];
const ALL = [...NATIVE_TARGETS, ...JS_TARGETS];

function usage(msg) {
  console.error(`${msg}\nusage: npm run fuzz -- [--seconds N] [--targets ${ALL.join(',')}] [--jobs J] [--regress-only]`);
  process.exit(2);
}

const opts = { seconds: 10, targets: ALL, jobs: 1, regressOnly: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = process.argv[i + 1];
  if (a === '--seconds') {
    opts.seconds = Number(v);
    if (!(opts.seconds > 0)) usage(`--seconds must be a positive number, got ${v}`);
    i++;
  } else if (a === '--targets') {
    opts.targets = String(v).split(',').filter(Boolean);
    for (const t of opts.targets) if (!ALL.includes(t)) usage(`unknown target ${t}`);
    i++;
  } else if (a === '--jobs') {
    opts.jobs = Math.max(1, Math.floor(Number(v)) || 1);
    i++;
  } else if (a === '--regress-only') {
    opts.regressOnly = true;
  } else {
    usage(`unknown argument ${a}`);
  }
}

const dir = join(root, '.fuzz');
const bin = join(dir, 'bin');
const seeds = join(dir, 'seeds');
for (const d of [bin, join(dir, 'artifacts'), join(dir, 'logs')]) mkdirSync(d, { recursive: true });

/** The clang++ to use: $FUZZ_CXX, else clang++, else a versioned one. */
function findClang() {
  const names = [process.env.FUZZ_CXX, 'clang++', ...Array.from({ length: 12 }, (_, k) => `clang++-${21 - k}`)].filter(Boolean);
  for (const n of names) {
    const r = spawnSync(n, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return n;
  }
  return undefined;
}

const FLAGS = ['-std=c++17', '-g', '-O1', '-fno-omit-frame-pointer', '-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=all', '-Wall', '-Wextra'];

function newestMtime(files) {
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

function headers() {
  const fuzzH = readdirSync(join(root, 'fuzz')).filter((f) => f.endsWith('.h')).map((f) => join(root, 'fuzz', f));
  const coreH = readdirSync(join(root, 'native')).filter((f) => /^codec_core.*\.h$/.test(f)).map((f) => join(root, 'native', f));
  return [...fuzzH, ...coreH, fileURLToPath(import.meta.url)];
}

/** Builds the native targets that are out of date, `jobs` at a time. */
async function build(cxx, targets) {
  const deps = headers();
  const todo = targets.filter((t) => {
    const out = join(bin, `fuzz_${t}`);
    return !existsSync(out) || statSync(out).mtimeMs < newestMtime([...deps, join(root, 'fuzz', `fuzz_${t}.cc`)]);
  });
  const run = (t) =>
    new Promise((resolve) => {
      const args = [...FLAGS, join(root, 'fuzz', `fuzz_${t}.cc`), '-o', join(bin, `fuzz_${t}`)];
      const p = spawn(cxx, args, { stdio: ['ignore', 'inherit', 'inherit'] });
      p.on('close', (code) => resolve(code === 0 ? null : t));
    });
  const failed = [];
  const queue = [...todo];
  const workers = Array.from({ length: Math.min(2, queue.length) }, async () => {
    for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
      process.stdout.write(`building fuzz_${t}\n`);
      const f = await run(t);
      if (f) failed.push(f);
    }
  });
  await Promise.all(workers);
  if (failed.length) {
    console.error(`fuzz: the build of ${failed.join(', ')} failed`);
    process.exit(1);
  }
}

/**
 * Runs a command, keeping its output in a log file; resolves with { code, out }. A run that
 * outlives its wall-clock budget is killed and reported as a failure (a hang is a finding too),
 * so CI can never wait on a stuck target.
 */
function runLogged(cmd, args, log, env = process.env, budgetMs = (opts.seconds + 120) * 1000) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      p.kill('SIGKILL');
    }, budgetMs);
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      if (killed) out += `\nfuzz: killed after ${budgetMs} ms (a hang)\n`;
      writeFileSync(log, out);
      resolve({ code: killed ? 124 : code ?? (signal ? 128 : 1), out });
    });
  });
}

const ASAN = 'detect_leaks=1:malloc_context_size=8:allocator_may_return_null=0';
const UBSAN = 'print_stacktrace=1:halt_on_error=1';

async function runNative(t) {
  const exe = join(bin, `fuzz_${t}`);
  const env = { ...process.env, ASAN_OPTIONS: ASAN, UBSAN_OPTIONS: UBSAN };
  const reg = join(root, 'fuzz', 'regressions', t);
  const row = { target: t, regressions: 0, execs: 0, seconds: 0, corpus: 0, cov: 0, findings: 0, note: '' };
  if (existsSync(reg)) {
    const files = readdirSync(reg).map((f) => join(reg, f));
    row.regressions = files.length;
    if (files.length) {
      const r = await runLogged(exe, ['-timeout=10', ...files], join(dir, 'logs', `${t}-regress.log`), env);
      if (r.code !== 0) {
        row.findings++;
        row.note = `regression input failed (see .fuzz/logs/${t}-regress.log)`;
        console.error(tail(r.out));
        return row;
      }
    }
  }
  if (opts.regressOnly) return row;
  const corpus = join(dir, 'corpus', t);
  mkdirSync(corpus, { recursive: true });
  const args = [
    `-max_total_time=${Math.max(1, Math.round(opts.seconds))}`, // 0 would mean forever
    '-timeout=10',
    '-rss_limit_mb=2048',
    '-malloc_limit_mb=256',
    '-max_len=16384',
    '-use_value_profile=1',
    '-print_final_stats=1',
    `-artifact_prefix=${join(dir, 'artifacts', `${t}-`)}`,
  ];
  const dict = join(root, 'fuzz', `${t}.dict`);
  if (existsSync(dict)) args.push(`-dict=${dict}`);
  args.push(corpus, join(seeds, t));
  const t0 = Date.now();
  const r = await runLogged(exe, args, join(dir, 'logs', `${t}.log`), env);
  row.seconds = (Date.now() - t0) / 1000;
  row.execs = Number(/stat::number_of_executed_units:\s*(\d+)/.exec(r.out)?.[1] ?? /Done (\d+) runs/.exec(r.out)?.[1] ?? 0);
  row.cov = Number([...r.out.matchAll(/\bcov: (\d+)/g)].pop()?.[1] ?? 0);
  row.corpus = readdirSync(corpus).length;
  if (r.code !== 0) {
    row.findings++;
    const art = /Test unit written to (\S+)/.exec(r.out)?.[1];
    row.note = art ? `reproducer ${art}` : `exit ${r.code} (see .fuzz/logs/${t}.log)`;
    console.error(tail(r.out));
  }
  return row;
}

async function runJs(t) {
  const row = { target: t, regressions: 0, execs: 0, seconds: 0, corpus: 0, cov: 0, findings: 0, note: '' };
  if (opts.regressOnly) return row;
  const seed = (Date.now() ^ process.pid) >>> 0;
  const args = ['--import', 'tsx', join(root, 'fuzz', `${t}.ts`), '--seconds', String(opts.seconds), '--seed', String(seed), '--corpus', join(seeds, 'cbor')];
  const t0 = Date.now();
  const r = await runLogged(process.execPath, args, join(dir, 'logs', `${t}.log`));
  row.seconds = (Date.now() - t0) / 1000;
  const last = r.out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  let j = {};
  try {
    j = JSON.parse(last ?? '{}');
  } catch {
    j = {};
  }
  row.execs = j.execs ?? 0;
  if (r.code !== 0 || (j.findings ?? 1) !== 0) {
    row.findings++;
    row.note = `seed ${seed} (see .fuzz/logs/${t}.log)`;
    console.error(tail(r.out));
  }
  return row;
}

function tail(s, n = 40) {
  return s.trim().split('\n').slice(-n).join('\n');
}

const native = opts.targets.filter((t) => NATIVE_TARGETS.includes(t));
const js = opts.targets.filter((t) => JS_TARGETS.includes(t));
const rows = [];
const started = Date.now();

{
  const g = spawnSync(process.execPath, [join(root, 'fuzz', 'gen-corpus.mjs'), seeds], { stdio: 'inherit' });
  if (g.status !== 0) process.exit(1);
}
if (native.length) {
  const cxx = findClang();
  if (!cxx) {
    console.error('fuzz: clang++ not found (apt-get install -y clang, or set FUZZ_CXX); libFuzzer targets need clang');
    process.exit(1);
  }
  await build(cxx, native);
}
const queue = [...native, ...js];
await Promise.all(
  Array.from({ length: Math.min(opts.jobs, queue.length) }, async () => {
    for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
      process.stdout.write(`fuzzing ${t}${opts.regressOnly ? ' (regressions only)' : ` for ${opts.seconds} s`}\n`);
      rows.push(NATIVE_TARGETS.includes(t) ? await runNative(t) : await runJs(t));
    }
  }),
);
rows.sort((a, b) => ALL.indexOf(a.target) - ALL.indexOf(b.target));

const head = ['target', 'regress', 'execs', 'exec/s', 'seconds', 'cov', 'corpus', 'findings'];
const table = rows.map((r) => [r.target, r.regressions, r.execs, r.seconds ? Math.round(r.execs / r.seconds) : 0, r.seconds.toFixed(1), r.cov || '-', r.corpus || '-', r.findings]);
const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => String(row[i]).length)));
const line = (cells) => cells.map((c, i) => String(c).padStart(widths[i])).join('  ');
console.log(line(head));
for (const r of table) console.log(line(r));
for (const r of rows) if (r.note) console.log(`  ${r.target}: ${r.note}`);
const findings = rows.reduce((s, r) => s + r.findings, 0);
const execs = rows.reduce((s, r) => s + r.execs, 0);
console.log(
  JSON.stringify({
    fuzz: 'summary',
    seconds: Number(((Date.now() - started) / 1000).toFixed(1)),
    execs,
    findings,
    targets: rows.map((r) => ({ target: r.target, execs: r.execs, seconds: Number(r.seconds.toFixed(1)), findings: r.findings })),
  }),
);
process.exit(findings ? 1 : 0);
