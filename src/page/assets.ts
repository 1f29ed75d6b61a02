/**
 * The page's own files (HTML, CSS, JS), read once from the package's `assets/` folder next to this
 * module into memory. The server answers only these names, looked up in a fixed table: a request
 * path never reaches the file system, so nothing outside the assets can be served.
 * @module
 */
import { readFile } from 'node:fs/promises';

/** One asset, ready to send. */
export interface PageAsset {
  body: Buffer;
  type: string;
}

/** URL path → file name in `assets/` and its content type. */
const TABLE: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/page.css': ['page.css', 'text/css; charset=utf-8'],
  '/page.js': ['page.js', 'text/javascript; charset=utf-8'],
  '/favicon.svg': ['favicon.svg', 'image/svg+xml'],
};

let loaded: Promise<Map<string, PageAsset>> | undefined;

/** The assets by URL path (read once per process). */
export function loadAssets(): Promise<Map<string, PageAsset>> {
  loaded ??= (async () => {
    const dir = new URL('./assets/', import.meta.url);
    const out = new Map<string, PageAsset>();
    for (const [path, [file, type]] of Object.entries(TABLE)) {
      try {
        out.set(path, { body: await readFile(new URL(file, dir)), type });
      } catch (e) {
        throw new Error(`page: asset ${file} is missing from ${dir.pathname} (a build that did not copy src/page/assets?): ${(e as Error).message}`);
      }
    }
    return out;
  })();
  loaded.catch(() => (loaded = undefined));
  return loaded;
}
