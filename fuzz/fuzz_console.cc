// libFuzzer target: the console frame decoder (PROTOCOL.md §4) and encoder.
// Input: caps byte, chunking (Chunker::kParamBytes), then the byte stream. Checks: the core
// agrees with the byte-at-a-time reference after every chunk (packets, buffered(), counters), is
// independent of the chunking, keeps buffered() <= maxLine + maxPacket + 2, returns packets of
// 8..maxPacket bytes, and every packet re-encoded (plain and Zephyr split) decodes to itself in a
// fresh decoder whose lines are capped at 124 characters (the §4.1 frame limit), and is framed the
// same whole and in pieces.
#include "../native/codec_core_console.h"
#include "fuzz_common.h"

using mcumgr::codec::ConsoleDecoderCore;
using mcumgr::codec::ConsoleEncode;
using mcumgr::codec::ConsoleEncodeParts;
using mcumgr::codec::ConsoleEncodedLength;
using namespace fuzz;

namespace {

constexpr size_t kLines[16] = {4, 5, 7, 8, 12, 16, 124, 125, 127, 128, 200, 512, 513, 1024, 4096, size_t{1} << 20};
constexpr size_t kPackets[16] = {8, 9, 10, 11, 16, 64, 89, 90, 91, 92, 380, 1024, 4096, 16384, 65532, 65533};

// Decoders for re-encoded packets, one per split, reused for every packet of an input: each
// packet must add exactly one to `packets` and nothing to any other counter.
class Reencoder {
 public:
  explicit Reencoder(size_t maxPacket) : d_{ConsoleDecoderCore(124, maxPacket), ConsoleDecoderCore(124, maxPacket)} {
    FUZZ_CHECK(d_[0].ok() && d_[1].ok(), "allocation failed");
  }
  void Check(const Bytes& p) {
    for (int zephyr = 0; zephyr < 2; zephyr++) {
      ConsoleDecoderCore& d = d_[zephyr];
      wire_.resize(ConsoleEncodedLength(p.size(), zephyr));
      ConsoleEncode(p.data(), p.size(), zephyr, wire_.data());
      // The same packet as three pieces (cut where its size says, some cuts empty) frames the same.
      const size_t a = p.size() * 3 / 7, b = a + (p.size() - a) / 2;
      const mcumgr::codec::ByteSpan parts[4] = {{p.data(), a}, {p.data() + a, 0}, {p.data() + a, b - a}, {p.data() + b, p.size() - b}};
      parts_.resize(wire_.size());
      ConsoleEncodeParts(parts, 4, zephyr, parts_.data());
      FUZZ_CHECK(parts_ == wire_, "frames of a %zu-byte packet in pieces differ from the whole packet's (zephyr=%d)", p.size(), zephyr);
      Packets got;
      CollectSink sink{&got};
      FUZZ_CHECK(d.Push(wire_.data(), wire_.size(), sink), "push refused");
      FUZZ_CHECK(got.size() == 1 && got[0] == p, "re-encoded packet of %zu bytes (zephyr=%d) decoded to %zu packets", p.size(), zephyr, got.size());
      const uint64_t* st = d.Stats();
      FUZZ_CHECK(st[ConsoleDecoderCore::kPackets] == count_ + 1, "re-encoded packet not counted");
      for (size_t i = 1; i < ConsoleDecoderCore::kStatCount; i++) FUZZ_CHECK(st[i] == 0, "re-encoded packet bumped counter %zu", i);
      FUZZ_CHECK(d.Buffered() == 0, "re-encoded packet left %zu bytes buffered", d.Buffered());
    }
    count_++;
  }

 private:
  ConsoleDecoderCore d_[2];
  Bytes wire_;
  Bytes parts_;
  uint64_t count_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t caps = in.Take();
  const size_t maxLine = kLines[caps & 15], maxPacket = kPackets[caps >> 4];
  Chunker ch(in);
  Reencoder reencoder(maxPacket);
  DriveStream<ConsoleDecoderCore, RefConsoleDecoder>(
      "console", [&] { return ConsoleDecoderCore(maxLine, maxPacket); }, [&] { return RefConsoleDecoder(maxLine, maxPacket); }, in.rest(),
      in.restSize(), ch, maxLine + maxPacket + 2, [&](const Bytes& p) {
        FUZZ_CHECK(p.size() >= 8 && p.size() <= maxPacket, "packet of %zu bytes outside 8..%zu", p.size(), maxPacket);
        reencoder.Check(p);
      });
  return 0;
}
