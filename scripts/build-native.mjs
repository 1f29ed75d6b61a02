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

const [cmd, ...lead] = nodeGypCommand();
const nodedir = findNodeDir();
const args = [...lead, 'rebuild', '--silent', '--jobs=max', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
if (!nodedir) console.error('build:native: no local Node headers found; node-gyp will download them');
const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
if (r.error) {
  console.error(`build:native: cannot run node-gyp: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? 1);
