// Console framing (PROTOCOL.md §4) for JavaScript: the encoder (`encodeConsole`) and the
// streaming decoder class (`ConsoleDecoder`), twins of src/codec/console-encoder.ts and
// console-decoder.ts. The framing logic is in codec_core_console.h; this file reads arguments
// and makes Buffers.
#include "codec.h"
#include "codec_core_console.h"

namespace mcumgr {
namespace codec {
namespace {

// The optional second argument of both encoders: the Zephyr split (true) or the plain one.
bool ZephyrSplitArg(const Napi::CallbackInfo& info) {
  if (info[1].IsBoolean()) return info[1].As<Napi::Boolean>().Value();
  if (!info[1].IsUndefined()) throw Napi::TypeError::New(info.Env(), "zephyrSplit must be a boolean");
  return false;
}

// The range error both encoders raise for a packet console framing cannot carry.
Napi::RangeError PacketSizeError(Napi::Env env, size_t n) {
  return Napi::RangeError::New(env, "packet must be 1.." + std::to_string(kMaxConsolePacket) + " bytes for console framing, got " +
                                        std::to_string(n));
}

Napi::Value EncodeConsoleJs(const Napi::CallbackInfo& info) {
  Bytes pkt = GetBytes(info[0], "packet");
  const bool zephyr = ZephyrSplitArg(info);
  const size_t n = pkt.size;
  if (n < 1 || n > kMaxConsolePacket) throw PacketSizeError(info.Env(), n);
  uint8_t* out;
  Napi::Value result = BufferPool::Of(info)->Alloc(info.Env(), ConsoleEncodedLength(n, zephyr), &out);
  ConsoleEncode(pkt.data, n, zephyr, out);
  return result;
}

// encodeConsoleParts(parts[, zephyrSplit]): the frames of the packet made of `parts` (at most
// kMaxParts Buffers), read where they lie: an upload chunk is not joined to its header first.
Napi::Value EncodeConsolePartsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PartsArg parts(info);
  const bool zephyr = ZephyrSplitArg(info);
  const size_t n = parts.Views();
  if (n < 1 || n > kMaxConsolePacket) throw PacketSizeError(env, n);
  uint8_t* out;
  Napi::Value result = BufferPool::Of(info)->Alloc(env, ConsoleEncodedLength(n, zephyr), &out);
  if (parts.Views() != n) throw Napi::TypeError::New(env, "parts changed while being encoded");
  ConsoleEncodeParts(parts.parts(), parts.count(), zephyr, out);
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
  exports.Set("encodeConsoleParts", Napi::Function::New<EncodeConsolePartsJs>(env, "encodeConsoleParts", pool));
  Decoder<ConsoleDecoderCore>::Define(env, exports, pool, "ConsoleDecoder");
}

}  // namespace codec
}  // namespace mcumgr
