// CRC-16/XMODEM (poly 0x1021, init 0, no reflection, no final xor): PROTOCOL.md §4.1 and §5.5.
// Twin of src/codec/crc16.ts; the slicing-by-8 Crc16 itself is in codec_core.h.
// This file also holds the codec's entry point, InitCodec, the buffer pool and the option reader.
#include "addon.h"
#include "codec.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace mcumgr {
namespace codec {
namespace {

Napi::Value Crc16Js(const Napi::CallbackInfo& info) {
  Bytes data = GetBytes(info[0], "data");
  uint16_t init = 0;
  if (info[1].IsNumber()) {
    // The twin computes `init & 0xffff`: ToInt32, then the low 16 bits.
    init = static_cast<uint16_t>(info[1].As<Napi::Number>().Int32Value() & 0xffff);
  } else if (!info[1].IsUndefined()) {
    throw Napi::TypeError::New(info.Env(), "init must be a number");
  }
  return Napi::Number::New(info.Env(), Crc16(data.data, data.size, init));
}

}  // namespace

BufferPool* BufferPool::Create(Napi::Env env) {
  // Buffer.prototype.subarray, reached through a Buffer rather than the (replaceable) global.
  Napi::Value fn = Napi::Buffer<uint8_t>::New(env, 0).As<Napi::Object>().Get("subarray");
  if (!fn.IsFunction()) throw Napi::Error::New(env, "Buffer.prototype.subarray is not a function");
  auto* pool = new BufferPool();
  napi_status s = napi_create_reference(env, fn, 1, &pool->subarray_);
  // At teardown the environment releases the references itself; the hook only frees the struct.
  if (s == napi_ok) s = napi_add_env_cleanup_hook(env, [](void* p) { delete static_cast<BufferPool*>(p); }, pool);
  if (s != napi_ok) {
    delete pool;
    throw Napi::Error::New(env);
  }
  return pool;
}

Napi::Value BufferPool::AllocOwn(Napi::Env env, size_t n, uint8_t** data) {
  napi_value out;
  void* d = nullptr;
  if (napi_create_buffer(env, n, &d, &out) != napi_ok) {
    // Too large for a Buffer (or out of memory) fails without a JS exception: raise one.
    bool pending = true;
    if (napi_is_exception_pending(env, &pending) == napi_ok && !pending) {
      Napi::RangeError e = Napi::RangeError::New(env, "cannot create a Buffer of " + std::to_string(n) + " bytes");
      e.Set("code", Napi::String::New(env, "ERR_BUFFER_TOO_LARGE"));
      throw e;
    }
    throw Napi::Error::New(env);
  }
  *data = static_cast<uint8_t*>(d);
  return Napi::Value(env, out);
}

void BufferPool::NewSlab(Napi::Env env) {
  napi_value slab;
  void* d = nullptr;
  napi_ref ref;
  napi_status s = napi_create_buffer(env, kSlab, &d, &slab);
  if (s == napi_ok) s = napi_create_reference(env, slab, 1, &ref);
  NAPI_THROW_IF_FAILED_VOID(env, s);
  if (slab_ != nullptr) napi_delete_reference(env, slab_);  // views handed out keep the old slab alive
  slab_ = ref;
  base_ = static_cast<uint8_t*>(d);
  off_ = 0;
}

size_t GetCap(const Napi::Value& v, const char* name, uint32_t min, uint32_t max) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string("option \"") + name + "\" must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || std::floor(d) != d) {
    char got[32];
    std::snprintf(got, sizeof got, "%.17g", d);
    throw Napi::RangeError::New(v.Env(), std::string("option \"") + name + "\" must be an integer " + std::to_string(min) + ".." +
                                             std::to_string(max) + ", got " + got);
  }
  return static_cast<size_t>(d);
}

void InitCrc16(Napi::Env env, Napi::Object exports) {
  exports.Set("crc16", Napi::Function::New<Crc16Js>(env, "crc16"));
}

}  // namespace codec
}  // namespace mcumgr

void InitCodec(Napi::Env env, Napi::Object exports) {
  using namespace mcumgr::codec;
  BufferPool* pool = BufferPool::Create(env);
  InitCrc16(env, exports);
  InitBase64(env, exports, pool);
  InitConsole(env, exports, pool);
  InitCobs(env, exports, pool);
  InitRaw(env, exports, pool);
}
