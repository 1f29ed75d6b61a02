/**
 * `mcumgr image …` (list, upload, test, confirm, erase, slots, info) and `mcumgr flash` (the
 * one-call firmware update).
 * @module
 */
import type { Command } from 'commander';
import { parseImage, type ImageInfo } from '../image/index.js';
import type { ImageSlotState } from '../groups/image.js';
import type { UpdateStep } from '../workflows/index.js';
import { action, checkLocalInput, parseHash, parseUint, readLocal, type CliContext } from './context.js';
import { CliUsageError, fmtBytes, fmtRate, table, type Output } from './output.js';
import { uploadSummary } from './transfer-text.js';
import { checkImageFits } from '../workflows/slot-fit.js';

/** The flags of a slot as short words (`active confirmed pending permanent bootable`). */
export function slotFlags(s: ImageSlotState): string {
  const f: string[] = [];
  if (s.active) f.push('active');
  if (s.confirmed) f.push('confirmed');
  if (s.pending) f.push('pending');
  if (s.permanent) f.push('permanent');
  if (s.bootable) f.push('bootable');
  return f.join(' ');
}

/** Renders an image list as a table. */
export function slotsTable(slots: readonly ImageSlotState[]): string {
  if (slots.length === 0) return '(no images)';
  return table(
    ['image', 'slot', 'version', 'hash', 'flags'],
    slots.map((s) => [s.image, s.slot, s.version, s.hash.length ? s.hash.toString('hex') : '-', slotFlags(s)]),
  );
}

/** The JSON form of an image file's information. */
export function imageInfoJson(info: ImageInfo): Record<string, unknown> {
  return {
    version: info.versionString,
    hash: info.hash,
    hashType: info.hashType,
    hashVerified: info.hashVerified,
    uploadSha: info.uploadSha,
    size: info.size,
    imageEnd: info.imageEnd,
    header: info.header,
    flags: info.flags,
    protectedTlvs: info.protectedTlvs.map(tlvJson),
    tlvs: info.tlvs.map(tlvJson),
  };
}

function tlvJson(t: ImageInfo['tlvs'][number]): Record<string, unknown> {
  return { type: t.type, ...(t.typeName !== undefined ? { name: t.typeName } : {}), length: t.value.length };
}

/** Reads and validates a local image before anything is sent (ImageFormatError → exit 4). */
async function loadImage(name: string, path: string): Promise<{ bytes: Buffer; info: ImageInfo }> {
  const bytes = await readLocal(name, path);
  if (bytes.length === 0) throw new CliUsageError(`${name} ${path === '-' ? '(stdin)' : JSON.stringify(path)} is empty`);
  return { bytes, info: parseImage(bytes) };
}

/** Progress callback that draws a bar (TTY only) and logs at -vv. */
function transferProgress(out: Output, label: string): { onProgress: (p: { done: number; total: number; rate: number; window: number }) => void; stop: () => void } {
  const bar = out.progress(label);
  let lastDebug = 0;
  return {
    onProgress: (p) => {
      bar.update(p.done, p.total, p.rate);
      const now = Date.now();
      if (out.verbose >= 2 && now - lastDebug > 500) {
        lastDebug = now;
        out.debug(`${label}: ${p.done}/${p.total} bytes, ${fmtRate(p.rate)}, window ${p.window}`, 2);
      }
    },
    stop: () => bar.stop(),
  };
}

/** Registers the `image` commands and `flash`. */
export function registerImage(program: Command, ctx: CliContext): void {
  const image = program.command('image').description('image group: slots, upload, test/confirm, erase; local image files');

  image
    .command('list')
    .description('the device\'s image slots: image, slot, version, hash, flags')
    .action(
      action(ctx, async (env) => {
        const images = await env.device((c) => c.image.state());
        env.out.result({ images }, (v) => slotsTable(v.images));
      }),
    );

  image
    .command('upload')
    .description('upload an MCUboot image to the free slot (nothing is marked; see "image test"/"image confirm" or "flash")')
    .argument('<file>', 'image file (- for stdin)')
    .option('--image <n>', 'image number on multi-image devices', '0')
    .option('--upgrade', 'ask the device to refuse an image that is not newer than the running one')
    .action(
      action(ctx, async (env, o: { image: string; upgrade?: boolean }, file: string) => {
        const imageNo = parseUint('--image', o.image, 0, 255);
        await checkLocalInput('file', file);
        const { bytes, info } = await loadImage('file', file);
        const p = transferProgress(env.out, 'upload');
        let r;
        try {
          r = await env.device(async (c) => {
            const fit = await checkImageFits(c, bytes.length, imageNo);
            env.out.debug(`image size ${bytes.length} bytes; ${fit.source}`);
            return c.image.upload(bytes, {
              image: imageNo,
              ...(o.upgrade ? { upgrade: true } : {}),
              ...(env.g.window !== undefined ? { window: env.g.window } : {}),
              onProgress: p.onProgress,
            });
          });
        } finally {
          p.stop();
        }
        env.out.result(
          { image: imageNo, version: info.versionString, hash: info.hash, ...r },
          (v) =>
            `${uploadSummary(v)}\n` +
            `version ${v.version}\nhash    ${v.hash.toString('hex')}` +
            (v.match !== undefined ? `\nmatch   ${v.match}` : ''),
        );
      }),
    );

  image
    .command('test')
    .description('mark the image with this hash for one test boot (reverted unless confirmed)')
    .argument('<hash>', 'image hash in hex (from "image list" or "image info")')
    .action(
      action(ctx, async (env, _o, hash: string) => {
        const h = parseHash('hash', hash);
        const images = await env.device((c) => c.image.test(h));
        env.out.result({ images }, (v) => slotsTable(v.images));
      }),
    );

  image
    .command('confirm')
    .description('confirm the running image, or make the image with this hash permanent')
    .argument('[hash]', 'image hash in hex')
    .action(
      action(ctx, async (env, _o, hash: string | undefined) => {
        const h = hash !== undefined ? parseHash('hash', hash) : undefined;
        const images = await env.device((c) => c.image.confirm(h));
        env.out.result({ images }, (v) => slotsTable(v.images));
      }),
    );

  image
    .command('erase')
    .description('erase a slot (default: the device\'s choice, normally the secondary slot)')
    .argument('[slot]', 'slot number')
    .action(
      action(ctx, async (env, _o, slot: string | undefined) => {
        const s = slot !== undefined ? parseUint('slot', slot, 0, 0xffff) : undefined;
        await env.device((c) => c.image.erase(s));
        env.out.result({ erased: true, ...(s !== undefined ? { slot: s } : {}) }, s !== undefined ? `slot ${s} erased` : 'erased');
      }),
    );

  image
    .command('slots')
    .description('slot sizes per image (slot info)')
    .action(
      action(ctx, async (env) => {
        const images = await env.device((c) => c.image.slotInfo());
        env.out.result({ images }, (v) =>
          table(
            ['image', 'slot', 'size', 'upload id', 'max image size'],
            v.images.flatMap((i) =>
              i.slots.map((s) => [
                i.image,
                s.slot,
                s.size !== undefined ? `${s.size} (${fmtBytes(s.size)})` : `error ${s.rc ?? '?'}`,
                s.uploadImageId ?? '-',
                i.maxImageSize ?? '-',
              ]),
            ),
          ),
        );
      }),
    );

  image
    .command('info')
    .description('parse and check a local image file (no device)')
    .argument('<file>', 'image file (- for stdin)')
    .action(
      action(ctx, async (env, _o, file: string) => {
        await checkLocalInput('file', file);
        const { info } = await loadImage('file', file);
        const j = imageInfoJson(info);
        env.out.result(j, () => {
          const lines = [
            `version       ${info.versionString}`,
            `hash          ${info.hash.toString('hex')} (${info.hashType}${info.hashVerified ? ', verified' : ', not verified'})`,
            `upload sha    ${info.uploadSha.toString('hex')}`,
            `size          ${info.size} bytes (image ends at ${info.imageEnd})`,
            `header size   ${info.header.hdrSize}`,
            `load address  0x${info.header.loadAddr.toString(16)}`,
            `flags         ${Object.entries(info.flags).filter(([, v]) => v === true).map(([k]) => k).join(' ') || '-'}`,
            `tlvs          ${info.tlvs.map(tlvText).join(' ') || '-'}`,
          ];
          if (info.protectedTlvs.length) lines.push(`protected     ${info.protectedTlvs.map(tlvText).join(' ')}`);
          return lines.join('\n');
        });
      }),
    );

  program
    .command('flash')
    .description('firmware update in one go: check the image, upload, mark, reset, wait for the device, verify')
    .argument('<file>', 'image file (- for stdin)')
    .option('--mode <test|confirm>', 'test (default): boot the new image once and confirm it when it runs; confirm: make it permanent before the reset', 'test')
    .option('--no-reset', 'do not reset after marking (the image stays pending)')
    .option('--no-verify', 'do not check after the reset that the new image runs')
    .option('--force', 'upload even when the running image already has this hash')
    .option('--image <n>', 'image number on multi-image devices', '0')
    .option('--reconnect-timeout <ms>', 'how long to wait for the device after the reset', '60000')
    .action(
      action(
        ctx,
        async (
          env,
          o: { mode: string; reset: boolean; verify: boolean; force?: boolean; image: string; reconnectTimeout: string },
          file: string,
        ) => {
          if (o.mode !== 'test' && o.mode !== 'confirm') throw new CliUsageError(`--mode must be test or confirm, got ${JSON.stringify(o.mode)}`);
          const imageNo = parseUint('--image', o.image, 0, 255);
          const reconnectTimeoutMs = parseUint('--reconnect-timeout', o.reconnectTimeout, 1, 2 ** 31 - 1);
          await checkLocalInput('file', file);
          const { bytes, info } = await loadImage('file', file);
          const steps: Array<{ step: UpdateStep; detail?: string; at: number }> = [];
          const started = performance.now();
          const p = transferProgress(env.out, 'upload');
          let r;
          try {
            r = await env.device(async (c) => {
              return c.firmwareUpdate(bytes, {
                mode: o.mode as 'test' | 'confirm',
                parsed: info,
                reset: o.reset,
                verify: o.verify,
                image: imageNo,
                reconnectTimeoutMs,
                ...(o.force ? { force: true } : {}),
                ...(env.g.window !== undefined ? { window: env.g.window } : {}),
                onProgress: p.onProgress,
                onStep: (step, detail) => {
                  env.out.activity.step = step;
                  if (step !== 'upload') p.stop();
                  const at = (performance.now() - started) / 1000;
                  steps.push({ step, ...(detail !== undefined ? { detail } : {}), at });
                  env.out.line(`${stepText(step, info, o.mode)}${detail ? ` (${detail})` : ''}`);
                },
              });
            });
          } finally {
            p.stop();
          }
          const up = r.upload;
          env.out.result(
            {
              ok: true,
              alreadyInstalled: r.alreadyInstalled,
              mode: o.mode,
              version: info.versionString,
              hash: info.hash,
              seconds: r.seconds,
              upload: up,
              steps,
              images: r.finalState,
            },
            (v) =>
              (up
                ? `${uploadSummary(up)}; `
                : v.alreadyInstalled
                  ? 'already installed; '
                  : '') + `finished in ${v.seconds.toFixed(2)} s`,
          );
        },
      ),
    );
}

function tlvText(t: ImageInfo['tlvs'][number]): string {
  return `${t.typeName ?? `0x${t.type.toString(16)}`}(${t.value.length})`;
}

function stepText(step: UpdateStep, info: ImageInfo, mode: string): string {
  switch (step) {
    case 'validate':
      return 'validate  image file';
    case 'check':
      return `check     running image (new: ${info.versionString}, ${info.hash.toString('hex').slice(0, 16)}…)`;
    case 'upload':
      return `upload    ${fmtBytes(info.size)}`;
    case 'mark':
      return `mark      ${mode}`;
    case 'reset':
      return 'reset     device';
    case 'reconnect':
      return 'reconnect waiting for the device';
    case 'verify':
      return 'verify    running image';
    case 'confirm':
      return 'confirm   running image';
    case 'done':
      return 'done';
  }
}
