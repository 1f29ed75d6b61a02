// The layers of ARCHITECTURE.md, checked on the sources: every import of every file under src/
// (static `import`/`export … from`, `import type`, and `import('…')` with a literal) must point
// to the importer's own layer or a lower one; the simulator may import only the base and the
// codec. The rule table is derived from LAYERS below, the only place the layers are declared.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/**
 * The layers, lowest first (ARCHITECTURE.md draws the same table). `paths` are prefixes of file
 * paths under src/ (the longest match wins); a layer may import its own files and every layer
 * listed before it, unless `only` narrows that list.
 */
const LAYERS: readonly { name: string; paths: readonly string[]; only?: readonly string[] }[] = [
  { name: 'base', paths: ['errors.ts', 'describe.ts', 'protocol/', 'addon.ts'] },
  { name: 'codec', paths: ['codec/'] },
  { name: 'image', paths: ['image/'] },
  { name: 'transport', paths: ['transport/'] },
  { name: 'session', paths: ['session'] },
  { name: 'groups', paths: ['groups/'] },
  { name: 'transfer', paths: ['transfer/'] },
  { name: 'workflows', paths: ['workflows/'] },
  { name: 'client', paths: ['client', 'connection.ts'] },
  { name: 'bulk', paths: ['bulk/'] },
  { name: 'fleet', paths: ['fleet/'] },
  { name: 'page', paths: ['page/'] },
  { name: 'api', paths: ['index.ts'] },
  { name: 'sim', paths: ['sim/'], only: ['base', 'codec'] },
  { name: 'cli', paths: ['cli/'] },
];

/**
 * Imports of the simulator that break its rule today and are known: each names the module the
 * simulator still takes from a layer it must not use, and why. An entry no file needs any more
 * fails the test, so the list only shrinks.
 */
const SIM_EXCEPTIONS: Readonly<Record<string, string>> = {
  'transport/transport.ts': 'the Transport interface a simulated link offers to a client (types only)',
  'transport/emitter.ts': 'the event emitter of the in-memory link the simulator serves',
  'transport/memory.ts': 'createMemoryPair, re-exported by the sim entry point',
  'transport/framing.ts': 'the SerialEncoding type and its check, shared with the serial transports',
  'transport/ble/adapter.ts': 'the BleAdapter interface the simulated radio offers to a BLE transport (types only)',
};

type Layer = (typeof LAYERS)[number];

/** The layer of a path under src/ (`/`-separated), or undefined when no layer claims it. */
function layerOf(path: string): Layer | undefined {
  let best: Layer | undefined;
  let bestLen = -1;
  for (const l of LAYERS) {
    for (const p of l.paths) {
      if (path.startsWith(p) && p.length > bestLen) {
        best = l;
        bestLen = p.length;
      }
    }
  }
  return best;
}

/** Which layers a layer may import, derived from the order of LAYERS and `only`. */
function allowedFrom(l: Layer): Set<string> {
  const below = LAYERS.slice(0, LAYERS.indexOf(l)).map((x) => x.name);
  return new Set([l.name, ...(l.only ?? below)]);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.[cm]?ts$/.test(name) && !name.endsWith('.d.ts') ? [p] : [];
  });
}

const rel = (abs: string): string => relative(SRC, abs).split(sep).join('/');

/** A relative import's target under src/ (`./x.js` is the source `x.ts`); undefined when outside src/. */
function resolveTarget(from: string, spec: string): string | undefined {
  const abs = resolve(dirname(from), spec);
  if (!abs.startsWith(SRC + sep)) return undefined;
  for (const cand of [abs.replace(/\.([cm]?)js$/, '.$1ts'), abs, `${abs}.ts`, join(abs, 'index.ts')]) {
    if (existsSync(cand) && statSync(cand).isFile()) return rel(cand);
  }
  return `${rel(abs)} (missing)`;
}

interface Arrow {
  from: string;
  to: string;
}

/** Every import of every file under src/ that points into src/. */
function arrows(): Arrow[] {
  const out: Arrow[] = [];
  for (const file of sourceFiles(SRC)) {
    // preProcessFile is TypeScript's own import scanner: it skips comments and strings, and sees
    // `import type`, `export … from` and `import('…')` with a literal (also in type positions).
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('.')) continue; // packages and node: builtins
      const to = resolveTarget(file, fileName);
      if (to !== undefined) out.push({ from: rel(file), to });
    }
  }
  return out;
}

/** The arrows against the layers, as readable lines; the simulator's known exceptions are left out. */
function violations(all: readonly Arrow[]): string[] {
  const bad: string[] = [];
  for (const { from, to } of all) {
    const a = layerOf(from);
    const b = layerOf(to);
    if (!a || !b) continue; // reported by the "every file has a layer" test
    if (allowedFrom(a).has(b.name)) continue;
    if (a.name === 'sim' && SIM_EXCEPTIONS[to] !== undefined) continue;
    const may = [...allowedFrom(a)].join(', ');
    bad.push(`src/${from} (${a.name}) imports src/${to} (${b.name}); ${a.name} may import only ${may}`);
  }
  return bad;
}

describe('layers (ARCHITECTURE.md)', () => {
  const all = arrows();

  it('reads the imports of the sources (static, type-only, re-exports and literal dynamic imports)', () => {
    const files = sourceFiles(SRC).length;
    assert.ok(files > 50, `only ${files} source files found under ${SRC}`);
    const has = (from: string, to: string): boolean => all.some((a) => a.from === from && a.to === to);
    assert.ok(has('client.ts', 'session.ts'), 'a static import was missed');
    assert.ok(has('index.ts', 'client.ts'), 'an export … from was missed');
    assert.ok(all.some((a) => a.from.startsWith('cli/') && a.to === 'sim/index.ts'), "a dynamic import('…') was missed");
    assert.deepEqual(all.filter((a) => a.to.endsWith('(missing)')), [], 'imports that resolve to no file under src/');
  });

  it('every file under src/ belongs to a layer', () => {
    const orphans = sourceFiles(SRC)
      .map(rel)
      .filter((f) => !layerOf(f));
    assert.deepEqual(orphans, [], 'add the folder to LAYERS here and to the table of ARCHITECTURE.md');
  });

  it('no import points to a higher layer, and the simulator imports only the base and the codec', () => {
    assert.deepEqual(violations(all), []);
  });

  it('every known exception of the simulator is still needed', () => {
    const used = new Set(all.filter((a) => layerOf(a.from)?.name === 'sim').map((a) => a.to));
    const stale = Object.keys(SIM_EXCEPTIONS).filter((to) => !used.has(to));
    assert.deepEqual(stale, [], 'no sim file imports these any more: remove them from SIM_EXCEPTIONS');
  });

  it('the rule table follows from the declared layers', () => {
    const names = (l: string): string[] => [...allowedFrom(LAYERS.find((x) => x.name === l)!)].sort();
    assert.deepEqual(names('groups'), ['base', 'codec', 'groups', 'image', 'session', 'transport']);
    assert.deepEqual(names('sim'), ['base', 'codec', 'sim']);
    assert.ok(allowedFrom(LAYERS.find((x) => x.name === 'cli')!).has('sim'));
    // Each kind of wrong arrow is caught: upward, and from the simulator into a layer it must not use.
    assert.equal(violations([{ from: 'groups/image.ts', to: 'transfer/image-upload.ts' }]).length, 1);
    assert.equal(violations([{ from: 'transfer/window.ts', to: 'workflows/firmware-update.ts' }]).length, 1);
    assert.equal(violations([{ from: 'sim/simulator.ts', to: 'session.ts' }]).length, 1);
    assert.equal(violations([{ from: 'sim/simulator.ts', to: 'client.ts' }]).length, 1);
    assert.equal(violations([{ from: 'fleet/x.ts', to: 'cli/main.ts' }]).length, 1);
    assert.equal(violations([{ from: 'cli/main.ts', to: 'fleet/x.ts' }]).length, 0);
    assert.equal(violations([{ from: 'fleet/x.ts', to: 'index.ts' }]).length, 1, 'inside the library, import the module, not the package root');
  });
});
