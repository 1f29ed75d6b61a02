// Strict RFC 4648 base64 (standard alphabet, '=' padding) for JavaScript: `base64Encode` and
// `base64Decode`, twins of src/codec/base64.ts. The encoder and decoder are in codec_core.h.
#include "codec.h"

#include <cstring>

namespace mcumgr {
namespace codec {
namespace {

napi_value Base64EncodeJs(napi_env env, napi_callback_info info) {
  Args<1> a;
  Bytes in;
  if (!a.Read(env, info) || !GetBytes(env, a.argv[0], "data", &in)) return nullptr;
  uint8_t* out;
  napi_value buf = PoolOf(a.data)->Alloc(env, Base64Length(in.size), &out);
  if (buf != nullptr) Base64Encode(in.data, in.size, out);
  return buf;
}

napi_value Base64DecodeJs(napi_env env, napi_callback_info info) {
  Args<1> a;
  Bytes text;
  if (!a.Read(env, info) || !GetBytes(env, a.argv[0], "text", &text)) return nullptr;
  napi_value result;
  if (text.size % 4 != 0) return napi_get_null(env, &result) == napi_ok ? result : nullptr;
  uint8_t* out;
  napi_value buf = PoolOf(a.data)->Alloc(env, text.size ? Base64DecodedLength(text.data, text.size) : 0, &out);
  if (buf == nullptr) return nullptr;
  if (text.size && !Base64Decode(text.data, text.size, out)) return napi_get_null(env, &result) == napi_ok ? result : nullptr;
  return buf;
}

}  // namespace

void InitBase64(Napi::Env env, Napi::Object exports, BufferPool* pool) {
  DefineFunction(env, exports, "base64Encode", Base64EncodeJs, pool);
  DefineFunction(env, exports, "base64Decode", Base64DecodeJs, pool);
}

}  // namespace codec
}  // namespace mcumgr
