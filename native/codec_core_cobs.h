// COBS + CRC16 framing for raw serial (PROTOCOL.md §5.5) without Node-API: the frame encoder and
// the streaming decoder, twins of encodeCobsFrame and CobsDecoderTs in src/codec/cobs.ts. The
// decoder copies into its capped buffer only the frames that straddle chunks, and decodes the
// others straight from the chunk. codec_cobs.cc wraps both for JavaScript; fuzz/fuzz_cobs.cc
// drives them directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

#include "codec_core.h"

namespace mcumgr {
namespace codec {

// Largest packet a COBS frame carries (the JS API's limit).
constexpr size_t kMaxCobsPacket = 0xffff;

// COBS(pieces ‖ CRC16 BE) ‖ 0x00 through a writer that counts (kWrite false) or writes; returns the
// frame's length. Each piece is read where it lies.
template <bool kWrite>
inline size_t CobsFrameParts(const ByteSpan* parts, size_t count, uint16_t crc, uint8_t* out) {
  const uint8_t tail[2] = {static_cast<uint8_t>(crc >> 8), static_cast<uint8_t>(crc)};
  CobsWriter<kWrite> w(out);
  for (size_t i = 0; i < count; i++) w.Feed(parts[i].data, parts[i].size);
  w.Feed(tail, 2);
  const size_t len = w.Finish();
  if (kWrite) out[len] = 0;
  return len + 1;
}

// Wire bytes of the frame of the packet made of `count` pieces whose CRC16 is `crc`.
inline size_t CobsFramePartsLength(const ByteSpan* parts, size_t count, uint16_t crc) {
  return CobsFrameParts<false>(parts, count, crc, nullptr);
}

// Writes that frame into `out` (CobsFramePartsLength bytes); returns its length.
inline size_t CobsFramePartsEncode(const ByteSpan* parts, size_t count, uint16_t crc, uint8_t* out) {
  return CobsFrameParts<true>(parts, count, crc, out);
}

// Wire bytes of the frame of `pkt` (1 <= n <= kMaxCobsPacket) whose CRC16 is `crc`:
// COBS(packet ‖ CRC16 BE) ‖ 0x00.
inline size_t CobsFrameLength(const uint8_t* pkt, size_t n, uint16_t crc) {
  const ByteSpan one{pkt, n};
  return CobsFramePartsLength(&one, 1, crc);
}

// Writes the frame of `pkt` whose CRC16 is `crc` into `out` (CobsFrameLength bytes); returns its
// length.
inline size_t CobsFrameEncode(const uint8_t* pkt, size_t n, uint16_t crc, uint8_t* out) {
  const ByteSpan one{pkt, n};
  return CobsFramePartsEncode(&one, 1, crc, out);
}

// Streaming COBS + CRC16 decoder: resynchronises at every 0x00. Packets go to a sink: any object
// with `bool Add(const uint8_t* data, size_t n)` (false stops the push).
class CobsDecoderCore {
 public:
  enum Stat { kPackets, kMalformed, kShort, kOversize, kBadCrc, kEmpty, kStatCount };
  // The caps the JS API accepts (the constructor does not check them).
  static constexpr size_t kMinPacket = 8, kMaxPacketCap = kMaxCobsPacket;

  // maxPacket in kMinPacket..kMaxPacketCap. Allocation does not throw: check ok() afterwards.
  explicit CobsDecoderCore(size_t maxPacket)
      : maxPacket_(maxPacket), cap_(CobsMaxLength(maxPacket + 2)), buf_(new (std::nothrow) uint8_t[cap_]) {}

  bool ok() const { return static_cast<bool>(buf_); }
  size_t maxPacket() const { return maxPacket_; }
  // Bytes of one frame's encoding the decoder keeps at most.
  size_t capacity() const { return cap_; }

  // Feeds n bytes at data. Returns false only when the sink refused a packet.
  template <typename Sink>
  bool Push(const uint8_t* data, size_t n, Sink& out) {
    const uint8_t* p = data;
    const uint8_t* const end = data + n;
    while (p < end) {
      const uint8_t* z = static_cast<const uint8_t*>(std::memchr(p, 0, static_cast<size_t>(end - p)));
      const uint8_t* runEnd = z ? z : end;
      const size_t run = static_cast<size_t>(runEnd - p);
      if (run && !overflow_) {
        if (len_ + run > cap_) {
          // The buffer fills with no delimiter: drop the frame, resync at the next 0x00.
          overflow_ = true;
          len_ = 0;
          stats_[kOversize]++;
        } else if (len_ == 0 && z) {
          // A whole frame inside this chunk: decode it from the chunk, skipping the buffer.
          if (!Frame(p, run, out)) return false;
          p = z + 1;
          continue;
        } else {
          std::memcpy(buf_.get() + len_, p, run);
          len_ += run;
        }
      }
      p = runEnd;
      if (!z) break;
      p++;
      if (overflow_) {
        overflow_ = false;
      } else if (len_ == 0) {
        stats_[kEmpty]++;
      } else {
        const size_t k = len_;
        len_ = 0;
        if (!Frame(buf_.get(), k, out)) return false;
      }
    }
    return true;
  }

  // Forgets a partial frame (counters are kept).
  void Reset() {
    len_ = 0;
    overflow_ = false;
  }

  const uint64_t* Stats() const { return stats_; }

  // Bytes held for a partial frame.
  size_t Buffered() const { return len_; }

 private:
  // Decodes one frame's COBS bytes (no zero among them) into the buffer and checks it. Returns
  // false only when the sink refused the packet.
  template <typename Sink>
  bool Frame(const uint8_t* enc, size_t n, Sink& out) {
    size_t dl;
    if (!CobsDecodedLength(enc, n, &dl)) {
      stats_[kMalformed]++;
    } else if (dl < 10) {
      stats_[kShort]++;
    } else if (dl - 2 > maxPacket_) {
      stats_[kOversize]++;
    } else {
      uint8_t* dec = buf_.get();  // decoded bytes never outgrow their encoding, so they fit
      CobsDecodeValid(enc, n, dec);
      if (Crc16(dec, dl, 0) != 0) {
        stats_[kBadCrc]++;
      } else {
        stats_[kPackets]++;
        return out.Add(dec, dl - 2);
      }
    }
    return true;
  }

  size_t maxPacket_ = 0;
  size_t cap_ = 0;
  std::unique_ptr<uint8_t[]> buf_;
  size_t len_ = 0;
  bool overflow_ = false;
  uint64_t stats_[kStatCount] = {};
};

}  // namespace codec
}  // namespace mcumgr
