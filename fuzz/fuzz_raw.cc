// libFuzzer target: the raw SMP stream decoder (PROTOCOL.md §5.4). Input: cap byte, chunking
// (Chunker::kParamBytes), then the byte stream. Checks: the decoder agrees with the byte-at-a-time
// reference after every chunk (resets included), is independent of the chunking, keeps
// buffered() <= maxPacket, and returns only packets whose header is valid (op 0..3, reserved bits
// clear), whose size is exactly what the header announces, within the cap; each packet fed again
// to a fresh decoder comes back whole.
#include "../native/codec_core_raw.h"
#include "fuzz_common.h"

using namespace mcumgr::codec;
using namespace fuzz;

namespace {
constexpr size_t kPackets[16] = {8, 9, 10, 12, 16, 64, 255, 256, 264, 380, 1024, 2048, 16384, 65535, 65542, 65543};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const size_t maxPacket = kPackets[in.Take() & 15];
  Chunker ch(in);
  RawDecoderCore again(maxPacket);  // every packet fed again, one after the other
  FUZZ_CHECK(again.ok(), "allocation failed");
  DriveStream<RawDecoderCore, RefRawDecoder>(
      "raw", [&] { return RawDecoderCore(maxPacket); }, [&] { return RefRawDecoder(maxPacket); }, in.rest(), in.restSize(), ch, maxPacket,
      [&](const Bytes& p) {
        FUZZ_CHECK(p.size() >= 8 && p.size() <= maxPacket, "packet of %zu bytes outside 8..%zu", p.size(), maxPacket);
        FUZZ_CHECK(RawHeaderValid(p.data()), "packet with an invalid header");
        FUZZ_CHECK(RawPacketLength(p.data()) == p.size(), "packet of %zu bytes, header says %zu", p.size(), RawPacketLength(p.data()));
        Packets got;
        CollectSink sink{&got};
        FUZZ_CHECK(again.Push(p.data(), p.size(), sink), "push refused");
        FUZZ_CHECK(got.size() == 1 && got[0] == p && again.Buffered() == 0, "packet fed again did not come back whole");
      });
  return 0;
}
