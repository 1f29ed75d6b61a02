// `npm run mcumgr -- <args>`: the `mcumgr` command from a checkout, straight from src/ (no build
// step, so it is always the code you are looking at). npm runs scripts in the package folder;
// the command goes back to the folder it was typed in (INIT_CWD), so relative file names mean
// what they say.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { root } from './native-env.mjs';

if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);
await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
