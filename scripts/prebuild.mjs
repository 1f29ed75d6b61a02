// `npm run prebuild`: prebuildify --napi --strip --tag-libc → prebuilds/<platform>-<arch>/
// mcumgr-toolkit.<libc>.node (a glibc build is not offered to musl, which then builds its own),
// the N-API build node-gyp-build finds at run time on machines without a compiler. The local
// Node headers are handed to node-gyp (npm_config_nodedir) so nothing is downloaded. prebuildify
// moves build/Release/mcumgr_native.node away; the stripped binary is copied back, since
// node-gyp-build prefers build/Release and the tests in this checkout load it from there.
// (npm runs this script before `npm run build` too, as its "pre" hook.)
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findNodeDir, nodeGypCommand, root } from './native-env.mjs';

const require = createRequire(join(root, 'package.json'));
const nodedir = findNodeDir();
const [cmd, ...lead] = nodeGypCommand();
const env = { ...process.env, PREBUILD_NODE_GYP: lead.length ? lead[0] : cmd, npm_config_jobs: 'max', npm_config_loglevel: 'warn' };
if (nodedir) env.npm_config_nodedir = nodedir;
else console.error('prebuild: no local Node headers found; node-gyp will download them');

const run = (c, a, e = env) => {
  const r = spawnSync(c, a, { cwd: root, stdio: 'inherit', env: e });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(process.execPath, [require.resolve('prebuildify/bin.js'), '--napi', '--strip', '--tag-libc']);
const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const built = readdirSync(dir).filter((f) => f.endsWith('.node'));
mkdirSync(join(root, 'build', 'Release'), { recursive: true });
copyFileSync(join(dir, built[0]), join(root, 'build', 'Release', 'mcumgr_native.node'));
console.log(`prebuild: ${join('prebuilds', `${process.platform}-${process.arch}`, built[0])}`);
