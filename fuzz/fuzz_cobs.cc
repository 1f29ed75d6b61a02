// libFuzzer target: COBS (PROTOCOL.md §5.5): the stream decoder, the frame encoder and the block
// functions. Input: cap byte, chunking (Chunker::kParamBytes), then the byte stream. Checks: the
// decoder agrees with the byte-at-a-time reference after every chunk, is independent of the
// chunking, keeps buffered() <= CobsMaxLength(maxPacket + 2), returns packets of 8..maxPacket
// bytes, and every packet re-framed (whole and in pieces, the same bytes) decodes to itself. Every zero-free segment of the stream goes
// through CobsDecodedLength/CobsDecodeValid (out of place and in place) against the reference,
// and the whole stream through CobsEncode and back.
#include "../native/codec_core_cobs.h"
#include "fuzz_common.h"

using namespace mcumgr::codec;
using namespace fuzz;

namespace {

constexpr size_t kPackets[16] = {8, 9, 10, 11, 16, 64, 250, 251, 252, 253, 254, 380, 1024, 16384, 65534, 65535};

void CheckReframe(const Bytes& p, size_t maxPacket) {
  const uint16_t crc = Crc16(p.data(), p.size(), 0);
  Bytes wire(CobsFrameLength(p.data(), p.size(), crc));
  FUZZ_CHECK(CobsFrameEncode(p.data(), p.size(), crc, wire.data()) == wire.size(), "frame length");
  FUZZ_CHECK(wire.size() <= CobsMaxLength(p.size() + 2) + 1, "frame of %zu bytes over the worst case", wire.size());
  FUZZ_CHECK(std::memchr(wire.data(), 0, wire.size() - 1) == nullptr && wire.back() == 0, "zero inside a frame");
  CobsDecoderCore d(maxPacket);
  FUZZ_CHECK(d.ok(), "allocation failed");
  Packets got;
  CollectSink sink{&got};
  FUZZ_CHECK(d.Push(wire.data(), wire.size(), sink), "push refused");
  FUZZ_CHECK(got.size() == 1 && got[0] == p, "re-framed packet of %zu bytes decoded to %zu packets", p.size(), got.size());
  FUZZ_CHECK(d.Stats()[CobsDecoderCore::kPackets] == 1 && d.Buffered() == 0, "re-framed packet counters");
  // The same packet in three pieces (cut where its size says, one cut empty) frames the same.
  const size_t a = p.size() * 2 / 5, b = a + (p.size() - a) / 3;
  const ByteSpan parts[4] = {{p.data(), a}, {p.data() + a, b - a}, {p.data() + b, 0}, {p.data() + b, p.size() - b}};
  FUZZ_CHECK(Crc16Parts(parts, 4) == crc, "CRC of the pieces");
  Bytes pieces(CobsFramePartsLength(parts, 4, crc));
  FUZZ_CHECK(CobsFramePartsEncode(parts, 4, crc, pieces.data()) == pieces.size() && pieces == wire, "frame of %zu bytes in pieces differs", p.size());
}

void CheckBlocks(const uint8_t* s, size_t n) {
  // Each segment between zeros, as a receiver would see it.
  for (size_t a = 0; a <= n;) {
    const void* z = n > a ? std::memchr(s + a, 0, n - a) : nullptr;
    const size_t b = z ? static_cast<size_t>(static_cast<const uint8_t*>(z) - s) : n;
    const Bytes seg(s + a, s + b);
    Bytes ref;
    const bool refOk = RefCobsDecode(seg.data(), seg.size(), &ref);
    size_t len = 0;
    const bool ok = CobsDecodedLength(seg.data(), seg.size(), &len);
    FUZZ_CHECK(ok == refOk, "CobsDecodedLength says %d, reference %d (%zu bytes)", ok, refOk, seg.size());
    if (ok) {
      FUZZ_CHECK(len == ref.size() && len <= seg.size(), "decoded length %zu vs %zu", len, ref.size());
      Bytes out(len);
      FUZZ_CHECK(CobsDecodeValid(seg.data(), seg.size(), out.data()) == len && out == ref, "CobsDecodeValid differs");
      Bytes inPlace(seg);
      FUZZ_CHECK(CobsDecodeValid(inPlace.data(), inPlace.size(), inPlace.data()) == len, "in place length");
      FUZZ_CHECK(std::equal(ref.begin(), ref.end(), inPlace.begin()), "in-place decode differs");
      // Decoding is not injective (a trailing 0xff block), so compare decode(encode(decode(x))).
      Bytes enc(CobsEncodedLength(out.data(), out.size(), nullptr, 0));
      FUZZ_CHECK(CobsEncode(out.data(), out.size(), nullptr, 0, enc.data()) == enc.size(), "encode length");
      Bytes again;
      FUZZ_CHECK(RefCobsDecode(enc.data(), enc.size(), &again) && again == out, "re-encoded block does not decode to itself");
    }
    if (!z) break;
    a = b + 1;
  }
  // The stream as data (zeros included), split in two spans at a point taken from the input.
  const size_t cut = n ? s[0] % (n + 1) : 0;
  const size_t elen = CobsEncodedLength(s, cut, s + cut, n - cut);
  FUZZ_CHECK(elen <= CobsMaxLength(n), "encoded %zu bytes > worst case %zu", elen, CobsMaxLength(n));
  Bytes enc(elen);
  FUZZ_CHECK(CobsEncode(s, cut, s + cut, n - cut, enc.data()) == elen, "encode length");
  FUZZ_CHECK(elen == 0 || std::memchr(enc.data(), 0, elen) == nullptr, "zero in COBS output");
  Bytes back;
  FUZZ_CHECK(RefCobsDecode(enc.data(), enc.size(), &back) && back == Bytes(s, s + n), "COBS round trip of %zu bytes", n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const size_t maxPacket = kPackets[in.Take() & 15];
  Chunker ch(in);
  DriveStream<CobsDecoderCore, RefCobsDecoder>(
      "cobs", [&] { return CobsDecoderCore(maxPacket); }, [&] { return RefCobsDecoder(maxPacket); }, in.rest(), in.restSize(), ch,
      CobsMaxLength(maxPacket + 2), [&](const Bytes& p) {
        FUZZ_CHECK(p.size() >= 8 && p.size() <= maxPacket, "packet of %zu bytes outside 8..%zu", p.size(), maxPacket);
        CheckReframe(p, maxPacket);
      });
  CheckBlocks(in.rest(), in.restSize());
  return 0;
}
