import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { ImageFormatError, AbortError } from '../src/errors.js';
import {
  buildImage,
  compareVersions,
  computeUploadSha,
  deterministicBytes,
  formatVersion,
  ImageFlag,
  MAX_IMAGE_FILE_SIZE,
  parseImage,
  parseVersion,
  readImageInfo,
  type ImageInfo,
} from '../src/image/index.js';

const vectors = JSON.parse(readFileSync(new URL('./fixtures/vectors.json', import.meta.url), 'utf8'));
const V = vectors.mcuboot_image as {
  image: string;
  version: string;
  state_hash_tlv: string;
  upload_sha256: string;
};
const VECTOR = Buffer.from(V.image, 'hex');
const BODY16 = Buffer.from(Array.from({ length: 16 }, (_, i) => i));

const sha = (alg: string, b: Uint8Array) => createHash(alg).update(b).digest();

/** Asserts that `fn` throws an ImageFormatError whose message matches every pattern. */
function throwsFormat(fn: () => unknown, ...patterns: RegExp[]): ImageFormatError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ImageFormatError, `expected ImageFormatError, got ${String(caught)}`);
  assert.equal(caught.code, 'IMAGE_ERR_FORMAT');
  for (const p of patterns) assert.match(caught.message, p);
  return caught;
}

/** Offsets of the unprotected TLV area of an image. */
function unprotStart(img: Buffer): number {
  return img.readUInt16LE(8) + img.readUInt32LE(12) + img.readUInt16LE(10);
}

describe('§9.4 synthetic image vector', () => {
  test('buildImage reproduces the 88 bytes exactly', () => {
    const built = buildImage({ body: BODY16, version: '1.2.3.4' });
    assert.equal(built.length, 88);
    assert.equal(built.toString('hex'), V.image);
    const builtObj = buildImage({ body: BODY16, version: { major: 1, minor: 2, revision: 3, build: 4 } });
    assert.ok(builtObj.equals(VECTOR));
    assert.ok(buildImage({ body: BODY16, version: '1.2.3+4' }).equals(VECTOR));
  });

  test('parseImage gives the listed hash, upload sha and version', () => {
    const info = parseImage(VECTOR);
    assert.equal(info.hash.toString('hex'), V.state_hash_tlv);
    assert.equal(info.uploadSha.toString('hex'), V.upload_sha256);
    assert.equal(info.versionString, V.version);
    assert.deepEqual(info.version, { major: 1, minor: 2, revision: 3, build: 4 });
    assert.deepEqual(info.header, {
      magic: 0x96f3b83d,
      loadAddr: 0,
      hdrSize: 32,
      protectTlvSize: 0,
      imgSize: 16,
      flags: 0,
    });
    assert.deepEqual(info.flags, {
      raw: 0,
      pic: false,
      encrypted: undefined,
      nonBootable: false,
      ramLoad: false,
      romFixed: false,
      compressed: false,
    });
    assert.equal(info.hashType, 'sha256');
    assert.equal(info.hashVerified, true);
    assert.equal(info.size, 88);
    assert.equal(info.imageEnd, 88);
    assert.deepEqual(info.protectedTlvs, []);
    assert.equal(info.tlvs.length, 1);
    assert.equal(info.tlvs[0]!.type, 0x10);
    assert.equal(info.tlvs[0]!.typeName, 'SHA256');
    assert.equal(info.tlvs[0]!.offset, 52);
    assert.equal(info.tlvs[0]!.value.toString('hex'), V.state_hash_tlv);
    // The hash is over header + body; the upload sha is over the whole file.
    assert.ok(info.hash.equals(sha('sha256', VECTOR.subarray(0, 48))));
    assert.ok(info.uploadSha.equals(sha('sha256', VECTOR)));
  });

  test('readImageInfo reads the vector from a buffer and from a path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcumgr-image-'));
    try {
      const p = join(dir, 'vector.bin');
      await writeFile(p, VECTOR);
      const a = await readImageInfo(p);
      const b = await readImageInfo(VECTOR);
      assert.equal(a.hash.toString('hex'), V.state_hash_tlv);
      assert.deepEqual(a, b);
      await assert.rejects(readImageInfo(join(dir, 'missing.bin')), { code: 'ENOENT' });
      await assert.rejects(readImageInfo(dir), ImageFormatError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the returned buffers are copies of the input', () => {
    const copy = Buffer.from(VECTOR);
    const info = parseImage(copy);
    copy.fill(0);
    assert.equal(info.hash.toString('hex'), V.state_hash_tlv);
    assert.equal(info.tlvs[0]!.value.toString('hex'), V.state_hash_tlv);
  });
});

describe('validation errors', () => {
  const mutate = (f: (b: Buffer) => void, base: Buffer = VECTOR): Buffer => {
    const b = Buffer.from(base);
    f(b);
    return b;
  };

  test('file shorter than the header', () => {
    throwsFormat(() => parseImage(VECTOR.subarray(0, 31)), /31 bytes/, /32-byte header/);
    throwsFormat(() => parseImage(new Uint8Array(0)), /0 bytes/);
  });

  test('wrong magic', () => {
    throwsFormat(() => parseImage(mutate((b) => b.writeUInt32LE(0x12345678, 0))), /ih_magic is 0x12345678/, /expected 0x96f3b83d/, /not an MCUboot image/);
  });

  test('legacy v1 magic is recognised', () => {
    throwsFormat(() => parseImage(mutate((b) => b.writeUInt32LE(0x96f3b83c, 0))), /0x96f3b83c/, /legacy/);
  });

  test('erased flash magic is recognised', () => {
    throwsFormat(() => parseImage(Buffer.alloc(88, 0xff)), /0xffffffff/, /erased/);
  });

  test('hdrSize below 32', () => {
    throwsFormat(() => parseImage(mutate((b) => b.writeUInt16LE(31, 8))), /ih_hdr_size is 31/, /at least 32/);
  });

  test('hdrSize beyond the file', () => {
    throwsFormat(() => parseImage(mutate((b) => b.writeUInt16LE(0x200, 8))), /ih_hdr_size is 512/, /only 88 bytes/);
  });

  test('body beyond the file', () => {
    throwsFormat(() => parseImage(mutate((b) => b.writeUInt32LE(0xffffffff, 12))), /ih_img_size is 4294967295/, /only 88 bytes/);
    throwsFormat(() => parseImage(VECTOR.subarray(0, 40)), /ih_img_size is 16/, /end at offset 48/);
  });

  test('protected TLV info magic missing', () => {
    const img = buildImage({ body: BODY16, protectedTlvs: [{ type: 0x50, value: Buffer.from([1, 0, 0, 0]) }] });
    throwsFormat(
      () => parseImage(mutate((b) => b.writeUInt16LE(0x1234, 48), img)),
      /missing protected TLV info \(0x6908\) at offset 48/,
      /found magic 0x1234/,
    );
    // The header announces a protected area, but the file has an unprotected one there.
    const noProt = mutate((b) => b.writeUInt16LE(8, 10));
    throwsFormat(() => parseImage(noProt), /missing protected TLV info/, /found magic 0x6907/, /unprotected TLV info header/);
  });

  test('protected TLV area size differs from ih_protect_tlv_size', () => {
    const img = buildImage({ body: BODY16, protectedTlvs: [{ type: 0x50, value: Buffer.from([1, 0, 0, 0]) }] });
    assert.equal(img.readUInt16LE(10), 12);
    throwsFormat(
      () => parseImage(mutate((b) => b.writeUInt16LE(16, 10), img)),
      /it_tlv_tot 12/,
      /expected 16 \(ih_protect_tlv_size\)/,
    );
    throwsFormat(() => parseImage(mutate((b) => b.writeUInt16LE(2, 10), img)), /ih_protect_tlv_size is 2/, /expected 0 or at least 4/);
  });

  test('unprotected TLV info missing', () => {
    throwsFormat(
      () => parseImage(mutate((b) => b.writeUInt16LE(0xabcd, 48))),
      /missing unprotected TLV info \(0x6907\) at offset 48/,
      /found magic 0xabcd/,
    );
    throwsFormat(() => parseImage(VECTOR.subarray(0, 50)), /missing unprotected TLV info/, /file ends at 50/);
    // A protected area that the header does not announce.
    const img = buildImage({ body: BODY16, protectedTlvs: [{ type: 0x50, value: Buffer.alloc(4) }] });
    throwsFormat(() => parseImage(mutate((b) => b.writeUInt16LE(0, 10), img)), /found magic 0x6908/, /protected TLV info header/);
  });

  test('unprotected TLV area past the end of the file', () => {
    throwsFormat(() => parseImage(VECTOR.subarray(0, 87)), /unprotected TLV area/, /declares 40 bytes/, /file ends at 87/);
    throwsFormat(() => parseImage(mutate((b) => b.writeUInt16LE(2, 50))), /it_tlv_tot 2/, /at least 4/);
  });

  test('TLV running past its area', () => {
    // Hash TLV claims 33 bytes but the area holds 32.
    throwsFormat(
      () => parseImage(mutate((b) => b.writeUInt16LE(33, 54))),
      /unprotected TLV 0x10 at offset 52 has it_len 33/,
      /past the end of its area at 88/,
    );
    // Two stray bytes after the last TLV inside the area.
    const longer = Buffer.concat([VECTOR, Buffer.from([0x10, 0x00])]);
    longer.writeUInt16LE(42, 50);
    throwsFormat(() => parseImage(longer), /TLV entry at offset 88 needs a 4-byte header/, /ends at 90/);
    // The same in the protected area.
    const img = buildImage({ body: BODY16, protectedTlvs: [{ type: 0x50, value: Buffer.alloc(4) }] });
    throwsFormat(() => parseImage(mutate((b) => b.writeUInt16LE(5, 54), img)), /protected TLV 0x50 at offset 52 has it_len 5/);
  });

  test('no hash TLV', () => {
    const img = buildImage({ body: BODY16, extraTlvs: [{ type: 0x22, value: Buffer.alloc(8) }] });
    throwsFormat(() => parseImage(mutate((b) => b.writeUInt16LE(0x99, 52), img)), /no hash TLV/, /0x10 \(SHA256\)/);
  });

  test('several hash TLVs', () => {
    const img = buildImage({ body: BODY16, extraTlvs: [{ type: 0x10, value: Buffer.alloc(32) }] });
    throwsFormat(() => parseImage(img), /found 2 hash TLVs/, /0x10 at offset 52, 0x10 at offset 88/, /exactly one/);
    const mixed = buildImage({ body: BODY16, extraTlvs: [{ type: 0x12, value: Buffer.alloc(64) }] });
    throwsFormat(() => parseImage(mixed), /found 2 hash TLVs/);
  });

  test('hash TLV of wrong length', () => {
    const img = buildImage({ body: BODY16, extraTlvs: [{ type: 0x11, value: Buffer.alloc(31) }] });
    const bad = mutate((b) => b.writeUInt16LE(0x99, 52), img);
    throwsFormat(() => parseImage(bad), /hash TLV 0x11 \(SHA384\) at offset 88 is 31 bytes; expected 48/);
    throwsFormat(() => parseImage(bad, { verifyHash: false }), /expected 48/);
  });

  test('hash TLV in the protected area', () => {
    const img = buildImage({ body: BODY16, protectedTlvs: [{ type: 0x10, value: Buffer.alloc(32) }] });
    throwsFormat(() => parseImage(img), /hash TLV 0x10 at offset 52 is in the protected TLV area/);
  });

  test('hash mismatch is refused; verifyHash: false skips the check', () => {
    const bad = mutate((b) => (b[40] ^= 0x01));
    const err = throwsFormat(() => parseImage(bad), /hash TLV 0x10 holds 04cbb04c/, /SHA256 of bytes \[0, 48\)/, /expected them to match/);
    assert.ok(err.message.includes(sha('sha256', bad.subarray(0, 48)).toString('hex')));
    const info = parseImage(bad, { verifyHash: false });
    assert.equal(info.hashVerified, false);
    assert.equal(info.hash.toString('hex'), V.state_hash_tlv);
    // Changing the version changes the hash too: the header is covered.
    throwsFormat(() => parseImage(mutate((b) => (b[20] = 9))), /expected them to match/);
  });

  test('both encryption flags', () => {
    const img = buildImage({ body: BODY16, flags: ImageFlag.ENCRYPTED_AES128 | ImageFlag.ENCRYPTED_AES256 });
    throwsFormat(() => parseImage(img), /ih_flags 0x0000000c/, /both ENCRYPTED_AES128/);
  });

  test('files over 64 MiB are refused', async () => {
    throwsFormat(() => parseImage(Buffer.alloc(MAX_IMAGE_FILE_SIZE + 1)), /67108865 bytes/, /64 MiB/);
    const dir = await mkdtemp(join(tmpdir(), 'mcumgr-image-'));
    try {
      const p = join(dir, 'huge.bin');
      const fh = await open(p, 'w');
      await fh.truncate(MAX_IMAGE_FILE_SIZE + 1); // sparse: the check happens before reading
      await fh.close();
      await assert.rejects(readImageInfo(p), (e: unknown) => e instanceof ImageFormatError && /64 MiB/.test(e.message));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('non-bytes input is a TypeError', () => {
    assert.throws(() => parseImage('abc' as unknown as Uint8Array), TypeError);
    assert.throws(() => parseImage(null as unknown as Uint8Array), TypeError);
  });
});

describe('image layouts', () => {
  test('hdrSize 0x200 images: zero header padding, body at 0x200', () => {
    const body = deterministicBytes(1000, 3);
    const img = buildImage({ body, version: '2.0.1', hdrSize: 0x200, loadAddr: 0x20000000 });
    assert.ok(img.subarray(32, 0x200).equals(Buffer.alloc(0x200 - 32)));
    assert.ok(img.subarray(0x200, 0x200 + 1000).equals(body));
    const info = parseImage(img);
    assert.equal(info.header.hdrSize, 0x200);
    assert.equal(info.header.loadAddr, 0x20000000);
    assert.equal(info.header.imgSize, 1000);
    assert.equal(info.versionString, '2.0.1');
    assert.equal(info.imageEnd, 0x200 + 1000 + 40);
    assert.equal(info.tlvs[0]!.offset, 0x200 + 1000 + 4);
    assert.ok(info.hash.equals(sha('sha256', img.subarray(0, 0x200 + 1000))));
  });

  test('protected TLVs are parsed and covered by the hash', () => {
    const prot = [
      { type: 0x50, value: Buffer.from([7, 0, 0, 0]) },
      { type: 0x40, value: Buffer.from([1, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 0]) },
    ];
    const a = buildImage({ body: BODY16, version: '1.0.0', protectedTlvs: prot });
    const b = buildImage({
      body: BODY16,
      version: '1.0.0',
      protectedTlvs: [{ type: 0x50, value: Buffer.from([8, 0, 0, 0]) }, prot[1]!],
    });
    const plain = buildImage({ body: BODY16, version: '1.0.0' });
    const ia = parseImage(a);
    const ib = parseImage(b);
    const ip = parseImage(plain);
    assert.equal(ia.header.protectTlvSize, 4 + 8 + 16);
    assert.deepEqual(
      ia.protectedTlvs.map((t) => [t.type, t.typeName, t.offset, t.value.toString('hex')]),
      [
        [0x50, 'SEC_CNT', 52, '07000000'],
        [0x40, 'DEPENDENCY', 60, '010000000102030000000000'],
      ],
    );
    assert.ok(ia.hash.equals(sha('sha256', a.subarray(0, 48 + 28))));
    assert.notDeepEqual(ia.hash, ib.hash);
    assert.notDeepEqual(ia.hash, ip.hash);
    assert.equal(ia.tlvs[0]!.offset, 48 + 28 + 4);
    assert.equal(ia.imageEnd, a.length);
    // Tampering with a protected TLV breaks the hash.
    const t = Buffer.from(a);
    t[56] = 9;
    throwsFormat(() => parseImage(t), /bytes \[0, 76\)/);
  });

  for (const [hashType, type, len] of [
    ['sha384', 0x11, 48],
    ['sha512', 0x12, 64],
  ] as const) {
    test(`${hashType.toUpperCase()} images`, () => {
      const img = buildImage({ size: 300, seed: 9, version: '3.4.5+6', hashType, protectedTlvs: [{ type: 0x50, value: Buffer.alloc(4) }] });
      const info = parseImage(img);
      assert.equal(info.hashType, hashType);
      assert.equal(info.hash.length, len);
      assert.equal(info.tlvs[0]!.type, type);
      assert.equal(info.hashVerified, true);
      assert.ok(info.hash.equals(sha(hashType, img.subarray(0, 32 + 300 + 12))));
      const bad = Buffer.from(img);
      bad[100] ^= 0xff;
      throwsFormat(() => parseImage(bad), new RegExp(`${hashType.toUpperCase()} of bytes`));
    });
  }

  test('padding after the TLVs', () => {
    const img = buildImage({ body: BODY16, version: '1.2.3.4', padTo: 256 });
    assert.equal(img.length, 256);
    assert.ok(img.subarray(0, 88).equals(VECTOR));
    assert.ok(img.subarray(88).equals(Buffer.alloc(256 - 88, 0xff)));
    const info = parseImage(img);
    assert.equal(info.size, 256);
    assert.equal(info.imageEnd, 88);
    assert.equal(info.hash.toString('hex'), V.state_hash_tlv);
    assert.ok(info.uploadSha.equals(sha('sha256', img)));
    assert.notEqual(info.uploadSha.toString('hex'), V.upload_sha256);
    const zeros = buildImage({ body: BODY16, padTo: 100, padByte: 0 });
    assert.ok(zeros.subarray(88).equals(Buffer.alloc(12)));
    assert.throws(() => buildImage({ body: BODY16, padTo: 87 }), RangeError);
  });

  test('extra TLVs follow the hash TLV', () => {
    const sig = deterministicBytes(64, 2);
    const img = buildImage({ body: BODY16, extraTlvs: [{ type: 0x01, value: Buffer.alloc(32, 1) }, { type: 0x22, value: sig }] });
    const info = parseImage(img);
    assert.deepEqual(
      info.tlvs.map((t) => [t.type, t.typeName, t.offset]),
      [
        [0x10, 'SHA256', 52],
        [0x01, 'KEYHASH', 88],
        [0x22, 'ECDSA_SIG', 124],
      ],
    );
    assert.ok(info.tlvs[2]!.value.equals(sig));
    assert.equal(img.readUInt16LE(unprotStart(img) + 2), 4 + 36 + 36 + 68);
    assert.equal(info.imageEnd, img.length);
    const unknown = parseImage(buildImage({ extraTlvs: [{ type: 0xabcd, value: Buffer.alloc(0) }] }));
    assert.equal(unknown.tlvs[1]!.typeName, undefined);
    assert.ok(!('typeName' in unknown.tlvs[1]!));
  });

  test('flags are decoded; encrypted images skip hash verification', () => {
    const flags =
      ImageFlag.PIC | ImageFlag.NON_BOOTABLE | ImageFlag.RAM_LOAD | ImageFlag.ROM_FIXED | ImageFlag.COMPRESSED_LZMA2;
    const info = parseImage(buildImage({ body: BODY16, flags }));
    assert.deepEqual(info.flags, {
      raw: flags,
      pic: true,
      encrypted: undefined,
      nonBootable: true,
      ramLoad: true,
      romFixed: true,
      compressed: true,
    });
    assert.equal(info.hashVerified, true);
    for (const [flag, name] of [
      [ImageFlag.ENCRYPTED_AES128, 'aes128'],
      [ImageFlag.ENCRYPTED_AES256, 'aes256'],
    ] as const) {
      const img = buildImage({ body: BODY16, flags: flag });
      img[40] ^= 1; // the hash covers the plaintext, so a file mismatch is not detectable
      const enc = parseImage(img);
      assert.equal(enc.flags.encrypted, name);
      assert.equal(enc.hashVerified, false);
    }
  });

  test('size + seed bodies are deterministic', () => {
    const a = buildImage({ size: 5000, seed: 42, version: '1.0.0' });
    const b = buildImage({ size: 5000, seed: 42, version: '1.0.0' });
    const c = buildImage({ size: 5000, seed: 43, version: '1.0.0' });
    assert.ok(a.equals(b));
    assert.ok(!a.equals(c));
    assert.ok(a.subarray(32, 5032).equals(deterministicBytes(5000, 42)));
    assert.ok(deterministicBytes(7, 1).equals(deterministicBytes(10, 1).subarray(0, 7)));
    assert.equal(parseImage(a).header.imgSize, 5000);
    // Not degenerate: all byte values show up in a few KiB.
    assert.equal(new Set(deterministicBytes(4096, 0)).size, 256);
  });

  test('buildImage rejects options that cannot be encoded', () => {
    assert.throws(() => buildImage({ body: BODY16, size: 3 }), TypeError);
    assert.throws(() => buildImage({ hdrSize: 16 }), RangeError);
    assert.throws(() => buildImage({ hdrSize: 0x10000 }), RangeError);
    assert.throws(() => buildImage({ version: '256.0.0' }), RangeError);
    assert.throws(() => buildImage({ version: { major: 1, minor: 2, revision: 70000, build: 0 } }), /revision/);
    assert.throws(() => buildImage({ loadAddr: -1 }), RangeError);
    assert.throws(() => buildImage({ flags: 2 ** 32 }), RangeError);
    assert.throws(() => buildImage({ extraTlvs: [{ type: 0x10000, value: Buffer.alloc(1) }] }), RangeError);
    assert.throws(() => buildImage({ extraTlvs: [{ type: 1, value: Buffer.alloc(0x10000) }] }), RangeError);
    assert.throws(() => buildImage({ hashType: 'md5' as 'sha256' }), RangeError);
    assert.throws(() => buildImage({ size: -1 }), RangeError);
  });
});

describe('computeUploadSha', () => {
  const img = buildImage({ size: 200_000, seed: 5, version: '1.2.3', padTo: 256 * 1024 });
  const expected = sha('sha256', img);

  test('from a Buffer / Uint8Array', async () => {
    assert.ok((await computeUploadSha(img)).equals(expected));
    assert.ok((await computeUploadSha(new Uint8Array(img))).equals(expected));
    assert.equal((await computeUploadSha(VECTOR)).toString('hex'), V.upload_sha256);
  });

  test('from a file path (streamed)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcumgr-image-'));
    try {
      const p = join(dir, 'img.bin');
      await writeFile(p, img);
      assert.ok((await computeUploadSha(p)).equals(expected));
      assert.ok((await readImageInfo(p)).uploadSha.equals(expected));
      await assert.rejects(computeUploadSha(join(dir, 'nope.bin')), { code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('from an AsyncIterable of chunks', async () => {
    async function* chunks() {
      let off = 0;
      let n = 1;
      while (off < img.length) {
        yield img.subarray(off, off + n);
        off += n;
        n = (n * 7 + 3) % 9973 || 1;
      }
    }
    assert.ok((await computeUploadSha(chunks())).equals(expected));
    assert.ok((await computeUploadSha(Readable.from([img.subarray(0, 10), img.subarray(10)]))).equals(expected));
    async function* none() {}
    assert.ok((await computeUploadSha(none())).equals(sha('sha256', Buffer.alloc(0))));
  });

  test('bad sources and chunks are TypeErrors; an aborted signal rejects', async () => {
    await assert.rejects(computeUploadSha(42 as unknown as Uint8Array), TypeError);
    await assert.rejects(computeUploadSha(Readable.from(['text'], { objectMode: true }) as AsyncIterable<Uint8Array>), TypeError);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(computeUploadSha(img, { signal: ac.signal }), AbortError);
    const ac2 = new AbortController();
    async function* slow() {
      yield img.subarray(0, 10);
      ac2.abort();
      yield img.subarray(10);
    }
    await assert.rejects(computeUploadSha(slow(), { signal: ac2.signal }), AbortError);
  });
});

describe('versions', () => {
  test('parseVersion', () => {
    assert.deepEqual(parseVersion('1.2.3+4'), { major: 1, minor: 2, revision: 3, build: 4 });
    assert.deepEqual(parseVersion('1.2.3.4'), { major: 1, minor: 2, revision: 3, build: 4 });
    assert.deepEqual(parseVersion(' 1.2.3 '), { major: 1, minor: 2, revision: 3, build: 0 });
    assert.deepEqual(parseVersion('1.2'), { major: 1, minor: 2, revision: 0, build: 0 });
    assert.deepEqual(parseVersion('7'), { major: 7, minor: 0, revision: 0, build: 0 });
    assert.deepEqual(parseVersion('255.255.65535.4294967295'), {
      major: 255,
      minor: 255,
      revision: 65535,
      build: 4294967295,
    });
    for (const bad of ['', 'a.b.c', '1.2.3.4.5', '1.2+3', '1..2', '-1.0.0', '1.2.3+', 'v1.2.3', '1.2.3-rc1']) {
      assert.throws(() => parseVersion(bad), RangeError, bad);
    }
    assert.throws(() => parseVersion('256.0.0'), /major is 256/);
    assert.throws(() => parseVersion('1.2.65536'), /revision is 65536/);
    assert.throws(() => parseVersion('1.2.3+4294967296'), /build/);
  });

  test('formatVersion adds .build only when non-zero', () => {
    assert.equal(formatVersion({ major: 1, minor: 2, revision: 3, build: 0 }), '1.2.3');
    assert.equal(formatVersion({ major: 1, minor: 2, revision: 3, build: 4 }), '1.2.3.4');
    assert.equal(formatVersion(parseVersion('0.0.0+0')), '0.0.0');
  });

  test('compareVersions', () => {
    assert.equal(compareVersions('1.2.3', '1.10.0'), -1);
    assert.equal(compareVersions('2.0.0', '1.255.65535'), 1);
    assert.equal(compareVersions('1.2.3', '1.2.3'), 0);
    assert.equal(compareVersions('1.2.3+1', '1.2.3+2'), 0);
    assert.equal(compareVersions('1.2.3+1', '1.2.3+2', { useBuild: true }), -1);
    assert.equal(compareVersions('1.2.3.9', { major: 1, minor: 2, revision: 3, build: 2 }, { useBuild: true }), 1);
    assert.equal(compareVersions('1.2.4', '1.2.3.99', { useBuild: true }), 1);
  });

  test('version round-trips through an image header', () => {
    fc.assert(
      fc.property(
        fc.record({
          major: fc.integer({ min: 0, max: 255 }),
          minor: fc.integer({ min: 0, max: 255 }),
          revision: fc.integer({ min: 0, max: 0xffff }),
          build: fc.integer({ min: 0, max: 0xffffffff }),
        }),
        (v) => {
          const info = parseImage(buildImage({ version: v }));
          assert.deepEqual(info.version, { ...v });
          assert.deepEqual(parseVersion(info.versionString), { ...v });
        },
      ),
    );
  });
});

describe('properties', () => {
  test('buildImage → parseImage round-trips random options', () => {
    fc.assert(
      fc.property(
        fc.record({
          size: fc.integer({ min: 0, max: 2048 }),
          seed: fc.integer(),
          hdrSize: fc.integer({ min: 32, max: 0x400 }),
          loadAddr: fc.integer({ min: 0, max: 0xffffffff }),
          hashType: fc.constantFrom('sha256' as const, 'sha384' as const, 'sha512' as const),
          prot: fc.array(fc.record({ type: fc.integer({ min: 0x20, max: 0xffff }).filter((t) => t < 0x10 || t > 0x12), value: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 4 }),
          extra: fc.array(fc.record({ type: fc.integer({ min: 0x20, max: 0xffff }), value: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 4 }),
          pad: fc.integer({ min: 0, max: 300 }),
        }),
        (o) => {
          const noPad = buildImage({ size: o.size, seed: o.seed, hdrSize: o.hdrSize, loadAddr: o.loadAddr, hashType: o.hashType, protectedTlvs: o.prot, extraTlvs: o.extra });
          const img = buildImage({ size: o.size, seed: o.seed, hdrSize: o.hdrSize, loadAddr: o.loadAddr, hashType: o.hashType, protectedTlvs: o.prot, extraTlvs: o.extra, padTo: noPad.length + o.pad });
          const info: ImageInfo = parseImage(img);
          assert.equal(info.header.imgSize, o.size);
          assert.equal(info.header.hdrSize, o.hdrSize);
          assert.equal(info.header.loadAddr, o.loadAddr);
          assert.equal(info.hashType, o.hashType);
          assert.equal(info.imageEnd, noPad.length);
          assert.equal(info.size, noPad.length + o.pad);
          assert.deepEqual(info.protectedTlvs.map((t) => [t.type, t.value]), o.prot.map((t) => [t.type, Buffer.from(t.value)]));
          assert.deepEqual(info.tlvs.slice(1).map((t) => [t.type, t.value]), o.extra.map((t) => [t.type, Buffer.from(t.value)]));
          assert.ok(info.hash.equals(sha(o.hashType, img.subarray(0, o.hdrSize + o.size + info.header.protectTlvSize))));
          assert.ok(info.uploadSha.equals(sha('sha256', img)));
        },
      ),
      { numRuns: 150 },
    );
  });

  test('random mutations of a valid image never throw anything but ImageFormatError', () => {
    const bases = [
      VECTOR,
      buildImage({ size: 64, seed: 1, version: '1.2.3', hdrSize: 0x40, protectedTlvs: [{ type: 0x50, value: Buffer.alloc(4, 1) }], extraTlvs: [{ type: 0x22, value: Buffer.alloc(16, 2) }], padTo: 256 }),
      buildImage({ size: 40, seed: 2, hashType: 'sha512' }),
    ];
    const interesting = [0, 1, 3, 4, 31, 32, 0x200, 0x6907, 0x6908, 0xffff, 0x10000, 0x7fffffff, 0xffffffff];
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('u16' as const), at: fc.nat(), value: fc.constantFrom(...interesting.map((n) => n & 0xffff)) }),
      fc.record({ kind: fc.constant('u32' as const), at: fc.nat(), value: fc.constantFrom(...interesting.map((n) => n >>> 0)) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), value: fc.constant(0) }),
      fc.record({ kind: fc.constant('append' as const), at: fc.nat({ max: 64 }), value: fc.integer({ min: 0, max: 255 }) }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...bases.keys()), fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.boolean(), (bi, muts, verifyHash) => {
        let b = Buffer.from(bases[bi]!);
        for (const m of muts) {
          if (b.length === 0) break;
          const at = m.at % b.length;
          if (m.kind === 'byte') b[at] = m.value;
          else if (m.kind === 'u16' && at + 2 <= b.length) b.writeUInt16LE(m.value, at);
          else if (m.kind === 'u32' && at + 4 <= b.length) b.writeUInt32LE(m.value, at);
          else if (m.kind === 'truncate') b = b.subarray(0, at);
          else if (m.kind === 'append') b = Buffer.concat([b, Buffer.alloc(m.at, m.value)]);
        }
        try {
          const info = parseImage(b, { verifyHash });
          assert.ok(info.imageEnd <= info.size);
          assert.ok(info.header.hdrSize >= 32);
        } catch (err) {
          if (!(err instanceof ImageFormatError)) throw err;
          assert.equal(err.code, 'IMAGE_ERR_FORMAT');
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('header-field mutations aimed at the size fields', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 0xffffffff })),
        (hdr, prot, imgSize) => {
          const b = Buffer.from(VECTOR);
          b.writeUInt16LE(hdr, 8);
          b.writeUInt16LE(prot, 10);
          b.writeUInt32LE(imgSize, 12);
          try {
            parseImage(b);
          } catch (err) {
            if (!(err instanceof ImageFormatError)) throw err;
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
