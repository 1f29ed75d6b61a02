/**
 * The simulated device's in-memory file system, behaving like Zephyr's VFS over LittleFS where
 * fs_mgmt can tell the difference: absolute paths only, a path must lie under a mount point
 * (e.g. `/lfs`), parent directories must exist to create a file, read-only mounts refuse writes.
 * @module
 */

/** Result of {@link SimFs.stat}: a file size, or why there is none. */
export type StatOutcome = number | 'dir' | 'enoent' | 'einval';
/** Result of {@link SimFs.openForWrite}. */
export type OpenOutcome = 'ok' | 'einval' | 'enoent' | 'erofs' | 'eisdir';

/** Options of {@link SimFs}. */
export interface SimFsOptions {
  /** Mount points, e.g. `['/lfs']`. */
  mountPoints?: string[];
  /** Mount points mounted read-only. */
  readOnly?: string[];
  /** Extra directories to create (mount roots always exist). */
  dirs?: string[];
  /** Initial files: absolute path → content (strings are UTF-8). Parent directories are created. */
  files?: Record<string, Uint8Array | string>;
}

/** An in-memory file system with mount points. */
export class SimFs {
  /** Files by absolute path. Tests may inspect and edit this map directly. */
  readonly files = new Map<string, Buffer>();
  /** Directories by absolute path (mount roots included). */
  readonly dirs = new Set<string>();
  readonly mountPoints: string[];
  readonly readOnly: Set<string>;

  constructor(opts: SimFsOptions = {}) {
    this.mountPoints = opts.mountPoints ?? ['/lfs'];
    this.readOnly = new Set(opts.readOnly ?? []);
    for (const m of this.mountPoints) {
      if (!m.startsWith('/') || m.length < 2 || m.endsWith('/')) throw new RangeError(`mount point must look like "/lfs", got "${m}"`);
      this.dirs.add(m);
    }
    for (const d of opts.dirs ?? []) this.mkdirs(d);
    for (const [p, content] of Object.entries(opts.files ?? {})) {
      if (!this.mountOf(p)) throw new RangeError(`initial file "${p}" is not under a mount point (${this.mountPoints.join(', ')})`);
      this.mkdirs(parentOf(p));
      this.files.set(p, Buffer.from(typeof content === 'string' ? Buffer.from(content, 'utf8') : content));
    }
  }

  /** Creates `path` and its parents (within a mount). */
  mkdirs(path: string): void {
    const m = this.mountOf(path);
    if (!m) throw new RangeError(`directory "${path}" is not under a mount point`);
    let cur = m;
    for (const part of path.slice(m.length).split('/').filter(Boolean)) {
      cur = `${cur}/${part}`;
      this.dirs.add(cur);
    }
  }

  /** The mount point `path` belongs to (longest match on a `/` boundary), if any. */
  mountOf(path: string): string | undefined {
    let best: string | undefined;
    for (const m of this.mountPoints) {
      if ((path === m || path.startsWith(`${m}/`)) && (!best || m.length > best.length)) best = m;
    }
    return best;
  }

  /** `fs_stat`. */
  stat(path: string): StatOutcome {
    if (path.length <= 1 || !path.startsWith('/')) return 'einval';
    if (!this.mountOf(path)) return 'enoent';
    const norm = path.replace(/\/+$/, '');
    if (this.dirs.has(norm)) return 'dir';
    const f = this.files.get(norm);
    return f ? f.length : 'enoent';
  }

  /** `fs_open(path, FS_O_CREATE | FS_O_WRITE)`: creates an empty file when missing. */
  openForWrite(path: string): OpenOutcome {
    if (path.length <= 1 || !path.startsWith('/')) return 'einval';
    const m = this.mountOf(path);
    if (!m) return 'enoent';
    if (path === m) return 'einval';
    if (this.readOnly.has(m)) return 'erofs';
    if (this.dirs.has(path)) return 'eisdir';
    if (!this.dirs.has(parentOf(path))) return 'enoent';
    if (!this.files.has(path)) this.files.set(path, Buffer.alloc(0));
    return 'ok';
  }
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}
