// The codec part of the addon: CRC-16/XMODEM, strict base64, console framing (PROTOCOL.md §4),
// COBS + CRC16 framing (§5.5) and raw SMP (§5.4). Every function here has a TypeScript twin in
// src/codec/ and must give byte-identical results (test/codec-differential.test.ts checks it).
//
// Thread safety: the addon is loaded by several worker threads at once, so nothing in the codec
// is mutable and shared. The only file-scope objects are constexpr lookup tables; decoders keep
// their state in their own ObjectWrap instances.
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>

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

// A new Buffer holding a copy of [data, data+n).
inline napi_value CopyBuffer(const Napi::Env& env, const uint8_t* data, size_t n) {
  napi_value out;
  void* ignored;
  napi_status s = napi_create_buffer_copy(env, n, n ? data : nullptr, &ignored, &out);
  NAPI_THROW_IF_FAILED(env, s, nullptr);
  return out;
}

// An uninitialised new Buffer of `n` bytes; `*data` receives its memory.
inline napi_value NewBuffer(const Napi::Env& env, size_t n, uint8_t** data) {
  napi_value out;
  void* d = nullptr;
  napi_status s = napi_create_buffer(env, n, &d, &out);
  NAPI_THROW_IF_FAILED(env, s, nullptr);
  *data = static_cast<uint8_t*>(d);
  return out;
}

// Collects the packets a push() completes and returns them as a JS array.
class PacketList {
 public:
  explicit PacketList(const Napi::Env& env) : env_(env), array_(Napi::Array::New(env)) {}
  void Add(const uint8_t* data, size_t n) {
    napi_status s = napi_set_element(env_, array_, count_++, CopyBuffer(env_, data, n));
    NAPI_THROW_IF_FAILED_VOID(env_, s);
  }
  Napi::Array Value() const { return array_; }

 private:
  Napi::Env env_;
  Napi::Array array_;
  uint32_t count_ = 0;
};

// Counters as a JS array of numbers, in the order of the twin's *_STAT_KEYS.
inline Napi::Array StatsArray(const Napi::Env& env, const uint64_t* counters, size_t n) {
  Napi::Array a = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; i++) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(counters[i])));
  return a;
}

// ---- registration (one per source file) -------------------------------------------------------

void InitCrc16(Napi::Env env, Napi::Object exports);
void InitBase64(Napi::Env env, Napi::Object exports);
void InitConsole(Napi::Env env, Napi::Object exports);
void InitCobs(Napi::Env env, Napi::Object exports);
void InitRaw(Napi::Env env, Napi::Object exports);

}  // namespace codec
}  // namespace mcumgr
