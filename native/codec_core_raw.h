// Raw SMP over a UART (PROTOCOL.md §5.4) without Node-API: the streaming decoder, twin of
// RawDecoderTs in src/codec/raw.ts. Packets come back to back and only the header's length gives
// their boundaries. A packet lying whole inside a chunk goes to the sink straight from the chunk;
// only packets that straddle chunks go through the decoder's capped buffer. codec_raw.cc wraps it
// for JavaScript; fuzz/fuzz_raw.cc drives it directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

namespace mcumgr {
namespace codec {

// The header checks of the raw decoder (and of the device, §5.4): op 0..3, reserved bits clear.
inline bool RawHeaderValid(const uint8_t* h) { return (h[0] & 0xe0) == 0 && (h[0] & 7) <= 3; }
// Header + payload length announced by an 8-byte SMP header.
inline size_t RawPacketLength(const uint8_t* h) { return 8 + ((size_t{h[2]} << 8) | h[3]); }

// Streaming raw SMP decoder. Packets go to a sink: any object with
// `bool Add(const uint8_t* data, size_t n)` (false stops the push).
class RawDecoderCore {
 public:
  enum Stat { kPackets, kBadLength, kBadHeader, kDiscarded, kStatCount };
  static constexpr size_t kHeader = 8;
  // The caps the JS API accepts (the constructor does not check them).
  static constexpr size_t kMinPacket = 8, kMaxPacketCap = 0xffff + 8;

  // maxPacket in kMinPacket..kMaxPacketCap. Allocation does not throw: check ok() afterwards.
  explicit RawDecoderCore(size_t maxPacket) : maxPacket_(maxPacket), pkt_(new (std::nothrow) uint8_t[maxPacket]) {}

  bool ok() const { return static_cast<bool>(pkt_); }
  size_t maxPacket() const { return maxPacket_; }

  // Feeds n bytes at c. Returns false only when the sink refused a packet.
  template <typename Sink>
  bool Push(const uint8_t* c, size_t n, Sink& out) {
    size_t i = 0;
    while (i < n) {
      if (!active_) {
        const uint8_t* h;
        bool inChunk;
        if (hdrLen_ == 0 && n - i >= kHeader) {
          h = c + i;
          inChunk = true;
          i += kHeader;
        } else {
          const size_t take = kHeader - hdrLen_ < n - i ? kHeader - hdrLen_ : n - i;
          std::memcpy(hdr_ + hdrLen_, c + i, take);
          hdrLen_ += take;
          i += take;
          if (hdrLen_ < kHeader) continue;
          hdrLen_ = 0;
          h = hdr_;
          inChunk = false;
        }
        if (!RawHeaderValid(h)) {
          stats_[kBadHeader]++;
          continue;
        }
        const size_t total = RawPacketLength(h);
        if (total > maxPacket_) {
          stats_[kBadLength]++;
          continue;
        }
        if (inChunk && n - i >= total - kHeader) {
          stats_[kPackets]++;
          if (!out.Add(h, total)) return false;
          i += total - kHeader;
          continue;
        }
        std::memcpy(pkt_.get(), h, kHeader);
        have_ = kHeader;
        total_ = total;
        active_ = true;
      }
      const size_t take = total_ - have_ < n - i ? total_ - have_ : n - i;
      std::memcpy(pkt_.get() + have_, c + i, take);
      have_ += take;
      i += take;
      if (have_ == total_) {
        stats_[kPackets]++;
        active_ = false;
        if (!out.Add(pkt_.get(), total_)) return false;
      }
    }
    return true;
  }

  // Drops a partial header or packet (a stall timeout calls this); counts it when bytes were held.
  void Reset() {
    if (hdrLen_ > 0 || active_) stats_[kDiscarded]++;
    hdrLen_ = 0;
    active_ = false;
  }

  const uint64_t* Stats() const { return stats_; }

  // Bytes held for a partial header or packet.
  size_t Buffered() const { return hdrLen_ + (active_ ? have_ : 0); }

 private:
  size_t maxPacket_ = 0;
  uint8_t hdr_[kHeader] = {};
  size_t hdrLen_ = 0;
  std::unique_ptr<uint8_t[]> pkt_;  // a packet straddling chunks (capacity maxPacket)
  bool active_ = false;
  size_t have_ = 0;
  size_t total_ = 0;
  uint64_t stats_[kStatCount] = {};
};

}  // namespace codec
}  // namespace mcumgr
