// Raw SMP over a UART (PROTOCOL.md §5.4): the streaming `RawDecoder`, twin of src/codec/raw.ts.
// Packets come back to back and only the header's length gives their boundaries. A packet lying
// whole inside a chunk is copied out of the chunk directly; only packets that straddle chunks go
// through the decoder's capped buffer.
#include "codec.h"

#include <cstring>
#include <memory>

namespace mcumgr {
namespace codec {
namespace {

constexpr size_t kHeader = 8;

enum Stat { kPackets, kBadLength, kBadHeader, kDiscarded, kStatCount };

class RawDecoder {
 public:
  static constexpr const char* kName = "RawDecoder";

  static RawDecoder* Create(napi_env env, const napi_value* argv, BufferPool* pool) {
    size_t maxPacket;
    if (!GetCap(env, argv[0], "maxPacket", 8, 0xffff + 8, &maxPacket)) return nullptr;
    auto* d = new (std::nothrow) RawDecoder(pool, maxPacket);
    if (d == nullptr || !d->pkt_) {
      delete d;
      ThrowNoMemory(env);
      return nullptr;
    }
    return d;
  }

  napi_value Push(napi_env env, napi_value arg) {
    Bytes chunk;
    if (!GetBytes(env, arg, "chunk", &chunk)) return nullptr;
    PacketList out(env, pool_);
    if (!out.ok()) return nullptr;
    const uint8_t* c = chunk.data;
    const size_t n = chunk.size;
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
        const uint8_t b0 = h[0];
        if ((b0 & 0xe0) != 0 || (b0 & 7) > 3) {
          stats_[kBadHeader]++;
          continue;
        }
        const size_t total = kHeader + ((size_t{h[2]} << 8) | h[3]);
        if (total > maxPacket_) {
          stats_[kBadLength]++;
          continue;
        }
        if (inChunk && n - i >= total - kHeader) {
          stats_[kPackets]++;
          if (!out.Add(h, total)) return nullptr;
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
        if (!out.Add(pkt_.get(), total_)) return nullptr;
      }
    }
    return out.Value();
  }

  // Drops a partial header or packet (a stall timeout calls this); counts it when bytes were held.
  napi_value Reset(napi_env env) {
    if (hdrLen_ > 0 || active_) stats_[kDiscarded]++;
    hdrLen_ = 0;
    active_ = false;
    return Undefined(env);
  }

  napi_value Stats(napi_env env) { return StatsArray(env, stats_, kStatCount); }

  napi_value Buffered(napi_env env) { return Number(env, static_cast<double>(hdrLen_ + (active_ ? have_ : 0))); }

 private:
  RawDecoder(BufferPool* pool, size_t maxPacket) : pool_(pool), maxPacket_(maxPacket), pkt_(new (std::nothrow) uint8_t[maxPacket]) {}

  BufferPool* pool_;
  size_t maxPacket_ = 0;
  uint8_t hdr_[kHeader] = {};
  size_t hdrLen_ = 0;
  std::unique_ptr<uint8_t[]> pkt_;  // a packet straddling chunks (capacity maxPacket)
  bool active_ = false;
  size_t have_ = 0;
  size_t total_ = 0;
  uint64_t stats_[kStatCount] = {};
};

}  // namespace

void InitRaw(Napi::Env env, Napi::Object exports, BufferPool* pool) {
  DefineDecoder<RawDecoder>(env, exports, pool);
}

}  // namespace codec
}  // namespace mcumgr
