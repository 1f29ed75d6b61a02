/**
 * MCUboot image versions: `major.minor.revision` plus a build number (PROTOCOL.md §7.1).
 * @module
 */

/** The version stored in an MCUboot header (`iv_major`, `iv_minor`, `iv_revision`, `iv_build_num`). */
export interface ImageVersion {
  /** 0..255 */
  major: number;
  /** 0..255 */
  minor: number;
  /** 0..65535 */
  revision: number;
  /** 0..4294967295 */
  build: number;
}

const LIMITS: ReadonlyArray<readonly [keyof ImageVersion, number]> = [
  ['major', 0xff],
  ['minor', 0xff],
  ['revision', 0xffff],
  ['build', 0xffffffff],
];

/**
 * Parses a version as written by imgtool or reported by Zephyr/MCUboot.
 *
 * Accepted forms: `1`, `1.2`, `1.2.3`, `1.2.3+4` (imgtool) and `1.2.3.4` (Zephyr's image list);
 * missing parts are 0. Surrounding whitespace is ignored.
 *
 * @throws RangeError when the text is not a version or a part is out of its field's range.
 * @example
 * ```ts
 * parseVersion('1.2.3+4'); // { major: 1, minor: 2, revision: 3, build: 4 }
 * parseVersion('1.2.3.4'); // the same
 * ```
 */
export function parseVersion(text: string): ImageVersion {
  if (typeof text !== 'string') throw new TypeError(`a version must be a string, got ${typeof text}`);
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[.+](\d+))?$/.exec(text.trim());
  // "1.2+3" or "1+3" would be ambiguous with the dotted build form; require all three parts first.
  if (!m || (m[4] !== undefined && m[3] === undefined)) {
    throw new RangeError(
      `version "${text}" is not of the form major.minor.revision[+build] or major.minor.revision.build`,
    );
  }
  const v: ImageVersion = {
    major: Number(m[1]),
    minor: m[2] === undefined ? 0 : Number(m[2]),
    revision: m[3] === undefined ? 0 : Number(m[3]),
    build: m[4] === undefined ? 0 : Number(m[4]),
  };
  checkVersion(v, `version "${text}"`);
  return v;
}

/**
 * Checks that every field of `v` is an integer within its header field's range.
 * @throws RangeError naming the field.
 */
export function checkVersion(v: ImageVersion, what = 'version'): void {
  if (v === null || typeof v !== 'object') throw new TypeError(`${what} must be an object`);
  for (const [k, max] of LIMITS) {
    const n = v[k];
    if (!Number.isInteger(n) || n < 0 || n > max) {
      throw new RangeError(`${what}: ${k} is ${String(n)}; expected an integer 0..${max}`);
    }
  }
}

/**
 * Formats a version the way Zephyr and MCUboot do: `major.minor.revision`, followed by
 * `.build` only when the build number is not 0.
 * @example
 * ```ts
 * formatVersion({ major: 1, minor: 2, revision: 3, build: 0 }); // '1.2.3'
 * formatVersion({ major: 1, minor: 2, revision: 3, build: 4 }); // '1.2.3.4'
 * ```
 */
export function formatVersion(v: ImageVersion): string {
  const base = `${v.major}.${v.minor}.${v.revision}`;
  return v.build !== 0 ? `${base}.${v.build}` : base;
}

/** Options of {@link compareVersions}. */
export interface CompareVersionsOptions {
  /**
   * Also compare the build number when major, minor and revision are equal. Default `false`,
   * matching MCUboot's downgrade check unless it is built with
   * `MCUBOOT_VERSION_CMP_USE_BUILD_NUMBER`.
   */
  useBuild?: boolean;
}

/**
 * Orders two versions: negative when `a` is older, 0 when equal, positive when newer
 * (always -1, 0 or 1). Strings are read with {@link parseVersion}.
 * @example
 * ```ts
 * compareVersions('1.2.3', '1.10.0'); // -1
 * compareVersions('1.2.3+1', '1.2.3+2'); // 0
 * compareVersions('1.2.3+1', '1.2.3+2', { useBuild: true }); // -1
 * ```
 */
export function compareVersions(
  a: ImageVersion | string,
  b: ImageVersion | string,
  options: CompareVersionsOptions = {},
): -1 | 0 | 1 {
  const x = typeof a === 'string' ? parseVersion(a) : a;
  const y = typeof b === 'string' ? parseVersion(b) : b;
  const keys: (keyof ImageVersion)[] = ['major', 'minor', 'revision'];
  if (options.useBuild) keys.push('build');
  for (const k of keys) {
    if (x[k] !== y[k]) return x[k] < y[k] ? -1 : 1;
  }
  return 0;
}
