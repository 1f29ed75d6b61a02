// The codec part of the addon: CRC-16/XMODEM, strict base64, console framing (PROTOCOL.md §4),
// COBS + CRC16 framing (§5.5) and raw SMP (§5.4). Every function here has a TypeScript twin in
// src/codec/ and must give byte-identical results (test/codec-differential.test.ts checks it).
//
// Thread safety: the addon is loaded by several worker threads at once, so nothing in the codec
// is mutable and shared. The only file-scope objects are constexpr lookup tables; decoders keep
// their state in their own wrapped objects, and output Buffers come from a BufferPool that
// belongs to one environment (one per thread that loads the addon).
//
// No C++ exceptions in calls from JavaScript: the codec's callbacks are plain Node-API callbacks
// that report errors with napi_throw_* and return nullptr. When a worker is terminated while it
// is inside the codec, Node-API calls start failing and no JS exception can be thrown; with
// node-addon-api's exception wrappers that ends in std::terminate (the whole process aborts), so
// here every failure simply unwinds to JS, which is already stopping.
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>

#include "codec_core.h"

namespace mcumgr {
namespace codec {

// ---- pure byte functions (no Node-API) -------------------------------------------------------
// Crc16, Base64Length/Encode/DecodedLength/Decode, CobsMaxLength/EncodedLength/Encode/
// DecodedLength/DecodeValid: defined inline in codec_core.h, with the decoder cores in
// codec_core_console.h, codec_core_cobs.h and codec_core_raw.h. This header adds only the Node-API
// side: argument reading, errors, output buffers and the JS classes around the cores.

// ---- errors and arguments ----------------------------------------------------------------------

// Throw a JS error and return nullptr (the value a callback returns after throwing). If the
// environment is stopping the throw fails quietly, which is what we want.
inline napi_value ThrowType(napi_env env, const std::string& msg) {
  napi_throw_type_error(env, nullptr, msg.c_str());
  return nullptr;
}
inline napi_value ThrowRange(napi_env env, const std::string& msg) {
  napi_throw_range_error(env, nullptr, msg.c_str());
  return nullptr;
}
inline napi_value ThrowNoMemory(napi_env env) {
  napi_throw_error(env, "ERR_MEMORY_ALLOCATION_FAILED", "mcumgr codec: out of memory");
  return nullptr;
}

// A read-only view of the bytes of a Buffer / Uint8Array / Uint8ClampedArray argument.
struct Bytes {
  const uint8_t* data;
  size_t size;
};

// Reads the bytes of `v` into `*out`. When `v` is not a Buffer or Uint8Array, throws a TypeError
// naming `what` and returns false. A detached array reads as empty.
inline bool GetBytes(napi_env env, napi_value v, const char* what, Bytes* out) {
  bool isTyped = false;
  if (napi_is_typedarray(env, v, &isTyped) == napi_ok && isTyped) {
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) == napi_ok &&
        (type == napi_uint8_array || type == napi_uint8_clamped_array)) {
      *out = Bytes{data ? static_cast<const uint8_t*>(data) : nullptr, data ? length : 0};
      return true;
    }
  }
  ThrowType(env, std::string(what) + " must be a Buffer or Uint8Array");
  return false;
}

// Reads an integer option in [min, max]; throws a TypeError (not a number) or RangeError and
// returns false otherwise.
bool GetCap(napi_env env, napi_value v, const char* name, uint32_t min, uint32_t max, size_t* out);

// Up to N arguments (missing ones read as undefined), `this` and the callback data.
template <size_t N>
struct Args {
  napi_value argv[N > 0 ? N : 1];
  napi_value self = nullptr;
  void* data = nullptr;
  bool Read(napi_env env, napi_callback_info info) {
    size_t argc = N;
    return napi_get_cb_info(env, info, &argc, argv, &self, &data) == napi_ok;
  }
};

// ---- output buffers ----------------------------------------------------------------------------

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
  // Called at module initialisation (node-addon-api context: throws Napi::Error on failure).
  static BufferPool* Create(Napi::Env env);

  // A new Buffer of `n` bytes, uninitialised; `*data` receives its memory. nullptr on failure
  // (a JS exception is then pending, or the environment is stopping).
  napi_value Alloc(napi_env env, size_t n, uint8_t** data) {
    if (n > kMaxPooled) return AllocOwn(env, n, data);
    if ((slab_ == nullptr || off_ + n > kSlab) && !NewSlab(env)) return nullptr;
    napi_value slab, fn, args[2], out;
    if (napi_get_reference_value(env, slab_, &slab) != napi_ok || napi_get_reference_value(env, subarray_, &fn) != napi_ok ||
        napi_create_uint32(env, static_cast<uint32_t>(off_), &args[0]) != napi_ok ||
        napi_create_uint32(env, static_cast<uint32_t>(off_ + n), &args[1]) != napi_ok ||
        napi_call_function(env, slab, fn, 2, args, &out) != napi_ok) {
      return nullptr;
    }
    *data = base_ + off_;
    off_ = (off_ + n + 7) & ~size_t{7};  // keep views 8-byte aligned, as Node's pool does
    return out;
  }

  // A new Buffer holding a copy of [src, src+n); nullptr on failure.
  napi_value Copy(napi_env env, const uint8_t* src, size_t n) {
    uint8_t* d;
    napi_value out = Alloc(env, n, &d);
    if (out != nullptr && n) std::memcpy(d, src, n);
    return out;
  }

 private:
  BufferPool() = default;
  static napi_value AllocOwn(napi_env env, size_t n, uint8_t** data) {
    napi_value out;
    void* d = nullptr;
    if (napi_create_buffer(env, n, &d, &out) != napi_ok) {
      // Too large for a Buffer (or out of memory) fails without a JS exception: raise one.
      bool pending = true;
      if (napi_is_exception_pending(env, &pending) == napi_ok && !pending) {
        napi_throw_range_error(env, "ERR_BUFFER_TOO_LARGE", ("cannot create a Buffer of " + std::to_string(n) + " bytes").c_str());
      }
      return nullptr;
    }
    *data = static_cast<uint8_t*>(d);
    return out;
  }
  bool NewSlab(napi_env env);

  napi_ref slab_ = nullptr;      // the current slab (a Buffer), held until the next one
  napi_ref subarray_ = nullptr;  // Buffer.prototype.subarray
  uint8_t* base_ = nullptr;
  size_t off_ = 0;
};

// Collects the packets a push() completes into a JS array. Every step reports failure (false /
// nullptr) instead of throwing.
class PacketList {
 public:
  PacketList(napi_env env, BufferPool* pool) : env_(env), pool_(pool) {
    if (napi_create_array(env, &array_) != napi_ok) array_ = nullptr;
  }
  bool ok() const { return array_ != nullptr; }
  bool Add(const uint8_t* data, size_t n) {
    if (array_ == nullptr) return false;
    napi_value b = pool_->Copy(env_, data, n);
    if (b == nullptr || napi_set_element(env_, array_, count_++, b) != napi_ok) array_ = nullptr;
    return array_ != nullptr;
  }
  napi_value Value() const { return array_; }

 private:
  napi_env env_;
  BufferPool* pool_;
  napi_value array_ = nullptr;
  uint32_t count_ = 0;
};

// Counters as a JS array of numbers, in the order of the twin's *_STAT_KEYS (nullptr on failure).
inline napi_value StatsArray(napi_env env, const uint64_t* counters, size_t n) {
  napi_value a, v;
  if (napi_create_array_with_length(env, n, &a) != napi_ok) return nullptr;
  for (size_t i = 0; i < n; i++) {
    if (napi_create_double(env, static_cast<double>(counters[i]), &v) != napi_ok ||
        napi_set_element(env, a, static_cast<uint32_t>(i), v) != napi_ok) {
      return nullptr;
    }
  }
  return a;
}

inline napi_value Number(napi_env env, double d) {
  napi_value v;
  return napi_create_double(env, d, &v) == napi_ok ? v : nullptr;
}

inline napi_value Undefined(napi_env env) {
  napi_value v;
  return napi_get_undefined(env, &v) == napi_ok ? v : nullptr;
}

// ---- decoder classes ---------------------------------------------------------------------------
//
// A decoder class T provides
//   static T* Create(napi_env, const napi_value* argv, BufferPool*)  // nullptr after throwing
//   napi_value Push(napi_env, napi_value chunk), Reset(napi_env), Stats(napi_env), Buffered(napi_env)
// and is exposed as a JS class whose instances own a T (freed when they are collected).

template <typename T>
T* UnwrapDecoder(napi_env env, napi_value self) {
  void* p = nullptr;
  if (napi_unwrap(env, self, &p) != napi_ok || p == nullptr) {
    ThrowType(env, std::string("not a ") + T::kName);
    return nullptr;
  }
  return static_cast<T*>(p);
}

template <typename T>
napi_value DecoderConstruct(napi_env env, napi_callback_info info) {
  napi_value target = nullptr;
  if (napi_get_new_target(env, info, &target) != napi_ok) return nullptr;
  if (target == nullptr) return ThrowType(env, std::string("Class constructor ") + T::kName + " cannot be invoked without 'new'");
  Args<2> a;
  if (!a.Read(env, info)) return nullptr;
  T* obj = T::Create(env, a.argv, static_cast<BufferPool*>(a.data));
  if (obj == nullptr) return nullptr;
  if (napi_wrap(env, a.self, obj, [](napi_env, void* p, void*) { delete static_cast<T*>(p); }, nullptr, nullptr) != napi_ok) {
    delete obj;
    return nullptr;
  }
  return a.self;
}

template <typename T>
napi_value DecoderPush(napi_env env, napi_callback_info info) {
  Args<1> a;
  if (!a.Read(env, info)) return nullptr;
  T* d = UnwrapDecoder<T>(env, a.self);
  return d ? d->Push(env, a.argv[0]) : nullptr;
}

template <typename T, napi_value (T::*M)(napi_env)>
napi_value DecoderCall(napi_env env, napi_callback_info info) {
  Args<0> a;
  if (!a.Read(env, info)) return nullptr;
  T* d = UnwrapDecoder<T>(env, a.self);
  return d ? (d->*M)(env) : nullptr;
}

// Defines the JS class of decoder T on `exports` (module initialisation: throws on failure).
template <typename T>
void DefineDecoder(Napi::Env env, Napi::Object exports, BufferPool* pool) {
  const napi_property_descriptor props[] = {
      {"push", nullptr, DecoderPush<T>, nullptr, nullptr, nullptr, napi_default_method, nullptr},
      {"reset", nullptr, DecoderCall<T, &T::Reset>, nullptr, nullptr, nullptr, napi_default_method, nullptr},
      {"stats", nullptr, DecoderCall<T, &T::Stats>, nullptr, nullptr, nullptr, napi_default_method, nullptr},
      {"buffered", nullptr, DecoderCall<T, &T::Buffered>, nullptr, nullptr, nullptr, napi_default_method, nullptr},
  };
  napi_value cls;
  napi_status s = napi_define_class(env, T::kName, NAPI_AUTO_LENGTH, DecoderConstruct<T>, pool, sizeof(props) / sizeof(props[0]), props, &cls);
  NAPI_THROW_IF_FAILED_VOID(env, s);
  exports.Set(T::kName, Napi::Value(env, cls));
}

// Defines a plain function on `exports` (module initialisation: throws on failure).
inline void DefineFunction(Napi::Env env, Napi::Object exports, const char* name, napi_callback cb, BufferPool* pool) {
  napi_value fn;
  napi_status s = napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, pool, &fn);
  NAPI_THROW_IF_FAILED_VOID(env, s);
  exports.Set(name, Napi::Value(env, fn));
}

// The pool a function was registered with.
inline BufferPool* PoolOf(void* data) { return static_cast<BufferPool*>(data); }

// ---- registration (one per source file) -------------------------------------------------------

void InitCrc16(Napi::Env env, Napi::Object exports);
void InitBase64(Napi::Env env, Napi::Object exports, BufferPool* pool);
void InitConsole(Napi::Env env, Napi::Object exports, BufferPool* pool);
void InitCobs(Napi::Env env, Napi::Object exports, BufferPool* pool);
void InitRaw(Napi::Env env, Napi::Object exports, BufferPool* pool);

}  // namespace codec
}  // namespace mcumgr
