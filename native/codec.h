// The codec part of the addon: CRC-16/XMODEM, strict base64, console framing (PROTOCOL.md §4),
// COBS + CRC16 framing (§5.5) and raw SMP (§5.4). Every function here has a TypeScript twin in
// src/codec/ and must give byte-identical results (test/codec-differential.test.ts checks it).
//
// Thread safety: the addon is loaded by several worker threads at once, so nothing in the codec
// is mutable and shared. The only file-scope objects are constexpr lookup tables; decoders keep
// their state in their own wrapped objects, and output Buffers come from a BufferPool that
// belongs to one environment (one per thread that loads the addon).
//
// Binding style: node-addon-api's C++ classes, as in the serial part (Napi::CallbackInfo,
// Napi::ObjectWrap, errors thrown as Napi::Error). A worker terminated while it is inside the
// addon makes Node-API calls fail with no JS exception to rethrow; binding.gyp defines
// NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS so node-addon-api then drops the error instead of
// aborting the process (test/codec-differential.test.ts terminates workers mid-work to check it).
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
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

[[noreturn]] inline void ThrowNoMemory(Napi::Env env) {
  Napi::Error e = Napi::Error::New(env, "mcumgr codec: out of memory");
  e.Set("code", Napi::String::New(env, "ERR_MEMORY_ALLOCATION_FAILED"));
  throw e;
}

// A read-only view of the bytes of a Buffer / Uint8Array / Uint8ClampedArray argument.
using Bytes = ByteSpan;

// Most pieces a packet given as parts may have (the *Parts functions; writev's limit too).
constexpr uint32_t kMaxParts = 64;

// The bytes (a Bytes view, codec_core.h) of `v`; a TypeError naming `what` when `v` is not a Buffer or Uint8Array. A detached
// array reads as empty.
inline Bytes GetBytes(const Napi::Value& v, const char* what) {
  napi_env env = v.Env();
  bool isTyped = false;
  if (napi_is_typedarray(env, v, &isTyped) == napi_ok && isTyped) {
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

// The first argument of the *Parts functions: an array of at most kMaxParts Buffers. Every
// element is read first (a getter may run JavaScript that detaches or shrinks another piece);
// Views() then takes the byte views, with no JavaScript in between. Call it again after anything
// that may run JavaScript (BufferPool::Alloc calls Buffer#subarray) before reading the bytes.
class PartsArg {
 public:
  explicit PartsArg(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "parts must be an array of Buffers or Uint8Arrays");
    Napi::Array list = info[0].As<Napi::Array>();
    count_ = list.Length();
    if (count_ > kMaxParts) throw Napi::RangeError::New(env, "parts: at most " + std::to_string(kMaxParts) + " pieces");
    for (uint32_t k = 0; k < count_; k++) values_[k] = list.Get(k);
  }
  // Takes the byte views; returns the packet's length.
  size_t Views() {
    for (uint32_t k = 0; k < count_; k++) parts_[k] = GetBytes(values_[k], "every part");
    return PartsLength(parts_, count_);
  }
  const ByteSpan* parts() const { return parts_; }
  uint32_t count() const { return count_; }

 private:
  Napi::Value values_[kMaxParts];
  ByteSpan parts_[kMaxParts] = {};
  uint32_t count_ = 0;
};

// An integer option in [min, max]; a TypeError (not a number) or RangeError otherwise.
size_t GetCap(const Napi::Value& v, const char* name, uint32_t min, uint32_t max);

// ---- output buffers ----------------------------------------------------------------------------

// Where the codec's output Buffers come from. Creating a Buffer from native code makes a new
// ArrayBuffer each time (about 1 µs, more than encoding a small packet), so small outputs are
// carved out of a shared slab and handed out as `slab.subarray(a, b)` views, which is what
// Node's own Buffer.allocUnsafe (and so every TS twin) does with its 8 KiB pool. One pool per
// environment (main thread or worker), created by InitCodec and freed by an env cleanup hook;
// the functions and decoder classes reach it through their callback data. The references are
// plain napi_refs: at teardown the environment releases them itself, after the hook has run.
class BufferPool {
 public:
  static constexpr size_t kSlab = 16384;     // bytes per slab
  static constexpr size_t kMaxPooled = 4096;  // larger outputs get a Buffer of their own

  // Makes the pool of `env` and arranges for it to be freed when the environment ends.
  static BufferPool* Create(Napi::Env env);

  // The pool a function or class was registered with.
  static BufferPool* Of(const Napi::CallbackInfo& info) { return static_cast<BufferPool*>(info.Data()); }

  // A new Buffer of `n` bytes, uninitialised; `*data` receives its memory.
  Napi::Value Alloc(Napi::Env env, size_t n, uint8_t** data) {
    if (n > kMaxPooled) return AllocOwn(env, n, data);
    if (slab_ == nullptr || off_ + n > kSlab) NewSlab(env);
    napi_value slab, fn, args[2], out;
    napi_status s = napi_get_reference_value(env, slab_, &slab);
    if (s == napi_ok) s = napi_get_reference_value(env, subarray_, &fn);
    if (s == napi_ok) s = napi_create_uint32(env, static_cast<uint32_t>(off_), &args[0]);
    if (s == napi_ok) s = napi_create_uint32(env, static_cast<uint32_t>(off_ + n), &args[1]);
    if (s == napi_ok) s = napi_call_function(env, slab, fn, 2, args, &out);
    NAPI_THROW_IF_FAILED(env, s, Napi::Value());
    *data = base_ + off_;
    off_ = (off_ + n + 7) & ~size_t{7};  // keep views 8-byte aligned, as Node's pool does
    return Napi::Value(env, out);
  }

  // A new Buffer holding a copy of [src, src+n).
  Napi::Value Copy(Napi::Env env, const uint8_t* src, size_t n) {
    uint8_t* d;
    Napi::Value out = Alloc(env, n, &d);
    if (n) std::memcpy(d, src, n);
    return out;
  }

 private:
  BufferPool() = default;
  static Napi::Value AllocOwn(Napi::Env env, size_t n, uint8_t** data);
  void NewSlab(Napi::Env env);

  napi_ref slab_ = nullptr;      // the current slab (a Buffer), held until the next one
  napi_ref subarray_ = nullptr;  // Buffer.prototype.subarray
  uint8_t* base_ = nullptr;
  size_t off_ = 0;
};

// Collects the packets a push() completes into a JS array. A decoder core calls Add() and stops
// on false, so Add() reports failure instead of throwing through the core: the error is kept and
// rethrown once the core has returned.
class PacketList {
 public:
  PacketList(Napi::Env env, BufferPool* pool) : env_(env), pool_(pool), array_(Napi::Array::New(env)) {}
  bool Add(const uint8_t* data, size_t n) {
    try {
      array_.Set(count_++, pool_->Copy(env_, data, n));
      return true;
    } catch (const Napi::Error& e) {
      error_ = e;
      return false;
    }
  }
  // The array, or the error Add() met.
  Napi::Value Value() const {
    if (!error_.IsEmpty()) throw error_;
    return array_;
  }

 private:
  Napi::Env env_;
  BufferPool* pool_;
  Napi::Array array_;
  uint32_t count_ = 0;
  Napi::Error error_;
};

// ---- decoder classes ---------------------------------------------------------------------------

// The core of a new decoder, from the JS constructor's arguments. This default reads one option,
// maxPacket; a core with other options specialises it (ConsoleDecoderCore: maxLine, maxPacket).
template <typename Core>
std::unique_ptr<Core> NewCore(const Napi::CallbackInfo& info) {
  size_t maxPacket = GetCap(info[0], "maxPacket", Core::kMinPacket, Core::kMaxPacketCap);
  return std::unique_ptr<Core>(new (std::nothrow) Core(maxPacket));
}

// The JS class of every streaming decoder (ConsoleDecoder, CobsDecoder, RawDecoder), around a core
// from codec_core_*.h. A core provides ok(), Push(data, n, sink), Reset(), Stats() (kStatCount
// counters, in the order of the twin's *_STAT_KEYS) and Buffered().
template <typename Core>
class Decoder : public Napi::ObjectWrap<Decoder<Core>> {
 public:
  static void Define(Napi::Env env, Napi::Object exports, BufferPool* pool, const char* name) {
    using W = Napi::ObjectWrap<Decoder<Core>>;
    exports.Set(name, W::DefineClass(env, name,
                                     {
                                         W::template InstanceMethod<&Decoder::Push>("push"),
                                         W::template InstanceMethod<&Decoder::Reset>("reset"),
                                         W::template InstanceMethod<&Decoder::Stats>("stats"),
                                         W::template InstanceMethod<&Decoder::Buffered>("buffered"),
                                     },
                                     pool));
  }

  explicit Decoder(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<Decoder<Core>>(info), pool_(BufferPool::Of(info)), core_(NewCore<Core>(info)) {
    if (!core_ || !core_->ok()) ThrowNoMemory(info.Env());
  }

 private:
  Napi::Value Push(const Napi::CallbackInfo& info) {
    Bytes chunk = GetBytes(info[0], "chunk");
    PacketList out(info.Env(), pool_);
    core_->Push(chunk.data, chunk.size, out);
    return out.Value();
  }

  // Drops a partial line, frame or packet (a stall timeout calls this); the core counts it.
  Napi::Value Reset(const Napi::CallbackInfo& info) {
    core_->Reset();
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    const uint32_t n = static_cast<uint32_t>(Core::kStatCount);
    Napi::Array a = Napi::Array::New(info.Env(), n);
    const uint64_t* counters = core_->Stats();
    for (uint32_t i = 0; i < n; i++) a.Set(i, Napi::Number::New(info.Env(), static_cast<double>(counters[i])));
    return a;
  }

  Napi::Value Buffered(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(core_->Buffered()));
  }

  BufferPool* pool_;
  std::unique_ptr<Core> core_;
};

// ---- registration (one per source file) -------------------------------------------------------

void InitCrc16(Napi::Env env, Napi::Object exports);
void InitBase64(Napi::Env env, Napi::Object exports, BufferPool* pool);
void InitConsole(Napi::Env env, Napi::Object exports, BufferPool* pool);
void InitCobs(Napi::Env env, Napi::Object exports, BufferPool* pool);
void InitRaw(Napi::Env env, Napi::Object exports, BufferPool* pool);

}  // namespace codec
}  // namespace mcumgr
