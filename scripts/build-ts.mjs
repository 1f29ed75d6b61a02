// `npm run build:ts`: compiles src/ into a clean dist/ with tsconfig.build.json, then makes every
// `bin` of package.json executable and checks that it starts with a `#!` line (tsc keeps the
// shebang of src/cli/main.ts; npm links bins as they are on POSIX), and copies the page's assets.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { root } from './native-env.mjs';

const require = createRequire(join(root, 'package.json'));
rmSync(join(root, 'dist'), { recursive: true, force: true });
const r = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
if (r.error) throw r.error;
if (r.status !== 0) process.exit(r.status ?? 1);

// The station page's own HTML/CSS/JS: tsc does not copy them, the server reads them next to its module.
cpSync(join(root, 'src/page/assets'), join(root, 'dist/page/assets'), { recursive: true });

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const bins = typeof pkg.bin === 'string' ? { [pkg.name]: pkg.bin } : (pkg.bin ?? {});
for (const [name, rel] of Object.entries(bins)) {
  const file = join(root, rel);
  if (!readFileSync(file, 'utf8').startsWith('#!')) {
    console.error(`build:ts: ${rel} (bin ${name}) has no #! line`);
    process.exit(1);
  }
  chmodSync(file, 0o755);
}
