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

class RawDecoder : public Napi::ObjectWrap<RawDecoder> {
 public:
  static Napi::Function Define(Napi::Env env, BufferPool* pool) {
    return DefineClass(env, "RawDecoder",
                       {InstanceMethod<&RawDecoder::Push>("push"), InstanceMethod<&RawDecoder::Reset>("reset"),
                        InstanceMethod<&RawDecoder::Stats>("stats"), InstanceMethod<&RawDecoder::Buffered>("buffered")},
                       pool);
  }

  explicit RawDecoder(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RawDecoder>(info), pool_(PoolOf(info)) {
    maxPacket_ = GetCap(info.Env(), info[0], "maxPacket", 8, 0xffff + 8);
    pkt_.reset(new uint8_t[maxPacket_]);
  }

 private:
  Napi::Value Push(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const Bytes chunk = GetBytes(env, info[0], "chunk");
    PacketList out(env, pool_);
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
          out.Add(h, total);
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
        out.Add(pkt_.get(), total_);
      }
    }
    return out.Value();
  }

  // Drops a partial header or packet (a stall timeout calls this); counts it when bytes were held.
  Napi::Value Reset(const Napi::CallbackInfo& info) {
    if (hdrLen_ > 0 || active_) stats_[kDiscarded]++;
    hdrLen_ = 0;
    active_ = false;
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) { return StatsArray(info.Env(), stats_, kStatCount); }

  Napi::Value Buffered(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(hdrLen_ + (active_ ? have_ : 0)));
  }

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
  exports.Set("RawDecoder", RawDecoder::Define(env, pool));
}

}  // namespace codec
}  // namespace mcumgr
