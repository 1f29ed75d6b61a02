// CRC-16/XMODEM (poly 0x1021, init 0, no reflection, no final xor): PROTOCOL.md §4.1 and §5.5.
// Twin of src/codec/crc16.ts; the slicing-by-8 Crc16 itself is in codec_core.h.
// This file also holds the codec's entry point, InitCodec, and the shared option reader.
#include "addon.h"
#include "codec.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace mcumgr {
namespace codec {
namespace {

napi_value Crc16Js(napi_env env, napi_callback_info info) {
  Args<2> a;
  if (!a.Read(env, info)) return nullptr;
  Bytes data;
  if (!GetBytes(env, a.argv[0], "data", &data)) return nullptr;
  napi_valuetype t;
  if (napi_typeof(env, a.argv[1], &t) != napi_ok) return nullptr;
  uint16_t init = 0;
  if (t == napi_number) {
    // The twin computes `init & 0xffff`: ToInt32 (napi_get_value_int32), then the low 16 bits.
    int32_t v = 0;
    if (napi_get_value_int32(env, a.argv[1], &v) != napi_ok) return nullptr;
    init = static_cast<uint16_t>(v & 0xffff);
  } else if (t != napi_undefined) {
    return ThrowType(env, "init must be a number");
  }
  napi_value out;
  return napi_create_uint32(env, Crc16(data.data, data.size, init), &out) == napi_ok ? out : nullptr;
}

}  // namespace

BufferPool* BufferPool::Create(Napi::Env env) {
  // Buffer.prototype.subarray, reached through a Buffer rather than the (replaceable) global.
  napi_value probe, proto, fn;
  void* ignored;
  napi_status s = napi_create_buffer(env, 0, &ignored, &probe);
  if (s == napi_ok) s = napi_get_prototype(env, probe, &proto);
  if (s == napi_ok) s = napi_get_named_property(env, proto, "subarray", &fn);
  NAPI_THROW_IF_FAILED(env, s, nullptr);
  if (!Napi::Value(env, fn).IsFunction()) throw Napi::Error::New(env, "Buffer.prototype.subarray is not a function");
  auto* pool = new BufferPool();
  s = napi_create_reference(env, fn, 1, &pool->subarray_);
  // At teardown the environment releases the references itself; the hook only frees the struct.
  if (s == napi_ok) s = napi_add_env_cleanup_hook(env, [](void* p) { delete static_cast<BufferPool*>(p); }, pool);
  if (s != napi_ok) {
    delete pool;
    throw Napi::Error::New(env);
  }
  return pool;
}

bool BufferPool::NewSlab(napi_env env) {
  napi_value slab;
  void* d = nullptr;
  if (napi_create_buffer(env, kSlab, &d, &slab) != napi_ok) return false;
  napi_ref ref;
  if (napi_create_reference(env, slab, 1, &ref) != napi_ok) return false;
  if (slab_ != nullptr) napi_delete_reference(env, slab_);  // views handed out keep the old slab alive
  slab_ = ref;
  base_ = static_cast<uint8_t*>(d);
  off_ = 0;
  return true;
}

bool GetCap(napi_env env, napi_value v, const char* name, uint32_t min, uint32_t max, size_t* out) {
  napi_valuetype t;
  double d = 0;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  if (t != napi_number) {
    ThrowType(env, std::string("option \"") + name + "\" must be a number");
    return false;
  }
  if (napi_get_value_double(env, v, &d) != napi_ok) return false;
  if (!(d >= min && d <= max) || std::floor(d) != d) {
    char got[32];
    std::snprintf(got, sizeof got, "%.17g", d);
    ThrowRange(env, std::string("option \"") + name + "\" must be an integer " + std::to_string(min) + ".." + std::to_string(max) +
                        ", got " + got);
    return false;
  }
  *out = static_cast<size_t>(d);
  return true;
}

void InitCrc16(Napi::Env env, Napi::Object exports) {
  DefineFunction(env, exports, "crc16", Crc16Js, nullptr);
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
