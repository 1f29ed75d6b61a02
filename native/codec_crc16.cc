// CRC-16/XMODEM (poly 0x1021, init 0, no reflection, no final xor): PROTOCOL.md §4.1 and §5.5.
// Twin of src/codec/crc16.ts. Slicing-by-8: eight 256-entry tables built at compile time, where
// table k gives the CRC contribution of a byte followed by k zero bytes.
// This file also holds the codec's entry point, InitCodec, and the shared option reader.
#include "addon.h"
#include "codec.h"

#include <cmath>
#include <string>

namespace mcumgr {
namespace codec {
namespace {

struct CrcTables {
  uint16_t t[8][256];
};

constexpr CrcTables MakeCrcTables() {
  CrcTables tables{};
  for (int i = 0; i < 256; i++) {
    uint16_t c = static_cast<uint16_t>(i << 8);
    for (int k = 0; k < 8; k++) c = (c & 0x8000) ? static_cast<uint16_t>((c << 1) ^ 0x1021) : static_cast<uint16_t>(c << 1);
    tables.t[0][i] = c;
  }
  for (int s = 1; s < 8; s++) {
    for (int i = 0; i < 256; i++) {
      const uint16_t prev = tables.t[s - 1][i];
      tables.t[s][i] = static_cast<uint16_t>((prev << 8) ^ tables.t[0][prev >> 8]);
    }
  }
  return tables;
}

constexpr CrcTables kCrc = MakeCrcTables();
static_assert(kCrc.t[0][1] == 0x1021, "CRC table");

Napi::Value Crc16Js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Bytes data = GetBytes(env, info[0], "data");
  uint16_t init = 0;
  const Napi::Value initArg = info[1];
  if (initArg.IsNumber()) {
    // The twin computes `init & 0xffff`: ToInt32 (what Int32Value does), then the low 16 bits.
    init = static_cast<uint16_t>(initArg.As<Napi::Number>().Int32Value() & 0xffff);
  } else if (!initArg.IsUndefined()) {
    throw Napi::TypeError::New(env, "init must be a number");
  }
  return Napi::Number::New(env, Crc16(data.data, data.size, init));
}

}  // namespace

uint16_t Crc16(const uint8_t* p, size_t n, uint16_t crc) {
  const auto& t = kCrc.t;
  while (n >= 8) {
    crc = static_cast<uint16_t>(t[7][(crc >> 8) ^ p[0]] ^ t[6][(crc & 0xff) ^ p[1]] ^ t[5][p[2]] ^ t[4][p[3]] ^
                                t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]]);
    p += 8;
    n -= 8;
  }
  while (n--) crc = static_cast<uint16_t>((crc << 8) ^ t[0][(crc >> 8) ^ *p++]);
  return crc;
}

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
  if (s == napi_ok) s = napi_add_env_cleanup_hook(env, [](void* p) { delete static_cast<BufferPool*>(p); }, pool);
  if (s != napi_ok) {
    delete pool;
    throw Napi::Error::New(env);
  }
  return pool;
}

void BufferPool::NewSlab(napi_env env) {
  napi_value slab;
  void* d = nullptr;
  napi_status s = napi_create_buffer(env, kSlab, &d, &slab);
  NAPI_THROW_IF_FAILED_VOID(env, s);
  if (slab_ != nullptr) napi_delete_reference(env, slab_);  // views handed out keep the old slab alive
  slab_ = nullptr;
  s = napi_create_reference(env, slab, 1, &slab_);
  NAPI_THROW_IF_FAILED_VOID(env, s);
  base_ = static_cast<uint8_t*>(d);
  off_ = 0;
}

uint32_t GetCap(const Napi::Env& env, const Napi::Value& v, const char* name, uint32_t min, uint32_t max) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("option \"") + name + "\" must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || std::floor(d) != d) {
    throw Napi::RangeError::New(env, std::string("option \"") + name + "\" must be an integer " + std::to_string(min) +
                                         ".." + std::to_string(max) + ", got " + v.ToString().Utf8Value());
  }
  return static_cast<uint32_t>(d);
}

void InitCrc16(Napi::Env env, Napi::Object exports) {
  exports.Set("crc16", Napi::Function::New(env, Crc16Js, "crc16"));
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
