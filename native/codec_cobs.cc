// COBS + CRC16 framing for raw serial (PROTOCOL.md §5.5) for JavaScript: `cobsEncode`,
// `cobsDecode`, `encodeCobsFrame` and the streaming decoder class `CobsDecoder`, twins of
// src/codec/cobs.ts. COBS itself is in codec_core.h and the frame encoder and decoder core in
// codec_core_cobs.h; this file reads arguments and makes Buffers.
#include "codec.h"
#include "codec_core_cobs.h"

namespace mcumgr {
namespace codec {
namespace {

Napi::Value CobsEncodeJs(const Napi::CallbackInfo& info) {
  Bytes in = GetBytes(info[0], "data");
  uint8_t* out;
  Napi::Value buf = BufferPool::Of(info)->Alloc(info.Env(), CobsEncodedLength(in.data, in.size, nullptr, 0), &out);
  CobsEncode(in.data, in.size, nullptr, 0, out);
  return buf;
}

Napi::Value CobsDecodeJs(const Napi::CallbackInfo& info) {
  Bytes enc = GetBytes(info[0], "enc");
  size_t len;
  if (!CobsDecodedLength(enc.data, enc.size, &len)) return info.Env().Null();
  uint8_t* out;
  Napi::Value buf = BufferPool::Of(info)->Alloc(info.Env(), len, &out);
  CobsDecodeValid(enc.data, enc.size, out);
  return buf;
}

Napi::Value EncodeCobsFrameJs(const Napi::CallbackInfo& info) {
  Bytes pkt = GetBytes(info[0], "packet");
  if (pkt.size < 1 || pkt.size > kMaxCobsPacket) {
    throw Napi::RangeError::New(info.Env(), "packet must be 1..65535 bytes for COBS framing, got " + std::to_string(pkt.size));
  }
  const uint16_t crc = Crc16(pkt.data, pkt.size, 0);
  uint8_t* out;
  Napi::Value buf = BufferPool::Of(info)->Alloc(info.Env(), CobsFrameLength(pkt.data, pkt.size, crc), &out);
  CobsFrameEncode(pkt.data, pkt.size, crc, out);
  return buf;
}

// encodeCobsFrameParts(parts): the frame of the packet made of `parts` (at most kMaxParts
// Buffers), read where they lie: an upload chunk is not joined to its header first.
Napi::Value EncodeCobsFramePartsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PartsArg parts(info);
  const size_t n = parts.Views();
  if (n < 1 || n > kMaxCobsPacket) {
    throw Napi::RangeError::New(env, "packet must be 1..65535 bytes for COBS framing, got " + std::to_string(n));
  }
  const size_t len = CobsFramePartsLength(parts.parts(), parts.count(), Crc16Parts(parts.parts(), parts.count()));
  uint8_t* out;
  Napi::Value buf = BufferPool::Of(info)->Alloc(env, len, &out);
  // Alloc runs Buffer#subarray: take the views again; a frame's length depends on every byte, so
  // pieces that would not fit the buffer now are refused.
  const bool same = parts.Views() == n;
  const uint16_t crc = Crc16Parts(parts.parts(), parts.count());
  if (!same || CobsFramePartsLength(parts.parts(), parts.count(), crc) != len) {
    throw Napi::TypeError::New(env, "parts changed while being encoded");
  }
  CobsFramePartsEncode(parts.parts(), parts.count(), crc, out);
  return buf;
}

}  // namespace

void InitCobs(Napi::Env env, Napi::Object exports, BufferPool* pool) {
  exports.Set("cobsEncode", Napi::Function::New<CobsEncodeJs>(env, "cobsEncode", pool));
  exports.Set("cobsDecode", Napi::Function::New<CobsDecodeJs>(env, "cobsDecode", pool));
  exports.Set("encodeCobsFrame", Napi::Function::New<EncodeCobsFrameJs>(env, "encodeCobsFrame", pool));
  exports.Set("encodeCobsFrameParts", Napi::Function::New<EncodeCobsFramePartsJs>(env, "encodeCobsFrameParts", pool));
  Decoder<CobsDecoderCore>::Define(env, exports, pool, "CobsDecoder");
}

}  // namespace codec
}  // namespace mcumgr
