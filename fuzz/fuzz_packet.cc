// libFuzzer target: one SMP packet through every framing, and the length/header checks a hostile
// device can aim at. Input: cap byte, two bytes of a forged console length prefix, then the packet
// P. Checks:
//  - console: P (1..65533 bytes) encoded with either split decodes to P iff 8 <= |P| <= cap, else
//    to nothing with exactly one badLength;
//  - COBS: P (1..65535 bytes) framed decodes to P iff 8 <= |P| <= cap, else to nothing with one
//    `short` or one `oversize`;
//  - raw: fed P, the decoder returns at most the prefix its header announces, only when the header
//    is valid and the announced size is within the cap;
//  - a forged console packet: frames carrying `want ‖ P` (want taken from the input, not from |P|)
//    are accepted only when want is 10..cap+2 and the frames carry exactly want bytes with a good
//    CRC; while a packet is incomplete buffered() never exceeds cap + 2, whatever want says;
//  - the session's checks on any packet that comes out (SmpSession.#onPacket): the header's
//    length field must equal the payload size; for raw it always does.
#include "../native/codec_core_cobs.h"
#include "../native/codec_core_console.h"
#include "../native/codec_core_raw.h"
#include "fuzz_common.h"

using namespace mcumgr::codec;
using namespace fuzz;

namespace {

constexpr size_t kCaps[8] = {8, 9, 10, 64, 380, 2048, 16384, 65533};

// The session's header/length check: at least a header, and the length field equals the payload.
bool SessionLengthOk(const Bytes& p) { return p.size() >= 8 && ((size_t{p[2]} << 8) | p[3]) == p.size() - 8; }

Bytes Frame(bool initial, const uint8_t* raw, size_t n) {
  Bytes line = {uint8_t(initial ? 0x06 : 0x04), uint8_t(initial ? 0x09 : 0x14)};
  const size_t at = line.size();
  line.resize(at + Base64Length(n));
  Base64Encode(raw, n, line.data() + at);
  line.push_back(0x0a);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const size_t cap = kCaps[in.Take() & 7];
  const size_t want = (size_t{in.Take()} << 8) | in.Take();
  const Bytes p(in.rest(), in.rest() + in.restSize());
  const size_t n = p.size();
  const bool fits = n >= 8 && n <= cap;

  if (n >= 1 && n <= kMaxConsolePacket) {
    for (const bool zephyr : {false, true}) {
      Bytes wire(ConsoleEncodedLength(n, zephyr));
      ConsoleEncode(p.data(), n, zephyr, wire.data());
      ConsoleDecoderCore d(124, cap);
      Packets got;
      CollectSink sink{&got};
      FUZZ_CHECK(d.ok() && d.Push(wire.data(), wire.size(), sink), "console push");
      if (fits) {
        FUZZ_CHECK(got.size() == 1 && got[0] == p, "console: a %zu-byte packet under cap %zu did not come back", n, cap);
      } else {
        FUZZ_CHECK(got.empty(), "console: a %zu-byte packet over cap %zu came out", n, cap);
        FUZZ_CHECK(d.Stats()[ConsoleDecoderCore::kBadLength] == 1, "console: refused packet not counted as badLength");
      }
      FUZZ_CHECK(d.Buffered() == 0, "console: bytes left buffered");
    }
  }

  if (n >= 1 && n <= kMaxCobsPacket) {
    const uint16_t crc = Crc16(p.data(), n, 0);
    Bytes wire(CobsFrameLength(p.data(), n, crc));
    CobsFrameEncode(p.data(), n, crc, wire.data());
    CobsDecoderCore d(cap);
    Packets got;
    CollectSink sink{&got};
    FUZZ_CHECK(d.ok() && d.Push(wire.data(), wire.size(), sink), "cobs push");
    if (fits) {
      FUZZ_CHECK(got.size() == 1 && got[0] == p, "cobs: a %zu-byte packet under cap %zu did not come back", n, cap);
    } else {
      FUZZ_CHECK(got.empty(), "cobs: a %zu-byte packet outside 8..%zu came out", n, cap);
      const uint64_t* st = d.Stats();
      FUZZ_CHECK(st[n < 8 ? CobsDecoderCore::kShort : CobsDecoderCore::kOversize] == 1, "cobs: refused packet miscounted");
    }
    FUZZ_CHECK(d.Buffered() == 0, "cobs: bytes left buffered");
  }

  {
    RawDecoderCore d(cap < 8 ? 8 : cap);
    Packets got;
    CollectSink sink{&got};
    FUZZ_CHECK(d.ok() && d.Push(p.data(), n, sink), "raw push");
    if (n >= 8) {
      const size_t total = RawPacketLength(p.data());
      const bool first = RawHeaderValid(p.data()) && total <= cap && total <= n;
      FUZZ_CHECK(first == (!got.empty() && got[0].size() == total && std::equal(got[0].begin(), got[0].end(), p.begin())),
                 "raw: first packet (header valid %d, announces %zu, cap %zu, have %zu)", RawHeaderValid(p.data()), total, cap, n);
    }
    for (const Bytes& q : got) FUZZ_CHECK(SessionLengthOk(q) && q.size() <= cap, "raw: packet fails the session's length check");
    FUZZ_CHECK(d.Buffered() <= cap, "raw: buffered over cap");
  }

  {
    // want ‖ P cut in frames of up to 93 raw bytes, as a lying device would send it; the last two
    // bytes of P stand for the CRC, so the packet is good only when P checks to 0.
    Bytes stream = {uint8_t(want >> 8), uint8_t(want)};
    stream.insert(stream.end(), p.begin(), p.end());
    ConsoleDecoderCore d(124, cap);
    FUZZ_CHECK(d.ok(), "allocation failed");
    Packets got;
    CollectSink sink{&got};
    const bool wantOk = want >= 10 && want - 2 <= cap;
    size_t fed = 0;        // packet bytes (after the prefix) delivered so far
    size_t fedAtEnd = 0;   // fed when the packet ended (first frame reaching want), 0 if never
    for (size_t off = 0; off < stream.size();) {
      const size_t k = std::min<size_t>(93, stream.size() - off);
      const Bytes line = Frame(off == 0, stream.data() + off, k);
      FUZZ_CHECK(d.Push(line.data(), line.size(), sink), "forged push");
      fed += off == 0 ? k - std::min<size_t>(k, 2) : k;
      off += k;
      if (wantOk && fedAtEnd == 0 && fed >= want) fedAtEnd = fed;
      FUZZ_CHECK(d.Buffered() <= cap + 2, "forged length %zu: %zu bytes buffered over cap %zu + 2", want, d.Buffered(), cap);
      if (wantOk && fedAtEnd == 0) FUZZ_CHECK(d.Buffered() == fed, "forged length %zu: buffered %zu, fed %zu", want, d.Buffered(), fed);
      else FUZZ_CHECK(d.Buffered() == 0, "forged length %zu: %zu bytes held after the packet ended", want, d.Buffered());
    }
    // Frames after the one that ended the packet are orphan continuations: never a packet.
    const uint64_t* st = d.Stats();
    if (!wantOk) {
      FUZZ_CHECK(got.empty() && st[ConsoleDecoderCore::kBadLength] == 1, "forged length %zu (cap %zu) accepted", want, cap);
    } else if (fedAtEnd > want) {
      FUZZ_CHECK(got.empty() && st[ConsoleDecoderCore::kBadLength] == 1, "forged length %zu overrun (%zu bytes by that frame) not refused", want, fedAtEnd);
    } else if (fedAtEnd == want) {
      const bool crcOk = RefCrc16(p.data(), want) == 0;
      FUZZ_CHECK(crcOk == (got.size() == 1) && got.size() <= 1, "forged length %zu: CRC ok %d but %zu packets", want, crcOk, got.size());
      if (crcOk) FUZZ_CHECK(got[0].size() == want - 2 && std::equal(got[0].begin(), got[0].end(), p.begin()), "forged packet content");
    } else {
      FUZZ_CHECK(got.empty(), "forged length %zu: a packet from %zu bytes", want, fed);
    }
  }
  return 0;
}
