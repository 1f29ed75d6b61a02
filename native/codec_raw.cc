// Raw SMP over a UART (PROTOCOL.md §5.4) for JavaScript: the streaming decoder class
// `RawDecoder`, twin of src/codec/raw.ts. The decoder itself is in codec_core_raw.h and its JS
// class is the shared Decoder template (codec.h).
#include "codec.h"
#include "codec_core_raw.h"

namespace mcumgr {
namespace codec {

void InitRaw(Napi::Env env, Napi::Object exports, BufferPool* pool) {
  Decoder<RawDecoderCore>::Define(env, exports, pool, "RawDecoder");
}

}  // namespace codec
}  // namespace mcumgr
