// Shared by the addon scripts: where Node's headers are on this machine and which node-gyp to
// run. node-gyp downloads the headers of the running Node from nodejs.org unless it is given a
// directory that already holds them (`--nodedir`); every script here passes one when it can find
// one, so building never needs the network.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (the folder holding binding.gyp). */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const hasHeaders = (dir) => existsSync(join(dir, 'include', 'node', 'node_api.h'));

/**
 * A directory whose `include/node` holds the headers of the running Node, or undefined.
 * Looked at: `npm_config_nodedir` (`--nodedir`, `.npmrc`), then the prefix the `node` binary
 * was installed under (official tarballs, nvm, Homebrew and Debian's libnode-dev put the headers
 * in `<prefix>/include/node`).
 */
export function findNodeDir() {
  const candidates = [process.env.npm_config_nodedir, process.env.NODEDIR, dirname(dirname(process.execPath))];
  for (const c of candidates) if (c && hasHeaders(resolve(c))) return resolve(c);
  return undefined;
}

/**
 * How to run node-gyp: `[command, ...leadingArgs]`. The project's own node-gyp (a
 * devDependency) when installed, else the one npm ships with (`npm_config_node_gyp`, set in
 * lifecycle scripts), else `node-gyp` on the PATH.
 */
export function nodeGypCommand() {
  try {
    const require = createRequire(join(root, 'package.json'));
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    /* not a development checkout */
  }
  const npmGyp = process.env.npm_config_node_gyp;
  if (npmGyp && existsSync(npmGyp)) return npmGyp.endsWith('.js') ? [process.execPath, npmGyp] : [npmGyp];
  return ['node-gyp'];
}
