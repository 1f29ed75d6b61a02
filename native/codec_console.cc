// Console framing (PROTOCOL.md §4) for JavaScript: the encoder (`encodeConsole`) and the
// streaming decoder class (`ConsoleDecoder`), twins of src/codec/console-encoder.ts and
// console-decoder.ts. The framing logic is in codec_core_console.h; this file reads arguments
// and makes Buffers.
#include "codec.h"
#include "codec_core_console.h"

namespace mcumgr {
namespace codec {
namespace {

Napi::Value EncodeConsoleJs(const Napi::CallbackInfo& info) {
  Bytes pkt = GetBytes(info[0], "packet");
  bool zephyr = false;
  if (info[1].IsBoolean()) {
    zephyr = info[1].As<Napi::Boolean>().Value();
  } else if (!info[1].IsUndefined()) {
    throw Napi::TypeError::New(info.Env(), "zephyrSplit must be a boolean");
  }
  const size_t n = pkt.size;
  if (n < 1 || n > kMaxConsolePacket) {
    throw Napi::RangeError::New(info.Env(), "packet must be 1.." + std::to_string(kMaxConsolePacket) +
                                                " bytes for console framing, got " + std::to_string(n));
  }
  uint8_t* out;
  Napi::Value result = BufferPool::Of(info)->Alloc(info.Env(), ConsoleEncodedLength(n, zephyr), &out);
  ConsoleEncode(pkt.data, n, zephyr, out);
  return result;
}

}  // namespace

template <>
std::unique_ptr<ConsoleDecoderCore> NewCore<ConsoleDecoderCore>(const Napi::CallbackInfo& info) {
  using Core = ConsoleDecoderCore;
  size_t maxLine = GetCap(info[0], "maxLine", Core::kMinLine, Core::kMaxLineCap);
  size_t maxPacket = GetCap(info[1], "maxPacket", Core::kMinPacket, Core::kMaxPacketCap);
  return std::unique_ptr<Core>(new (std::nothrow) Core(maxLine, maxPacket));
}

void InitConsole(Napi::Env env, Napi::Object exports, BufferPool* pool) {
  exports.Set("encodeConsole", Napi::Function::New<EncodeConsoleJs>(env, "encodeConsole", pool));
  Decoder<ConsoleDecoderCore>::Define(env, exports, pool, "ConsoleDecoder");
}

}  // namespace codec
}  // namespace mcumgr
