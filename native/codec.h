// The codec part of the addon: CRC-16/XMODEM, strict base64, console framing (PROTOCOL.md §4),
// COBS + CRC16 framing (§5.5) and raw SMP (§5.4). Every function here has a TypeScript twin in
// src/codec/ and must give byte-identical results (test/codec-differential.test.ts checks it).
//
// Thread safety: the addon is loaded by several worker threads at once, so nothing in the codec
// is mutable and shared. The only file-scope objects are constexpr lookup tables; decoders keep
// their state in their own ObjectWrap instances, and output Buffers come from a BufferPool that
// belongs to one environment (one per thread that loads the addon).
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace mcumgr {
namespace codec {

// ---- pure byte functions (no N-API) --------------------------------------------------------

// CRC-16/XMODEM of [data, data+n) continuing from `crc` (slicing-by-8).
uint16_t Crc16(const uint8_t* data, size_t n, uint16_t crc);

// Characters of the base64 text of `n` bytes (with padding).
constexpr size_t Base64Length(size_t n) { return (n + 2) / 3 * 4; }
// Encodes `n` bytes at `in` as padded base64 into `out` (Base64Length(n) bytes); returns that length.
size_t Base64Encode(const uint8_t* in, size_t n, uint8_t* out);
// Decoded length of strict base64 text of `n` characters (n % 4 == 0), from its padding.
size_t Base64DecodedLength(const uint8_t* text, size_t n);
// Strict RFC 4648 decode of `n` characters into `out` (Base64DecodedLength bytes). Returns false
// when the text is not valid base64 (length not a multiple of 4, a character outside the
// alphabet, padding anywhere but the end). `out` may equal `text` (decoding in place is safe).
bool Base64Decode(const uint8_t* text, size_t n, uint8_t* out);

// Worst-case COBS size of `n` bytes (no delimiter).
constexpr size_t CobsMaxLength(size_t n) { return n + n / 254 + 1; }
// Exact COBS size of the concatenation a ‖ b (no delimiter).
size_t CobsEncodedLength(const uint8_t* a, size_t na, const uint8_t* b, size_t nb);
// COBS-encodes a ‖ b into `out` (CobsEncodedLength bytes); returns the length written.
size_t CobsEncode(const uint8_t* a, size_t na, const uint8_t* b, size_t nb, uint8_t* out);
// Validates a COBS block sequence (no delimiter) and gives its decoded length. Returns false when
// malformed: a zero byte anywhere, or a block running past the end.
bool CobsDecodedLength(const uint8_t* enc, size_t n, size_t* outLen);
// Decodes a block sequence already validated by CobsDecodedLength. `out` may equal `enc`.
size_t CobsDecodeValid(const uint8_t* enc, size_t n, uint8_t* out);

// ---- argument helpers ------------------------------------------------------------------------

// A read-only view of the bytes of a Buffer / Uint8Array / Uint8ClampedArray argument.
struct Bytes {
  const uint8_t* data;
  size_t size;
};

// Returns the bytes of `v`, or throws a TypeError naming `what` when `v` is not a Buffer or a
// Uint8Array. A detached array reads as empty.
inline Bytes GetBytes(const Napi::Env& env, napi_value v, const char* what) {
  bool isTyped = false;
  if (v != nullptr && napi_is_typedarray(env, v, &isTyped) == napi_ok && isTyped) {
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) == napi_ok &&
        (type == napi_uint8_array || type == napi_uint8_clamped_array)) {
      return Bytes{data ? static_cast<const uint8_t*>(data) : nullptr, data ? length : 0};
    }
  }
  throw Napi::TypeError::New(env, std::string(what) + " must be a Buffer or Uint8Array");
}

// Reads an integer option in [min, max], throwing a TypeError (not a number) or RangeError.
uint32_t GetCap(const Napi::Env& env, const Napi::Value& v, const char* name, uint32_t min, uint32_t max);

// Where the codec's output Buffers come from. Creating a Buffer from native code makes a new
// ArrayBuffer each time (about 1 µs, more than encoding a small packet), so small outputs are
// carved out of a shared slab and handed out as `slab.subarray(a, b)` views, which is what
// Node's own Buffer.allocUnsafe (and so every TS twin) does with its 8 KiB pool. One pool per
// environment (main thread or worker), created by InitCodec and freed by an env cleanup hook;
// the functions and decoder classes reach it through their callback data.
class BufferPool {
 public:
  static constexpr size_t kSlab = 16384;     // bytes per slab
  static constexpr size_t kMaxPooled = 4096;  // larger outputs get a Buffer of their own

  // Makes the pool of `env` and arranges for it to be freed when the environment ends.
  static BufferPool* Create(Napi::Env env);

  // A new Buffer of `n` bytes, uninitialised; `*data` receives its memory.
  napi_value Alloc(napi_env env, size_t n, uint8_t** data) {
    if (n > kMaxPooled) return AllocOwn(env, n, data);
    if (slab_ == nullptr || off_ + n > kSlab) NewSlab(env);
    napi_value slab, fn, args[2], out;
    napi_status s = napi_get_reference_value(env, slab_, &slab);
    if (s == napi_ok) s = napi_get_reference_value(env, subarray_, &fn);
    if (s == napi_ok) s = napi_create_uint32(env, static_cast<uint32_t>(off_), &args[0]);
    if (s == napi_ok) s = napi_create_uint32(env, static_cast<uint32_t>(off_ + n), &args[1]);
    if (s == napi_ok) s = napi_call_function(env, slab, fn, 2, args, &out);
    NAPI_THROW_IF_FAILED(env, s, nullptr);
    *data = base_ + off_;
    off_ = (off_ + n + 7) & ~size_t{7};  // keep views 8-byte aligned, as Node's pool does
    return out;
  }

  // A new Buffer holding a copy of [src, src+n).
  napi_value Copy(napi_env env, const uint8_t* src, size_t n) {
    uint8_t* d;
    napi_value out = Alloc(env, n, &d);
    if (n) std::memcpy(d, src, n);
    return out;
  }

 private:
  BufferPool() = default;
  static napi_value AllocOwn(napi_env env, size_t n, uint8_t** data) {
    napi_value out;
    void* d = nullptr;
    napi_status s = napi_create_buffer(env, n, &d, &out);
    NAPI_THROW_IF_FAILED(env, s, nullptr);
    *data = static_cast<uint8_t*>(d);
    return out;
  }
  void NewSlab(napi_env env);

  napi_ref slab_ = nullptr;      // the current slab (a Buffer), held until the next one
  napi_ref subarray_ = nullptr;  // Buffer.prototype.subarray
  uint8_t* base_ = nullptr;
  size_t off_ = 0;
};

// Collects the packets a push() completes and returns them as a JS array.
class PacketList {
 public:
  PacketList(const Napi::Env& env, BufferPool* pool) : env_(env), pool_(pool), array_(Napi::Array::New(env)) {}
  void Add(const uint8_t* data, size_t n) {
    napi_status s = napi_set_element(env_, array_, count_++, pool_->Copy(env_, data, n));
    NAPI_THROW_IF_FAILED_VOID(env_, s);
  }
  Napi::Array Value() const { return array_; }

 private:
  Napi::Env env_;
  BufferPool* pool_;
  Napi::Array array_;
  uint32_t count_ = 0;
};

// The pool a function or class was registered with (its callback data).
inline BufferPool* PoolOf(const Napi::CallbackInfo& info) { return static_cast<BufferPool*>(info.Data()); }

// Counters as a JS array of numbers, in the order of the twin's *_STAT_KEYS.
inline Napi::Array StatsArray(const Napi::Env& env, const uint64_t* counters, size_t n) {
  Napi::Array a = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; i++) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(counters[i])));
  return a;
}

// ---- registration (one per source file) -------------------------------------------------------

void InitCrc16(Napi::Env env, Napi::Object exports);
void InitBase64(Napi::Env env, Napi::Object exports, BufferPool* pool);
void InitConsole(Napi::Env env, Napi::Object exports, BufferPool* pool);
void InitCobs(Napi::Env env, Napi::Object exports, BufferPool* pool);
void InitRaw(Napi::Env env, Napi::Object exports, BufferPool* pool);

}  // namespace codec
}  // namespace mcumgr
