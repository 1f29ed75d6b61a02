// Console framing (PROTOCOL.md §4) for JavaScript: the encoder (`encodeConsole`) and the
// streaming decoder class (`ConsoleDecoder`), twins of src/codec/console-encoder.ts and
// console-decoder.ts. The framing logic is in codec_core_console.h; this file reads arguments,
// makes Buffers and wraps the decoder core in a JS class.
#include "codec.h"
#include "codec_core_console.h"

namespace mcumgr {
namespace codec {
namespace {

napi_value EncodeConsoleJs(napi_env env, napi_callback_info info) {
  Args<2> a;
  Bytes pkt;
  if (!a.Read(env, info) || !GetBytes(env, a.argv[0], "packet", &pkt)) return nullptr;
  napi_valuetype t;
  if (napi_typeof(env, a.argv[1], &t) != napi_ok) return nullptr;
  bool zephyr = false;
  if (t == napi_boolean) {
    if (napi_get_value_bool(env, a.argv[1], &zephyr) != napi_ok) return nullptr;
  } else if (t != napi_undefined) {
    return ThrowType(env, "zephyrSplit must be a boolean");
  }
  const size_t n = pkt.size;
  if (n < 1 || n > kMaxConsolePacket) {
    return ThrowRange(env, "packet must be 1.." + std::to_string(kMaxConsolePacket) + " bytes for console framing, got " +
                               std::to_string(n));
  }
  uint8_t* out;
  napi_value result = PoolOf(a.data)->Alloc(env, ConsoleEncodedLength(n, zephyr), &out);
  if (result == nullptr) return nullptr;
  ConsoleEncode(pkt.data, n, zephyr, out);
  return result;
}

class ConsoleDecoder {
 public:
  static constexpr const char* kName = "ConsoleDecoder";
  using Core = ConsoleDecoderCore;

  static ConsoleDecoder* Create(napi_env env, const napi_value* argv, BufferPool* pool) {
    size_t maxLine, maxPacket;
    if (!GetCap(env, argv[0], "maxLine", Core::kMinLine, Core::kMaxLineCap, &maxLine) ||
        !GetCap(env, argv[1], "maxPacket", Core::kMinPacket, Core::kMaxPacketCap, &maxPacket)) {
      return nullptr;
    }
    auto* d = new (std::nothrow) ConsoleDecoder(pool, maxLine, maxPacket);
    if (d == nullptr || !d->core_.ok()) {
      delete d;
      ThrowNoMemory(env);
      return nullptr;
    }
    return d;
  }

  napi_value Push(napi_env env, napi_value arg) {
    Bytes chunk;
    if (!GetBytes(env, arg, "chunk", &chunk)) return nullptr;
    PacketList out(env, pool_);
    if (!out.ok() || !core_.Push(chunk.data, chunk.size, out)) return nullptr;
    return out.Value();
  }

  napi_value Reset(napi_env env) {
    core_.Reset();
    return Undefined(env);
  }

  napi_value Stats(napi_env env) { return StatsArray(env, core_.Stats(), Core::kStatCount); }

  napi_value Buffered(napi_env env) { return Number(env, static_cast<double>(core_.Buffered())); }

 private:
  ConsoleDecoder(BufferPool* pool, size_t maxLine, size_t maxPacket) : pool_(pool), core_(maxLine, maxPacket) {}

  BufferPool* pool_;
  Core core_;
};

}  // namespace

void InitConsole(Napi::Env env, Napi::Object exports, BufferPool* pool) {
  DefineFunction(env, exports, "encodeConsole", EncodeConsoleJs, pool);
  DefineDecoder<ConsoleDecoder>(env, exports, pool);
}

}  // namespace codec
}  // namespace mcumgr
