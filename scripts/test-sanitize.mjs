#!/usr/bin/env node
// `node scripts/test-sanitize.mjs [--no-build]`: the addon's own tests (codec, serial I/O, workers)
// against an ASan + UBSan build of the addon. The libFuzzer targets (fuzz/) cover the codec cores
// without Node-API; this covers the Node-API side: argument reading, the buffer pool, decoder
// objects, the serial I/O core, PTYs and worker teardown.
//
// Builds build-sanitize/ (`build-native.mjs --sanitize`) unless --no-build, then runs the tests with
//   LD_PRELOAD     the compiler's ASan runtime: node itself is not instrumented, and ASan must
//                  come first in the process's library list;
//   ASAN_OPTIONS   detect_leaks=0: V8 and Node keep process-lifetime allocations that LeakSanitizer
//                  reports as leaks at exit, so leak checking is off (the fuzz targets check leaks
//                  in the cores);
//   MCUMGR_NATIVE=1 and MCUMGR_NATIVE_ADDON: load exactly the sanitized build, never the twins.
// Reports go to files under build-sanitize/reports/ as well as failing the process that hit them
// (halt on the first error, UBSan included), so one in a child process or worker whose exit a
// test tolerates is still caught: any report file fails the run. Exit code 0 only when the tests
// pass and no report was written.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './native-env.mjs';

const TESTS = (() => {
  const files = readdirSync(join(root, 'test'))
    .filter((f) => /^(codec-.*|serial-.*)\.test\.ts$/.test(f))
    .sort();
  return files.map((f) => join('test', f));
})();

if (!process.argv.includes('--no-build')) {
  const b = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs'), '--sanitize'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) {
    console.error('test-sanitize: the sanitizer build failed');
    process.exit(1);
  }
}

const addon = join(root, 'build-sanitize', 'build', 'Release', 'mcumgr_native.node');
if (!existsSync(addon)) {
  console.error(`test-sanitize: ${addon} is missing; run without --no-build`);
  process.exit(1);
}

// The ASan runtime of the compiler node-gyp used (g++ unless CXX says otherwise).
const cxx = process.env.CXX || 'g++';
const rt = spawnSync(cxx, ['-print-file-name=libasan.so'], { encoding: 'utf8' });
const libasan = (rt.stdout ?? '').trim();
if (rt.status !== 0 || !libasan.startsWith('/') || !existsSync(libasan)) {
  console.error(`test-sanitize: ${cxx} does not know where libasan.so is (got "${libasan}"); install the compiler's ASan runtime`);
  process.exit(1);
}

const reports = join(root, 'build-sanitize', 'reports');
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });

const env = {
  ...process.env,
  LD_PRELOAD: [libasan, process.env.LD_PRELOAD].filter(Boolean).join(' '),
  ASAN_OPTIONS: `detect_leaks=0:halt_on_error=1:log_path=${join(reports, 'asan')}`,
  UBSAN_OPTIONS: `halt_on_error=1:print_stacktrace=1:log_path=${join(reports, 'ubsan')}`,
  MCUMGR_NATIVE: '1',
  MCUMGR_NATIVE_ADDON: addon,
};
console.log(`test-sanitize: ${TESTS.length} test files against ${addon}`);
const t = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...TESTS], { cwd: root, env, stdio: 'inherit' });

const found = readdirSync(reports);
for (const f of found) {
  console.error(`\n---- sanitizer report ${f} ----`);
  console.error(readFileSync(join(reports, f), 'utf8'));
}
if (found.length > 0) {
  console.error(`test-sanitize: ${found.length} sanitizer report(s) (see above)`);
  process.exit(1);
}
if (t.status !== 0) {
  console.error(`test-sanitize: the tests failed (exit ${t.status ?? t.signal})`);
  process.exit(1);
}
console.log('test-sanitize: tests passed, no sanitizer report');
