/**
 * Where `mcumgr fs download` may write, checked before anything is sent to the device, and the
 * write itself: a temporary file in the target folder, renamed over the final name.
 *
 * The rules:
 * - the local argument is a file name, or a folder (an existing directory, or a path ending in
 *   a separator); for a folder the file name is the last segment of the device path;
 * - a NUL byte anywhere, or a `..` segment in the local argument, is refused;
 * - a name taken from the device path must be one plain segment: not empty, `.`, `..`, nor
 *   containing a separator (`/` or `\`) or a NUL byte; it can never be an absolute path;
 * - the folder must exist, be a directory and be writable;
 * - an existing target that is a symbolic link is followed only when it ends inside the folder
 *   (then the file it names is replaced); one that points outside, or dangles to outside, is
 *   refused; a target that is a directory or a special file is refused.
 * A refusal is a {@link CliUsageError} (exit 2): nothing was sent and nothing was written.
 *
 * The write opens a fresh temporary file with O_EXCL (it never follows a link), then renames it
 * onto the target: rename replaces a directory entry and never writes through a link, so a link
 * planted after the check cannot redirect the bytes; a failed download leaves the old file as it
 * was and no temporary file behind.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, lstat, open, readlink, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { CliUsageError } from './output.js';

/** A checked place to write: the folder's real path and the final file path inside it. */
export interface LocalTarget {
  /** Real path (symlinks resolved) of the folder the user gave. */
  readonly folder: string;
  /** The file name the user gave or that was taken from the device path. */
  readonly name: string;
  /** The file that will be replaced: inside `folder` (a link inside the folder resolved). */
  readonly path: string;
  /** The local argument as given, for messages. */
  readonly given: string;
}

const WIN = process.platform === 'win32';

function show(s: string): string {
  return JSON.stringify(s);
}

/** Whether `p` is `folder` itself or below it (both absolute, normalised). */
export function isInside(folder: string, p: string): boolean {
  if (p === folder) return true;
  const base = folder.endsWith(sep) ? folder : folder + sep;
  return p.startsWith(base);
}

/** The segments of a local path as the platform splits it. */
function segments(p: string): string[] {
  return p.split(WIN ? /[\\/]+/ : /\/+/);
}

/**
 * The local file name taken from a device path: its last segment, which must be one plain name.
 * @throws CliUsageError when the device path does not end in a usable name.
 */
export function nameFromDevicePath(remote: string): string {
  if (remote.includes('\0')) throw new CliUsageError(`the device path ${show(remote)} contains a NUL byte`);
  const last = remote.slice(remote.lastIndexOf('/') + 1);
  const why =
    last === ''
      ? 'it ends with "/"'
      : last === '.' || last === '..'
        ? `its last segment is ${show(last)}`
        : last.includes('\\')
          ? 'its last segment contains "\\"'
          : WIN && last.includes(':')
            ? 'its last segment contains ":"'
            : undefined;
  if (why !== undefined || isAbsolute(last) || basename(last) !== last) {
    throw new CliUsageError(
      `cannot name the local file after the device path ${show(remote)}: ${why ?? 'it is not a plain file name'}; give the local file name instead of a folder`,
    );
  }
  return last;
}

/**
 * Checks where a download of `remote` to `local` will be written, before anything is sent.
 * `local` is a file path, or a folder (then the device path names the file).
 * @throws CliUsageError for any refused name, folder or link (see the module's rules).
 */
export async function resolveDownloadTarget(local: string, remote: string): Promise<LocalTarget> {
  if (local === '') throw new CliUsageError('local must be a file or folder name (or - for stdout), got ""');
  if (local.includes('\0')) throw new CliUsageError(`local ${show(local)} contains a NUL byte`);
  if (segments(local).includes('..')) {
    throw new CliUsageError(`local ${show(local)} contains a ".." segment; give the folder without ".." (e.g. as an absolute path)`);
  }
  const endsWithSep = local.endsWith('/') || (WIN && local.endsWith('\\'));
  const st = await stat(local).catch(() => undefined);
  let folderGiven: string;
  let name: string;
  if (endsWithSep || st?.isDirectory()) {
    folderGiven = local;
    name = nameFromDevicePath(remote);
  } else {
    folderGiven = dirname(local);
    name = basename(local);
    if (name === '' || name === '.' || name === '..') throw new CliUsageError(`local ${show(local)} does not name a file`);
  }

  let folder: string;
  try {
    folder = await realpath(folderGiven);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliUsageError(`the folder ${show(folderGiven)} of local ${show(local)} ${code === 'ENOENT' ? 'does not exist' : `cannot be used (${code ?? String(e)})`}`);
  }
  if (!(await stat(folder)).isDirectory()) throw new CliUsageError(`${show(folderGiven)} is not a folder`);
  try {
    await access(folder, constants.W_OK);
  } catch {
    throw new CliUsageError(`the folder ${show(folderGiven)} is not writable`);
  }
  const path = await checkEntry(folder, join(folder, name), local);
  return { folder, name, path, given: local };
}

/**
 * Checks the directory entry `entry` (inside `folder`) that a write would replace, and returns
 * the file to replace: `entry` itself, or what a link inside the folder points to.
 */
async function checkEntry(folder: string, entry: string, given: string): Promise<string> {
  let target = entry;
  // Follow a chain of links, each hop resolved against the folder that holds it.
  for (let hops = 0; ; hops++) {
    const l = await lstat(target).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw new CliUsageError(`local ${show(given)} cannot be checked: ${e.code ?? e.message}`);
    });
    if (!l) break; // a new file
    if (l.isSymbolicLink()) {
      if (hops >= 16) throw new CliUsageError(`local ${show(given)} is a chain of more than 16 symbolic links`);
      const to = resolve(dirname(target), await readlink(target));
      // Resolve the link's folder too (it may itself lie behind a link).
      const toFolder = await realpath(dirname(to)).catch(() => undefined);
      const real = toFolder === undefined ? to : join(toFolder, basename(to));
      if (toFolder === undefined || !isInside(folder, real)) {
        throw new CliUsageError(`local ${show(given)} is a symbolic link to ${show(to)}, outside the folder ${show(folder)}; refusing to write through it`);
      }
      target = real;
      continue;
    }
    if (l.isDirectory()) throw new CliUsageError(`local ${show(given)} names a directory (${show(target)}); give a file name`);
    if (!l.isFile()) throw new CliUsageError(`local ${show(given)} names a special file (${show(target)}), not a regular file`);
    break;
  }
  if (!isInside(folder, target)) throw new CliUsageError(`local ${show(given)} resolves outside the folder ${show(folder)}`);
  return target;
}

/**
 * Writes `data` to a checked target: a temporary file beside it (O_EXCL, mode 0666 less the
 * umask), flushed, then renamed over the target. The target is checked again just before the
 * rename. On any failure the temporary file is removed and the target is left as it was.
 */
export async function writeFileInFolder(t: LocalTarget, data: Uint8Array): Promise<void> {
  const dir = dirname(t.path);
  const tmp = join(dir, `.${basename(t.path)}.${process.pid}.${randomBytes(6).toString('hex')}.part`);
  const fh = await open(tmp, 'wx', 0o666);
  let renamed = false;
  try {
    try {
      await fh.writeFile(data);
      await fh.datasync().catch(() => undefined); // not every file system supports it
    } finally {
      await fh.close();
    }
    // Nothing may have moved since the first check: the folder and what the entry resolves to.
    if ((await realpath(t.folder).catch(() => undefined)) !== t.folder) {
      throw new CliUsageError(`the folder ${show(t.folder)} changed while downloading; nothing was written`);
    }
    const again = await checkEntry(t.folder, join(t.folder, t.name), t.given);
    if (again !== t.path) throw new CliUsageError(`local ${show(t.given)} changed while downloading; nothing was written`);
    await rename(tmp, t.path);
    renamed = true;
  } finally {
    if (!renamed) await unlink(tmp).catch(() => undefined);
  }
}
