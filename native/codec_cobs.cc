// COBS + CRC16 framing for raw serial (PROTOCOL.md §5.5) for JavaScript: `cobsEncode`,
// `cobsDecode`, `encodeCobsFrame` and the streaming decoder class `CobsDecoder`, twins of
// src/codec/cobs.ts. COBS itself is in codec_core.h and the frame encoder and decoder core in
// codec_core_cobs.h; this file reads arguments, makes Buffers and wraps the decoder in a JS class.
#include "codec.h"
#include "codec_core_cobs.h"

namespace mcumgr {
namespace codec {
namespace {

napi_value CobsEncodeJs(napi_env env, napi_callback_info info) {
  Args<1> a;
  Bytes in;
  if (!a.Read(env, info) || !GetBytes(env, a.argv[0], "data", &in)) return nullptr;
  uint8_t* out;
  napi_value buf = PoolOf(a.data)->Alloc(env, CobsEncodedLength(in.data, in.size, nullptr, 0), &out);
  if (buf != nullptr) CobsEncode(in.data, in.size, nullptr, 0, out);
  return buf;
}

napi_value CobsDecodeJs(napi_env env, napi_callback_info info) {
  Args<1> a;
  Bytes enc;
  if (!a.Read(env, info) || !GetBytes(env, a.argv[0], "enc", &enc)) return nullptr;
  size_t len;
  if (!CobsDecodedLength(enc.data, enc.size, &len)) {
    napi_value result;
    return napi_get_null(env, &result) == napi_ok ? result : nullptr;
  }
  uint8_t* out;
  napi_value buf = PoolOf(a.data)->Alloc(env, len, &out);
  if (buf != nullptr) CobsDecodeValid(enc.data, enc.size, out);
  return buf;
}

napi_value EncodeCobsFrameJs(napi_env env, napi_callback_info info) {
  Args<1> a;
  Bytes pkt;
  if (!a.Read(env, info) || !GetBytes(env, a.argv[0], "packet", &pkt)) return nullptr;
  if (pkt.size < 1 || pkt.size > kMaxCobsPacket) {
    return ThrowRange(env, "packet must be 1..65535 bytes for COBS framing, got " + std::to_string(pkt.size));
  }
  const uint16_t crc = Crc16(pkt.data, pkt.size, 0);
  uint8_t* out;
  napi_value buf = PoolOf(a.data)->Alloc(env, CobsFrameLength(pkt.data, pkt.size, crc), &out);
  if (buf == nullptr) return nullptr;
  CobsFrameEncode(pkt.data, pkt.size, crc, out);
  return buf;
}

class CobsDecoder {
 public:
  static constexpr const char* kName = "CobsDecoder";
  using Core = CobsDecoderCore;

  static CobsDecoder* Create(napi_env env, const napi_value* argv, BufferPool* pool) {
    size_t maxPacket;
    if (!GetCap(env, argv[0], "maxPacket", Core::kMinPacket, Core::kMaxPacketCap, &maxPacket)) return nullptr;
    auto* d = new (std::nothrow) CobsDecoder(pool, maxPacket);
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

  napi_value Reset(napi_env env) {
    core_.Reset();
    return Undefined(env);
  }

  napi_value Stats(napi_env env) { return StatsArray(env, core_.Stats(), Core::kStatCount); }

  napi_value Buffered(napi_env env) { return Number(env, static_cast<double>(core_.Buffered())); }

 private:
  CobsDecoder(BufferPool* pool, size_t maxPacket) : pool_(pool), core_(maxPacket) {}

  BufferPool* pool_;
  Core core_;
};

}  // namespace

void InitCobs(Napi::Env env, Napi::Object exports, BufferPool* pool) {
  DefineFunction(env, exports, "cobsEncode", CobsEncodeJs, pool);
  DefineFunction(env, exports, "cobsDecode", CobsDecodeJs, pool);
  DefineFunction(env, exports, "encodeCobsFrame", EncodeCobsFrameJs, pool);
  DefineDecoder<CobsDecoder>(env, exports, pool);
}

}  // namespace codec
}  // namespace mcumgr
