// `npm run build:native`: compiles the addon into build/Release with node-gyp, against the
// local Node headers when they can be found (no download); otherwise node-gyp's usual header
// download is the last resort. Exits with node-gyp's status.
import { spawnSync } from 'node:child_process';
import { findNodeDir, nodeGypCommand, root } from './native-env.mjs';

// --if-stale (used by `npm test`): skip the rebuild when the addon is newer than its sources, as
// after `npm install` built it; a full node-gyp rebuild costs ~20 s on a small machine.
if (process.argv.includes('--if-stale')) {
  const { existsSync, statSync, readdirSync } = await import('node:fs');
  const { join } = await import('node:path');
  const out = join(root, 'build', 'Release', 'mcumgr_native.node');
  if (existsSync(out)) {
    const built = statSync(out).mtimeMs;
    const sources = [join(root, 'binding.gyp'), ...readdirSync(join(root, 'native')).map((f) => join(root, 'native', f))];
    if (sources.every((f) => statSync(f).mtimeMs <= built)) process.exit(0);
  }
}

// --sanitize: an ASan + UBSan build of the same sources into build-sanitize/ (the normal build in
// build/ is left alone), loaded when MCUMGR_NATIVE_ADDON names it; scripts/test-sanitize.mjs runs
// the addon's tests against it. node-gyp always builds into ./build of its working directory, so
// the build runs in build-sanitize/ from a binding.gyp derived from the real one.
let cwd = root;
if (process.argv.includes('--sanitize')) cwd = await sanitizeProject();

const [cmd, ...lead] = nodeGypCommand();
const nodedir = findNodeDir();
const args = [...lead, 'rebuild', '--silent', '--jobs=max', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
if (!nodedir) console.error('build:native: no local Node headers found; node-gyp will download them');
const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
if (r.error) {
  console.error(`build:native: cannot run node-gyp: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? 1);

/** Writes build-sanitize/binding.gyp (the real target with sanitizer flags) and returns its folder. */
async function sanitizeProject() {
  const { mkdirSync, readFileSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const dir = join(root, 'build-sanitize');
  mkdirSync(dir, { recursive: true });
  const gyp = JSON.parse(readFileSync(join(root, 'binding.gyp'), 'utf8'));
  const san = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer', '-g'];
  for (const t of gyp.targets) {
    t.sources = t.sources.map((s) => `../${s}`);
    // -O1 keeps stack traces readable and the build short; the rest of the flags stay as they are.
    t.cflags_cc = [...t.cflags_cc.filter((f) => !/^-O\d$/.test(f)), '-O1', ...san];
    t.cflags = [...(t.cflags ?? []), ...san];
    t.ldflags = [...(t.ldflags ?? []), '-fsanitize=address,undefined'];
  }
  writeFileSync(join(dir, 'binding.gyp'), JSON.stringify(gyp, null, 2) + '\n');
  return dir;
}
