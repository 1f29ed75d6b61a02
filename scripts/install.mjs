// The package's `install` script. It never fails the installation and never downloads:
// 1. the addon already loads (a prebuild in prebuilds/<platform>-<arch>/ or an earlier build) → done;
// 2. else, if Node's headers are on this machine and node-gyp runs (python3, make, a C++
//    compiler), build it into build/Release;
// 3. else say so once: the pure-TypeScript twins of every native function are used at run time.
// MCUMGR_NATIVE=0 skips the build altogether (the addon would not be loaded anyway).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { findNodeDir, nodeGypCommand, root } from './native-env.mjs';

const fallback = 'mcumgr-toolkit: using the TypeScript codec (slower, same results)';

function loads() {
  try {
    createRequire(join(root, 'package.json'))('node-gyp-build')(root);
    return true;
  } catch {
    return false;
  }
}

function main() {
  if (process.env.MCUMGR_NATIVE === '0') return;
  if (loads()) return;
  const nodedir = findNodeDir();
  if (!nodedir) {
    console.log(`${fallback}: no prebuilt addon for ${process.platform}-${process.arch} and no local Node headers to build one (set npm_config_nodedir to build it)`);
    return;
  }
  const [cmd, ...lead] = nodeGypCommand();
  // Warnings are errors in development and CI (binding.gyp), not on a user's machine, where a
  // newer compiler's new warning must not cost them the addon.
  const args = [...lead, 'rebuild', '--silent', '--jobs=max', `--nodedir=${nodedir}`, '--mcumgr_werror=0'];
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status === 0 && loads()) return;
  const why = r.error ? r.error.message : (r.stderr?.toString().trim().split('\n').slice(-3).join(' / ') || `node-gyp exited with ${r.status}`);
  console.log(`${fallback}: the native addon could not be built (${why})`);
}

try {
  main();
} catch (e) {
  console.log(`${fallback}: ${e?.message ?? e}`);
}
process.exit(0);
