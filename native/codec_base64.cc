// Strict RFC 4648 base64 (standard alphabet, '=' padding) for JavaScript: `base64Encode` and
// `base64Decode`, twins of src/codec/base64.ts. The encoder and decoder are in codec_core.h.
#include "codec.h"

namespace mcumgr {
namespace codec {
namespace {

Napi::Value Base64EncodeJs(const Napi::CallbackInfo& info) {
  Bytes in = GetBytes(info[0], "data");
  uint8_t* out;
  Napi::Value buf = BufferPool::Of(info)->Alloc(info.Env(), Base64Length(in.size), &out);
  Base64Encode(in.data, in.size, out);
  return buf;
}

Napi::Value Base64DecodeJs(const Napi::CallbackInfo& info) {
  Bytes text = GetBytes(info[0], "text");
  if (text.size % 4 != 0) return info.Env().Null();
  uint8_t* out;
  Napi::Value buf = BufferPool::Of(info)->Alloc(info.Env(), text.size ? Base64DecodedLength(text.data, text.size) : 0, &out);
  if (text.size && !Base64Decode(text.data, text.size, out)) return info.Env().Null();
  return buf;
}

}  // namespace

void InitBase64(Napi::Env env, Napi::Object exports, BufferPool* pool) {
  exports.Set("base64Encode", Napi::Function::New<Base64EncodeJs>(env, "base64Encode", pool));
  exports.Set("base64Decode", Napi::Function::New<Base64DecodeJs>(env, "base64Decode", pool));
}

}  // namespace codec
}  // namespace mcumgr
