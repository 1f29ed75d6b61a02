// Raw SMP over a UART (PROTOCOL.md §5.4) for JavaScript: the streaming decoder class
// `RawDecoder`, twin of src/codec/raw.ts. The decoder itself is in codec_core_raw.h; this file
// wraps it in a JS class.
#include "codec.h"
#include "codec_core_raw.h"

namespace mcumgr {
namespace codec {
namespace {

class RawDecoder {
 public:
  static constexpr const char* kName = "RawDecoder";
  using Core = RawDecoderCore;

  static RawDecoder* Create(napi_env env, const napi_value* argv, BufferPool* pool) {
    size_t maxPacket;
    if (!GetCap(env, argv[0], "maxPacket", Core::kMinPacket, Core::kMaxPacketCap, &maxPacket)) return nullptr;
    auto* d = new (std::nothrow) RawDecoder(pool, maxPacket);
    if (d == nullptr || !d->core_.ok()) {
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
    if (!out.ok() || !core_.Push(chunk.data, chunk.size, out)) return nullptr;
    return out.Value();
  }

  // Drops a partial header or packet (a stall timeout calls this); counts it when bytes were held.
  napi_value Reset(napi_env env) {
    core_.Reset();
    return Undefined(env);
  }

  napi_value Stats(napi_env env) { return StatsArray(env, core_.Stats(), Core::kStatCount); }

  napi_value Buffered(napi_env env) { return Number(env, static_cast<double>(core_.Buffered())); }

 private:
  RawDecoder(BufferPool* pool, size_t maxPacket) : pool_(pool), core_(maxPacket) {}

  BufferPool* pool_;
  Core core_;
};

}  // namespace

void InitRaw(Napi::Env env, Napi::Object exports, BufferPool* pool) {
  DefineDecoder<RawDecoder>(env, exports, pool);
}

}  // namespace codec
}  // namespace mcumgr
