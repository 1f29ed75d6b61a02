// COBS + CRC16 framing for raw serial (PROTOCOL.md §5.5): `cobsEncode`, `cobsDecode`,
// `encodeCobsFrame` and the streaming `CobsDecoder`. Twins of src/codec/cobs.ts. The encoder and
// decoder move whole runs with memchr/memcpy; the stream decoder copies into its capped buffer
// only the frames that straddle chunks, and decodes the others straight from the chunk.
#include "codec.h"

#include <cstring>
#include <memory>

namespace mcumgr {
namespace codec {
namespace {

// Standard COBS over a sequence of spans. With kWrite false it only counts the output length.
template <bool kWrite>
class CobsWriter {
 public:
  explicit CobsWriter(uint8_t* out) : out_(out) {}

  void Feed(const uint8_t* p, size_t n) {
    while (n > 0) {
      const size_t room = 0xff - code_;  // literals this block still takes (1..254)
      const size_t look = n < room ? n : room;
      const void* z = std::memchr(p, 0, look);
      const size_t run = z ? static_cast<size_t>(static_cast<const uint8_t*>(z) - p) : look;
      if (kWrite && run) std::memcpy(out_ + o_, p, run);
      o_ += run;
      code_ += static_cast<unsigned>(run);
      p += run;
      n -= run;
      if (z) {  // a zero ends the block
        Close();
        p++;
        n--;
      } else if (code_ == 0xff) {  // 254 literals: a full block with no implied zero
        Close();
      }
    }
  }

  size_t Finish() {
    if (kWrite) out_[codeAt_] = static_cast<uint8_t>(code_);
    return o_;
  }

 private:
  void Close() {
    if (kWrite) out_[codeAt_] = static_cast<uint8_t>(code_);
    codeAt_ = o_++;
    code_ = 1;
  }

  uint8_t* out_;
  size_t codeAt_ = 0;
  size_t o_ = 1;
  unsigned code_ = 1;
};

napi_value CobsEncodeJs(napi_env env, napi_callback_info info) {
  Args<1> a;
  Bytes in;
  if (!a.Read(env, info) || !GetBytes(env, a.argv[0], "data", &in)) return nullptr;
  uint8_t* out;
  napi_value buf = PoolOf(a.data)->Alloc(env, CobsEncodedLength(in.data, in.size, nullptr, 0), &out);
  if (buf != nullptr) CobsEncode(in.data, in.size, nullptr, 0, out);
  return buf;
}

napi_value CobsDecodeJs(napi_env env, napi_callback_info info) {
  Args<1> a;
  Bytes enc;
  if (!a.Read(env, info) || !GetBytes(env, a.argv[0], "enc", &enc)) return nullptr;
  size_t len;
  if (!CobsDecodedLength(enc.data, enc.size, &len)) {
    napi_value result;
    return napi_get_null(env, &result) == napi_ok ? result : nullptr;
  }
  uint8_t* out;
  napi_value buf = PoolOf(a.data)->Alloc(env, len, &out);
  if (buf != nullptr) CobsDecodeValid(enc.data, enc.size, out);
  return buf;
}

napi_value EncodeCobsFrameJs(napi_env env, napi_callback_info info) {
  Args<1> a;
  Bytes pkt;
  if (!a.Read(env, info) || !GetBytes(env, a.argv[0], "packet", &pkt)) return nullptr;
  if (pkt.size < 1 || pkt.size > 0xffff) {
    return ThrowRange(env, "packet must be 1..65535 bytes for COBS framing, got " + std::to_string(pkt.size));
  }
  const uint16_t crc = Crc16(pkt.data, pkt.size, 0);
  const uint8_t tail[2] = {static_cast<uint8_t>(crc >> 8), static_cast<uint8_t>(crc)};
  const size_t len = CobsEncodedLength(pkt.data, pkt.size, tail, 2);
  uint8_t* out;
  napi_value buf = PoolOf(a.data)->Alloc(env, len + 1, &out);
  if (buf == nullptr) return nullptr;
  CobsEncode(pkt.data, pkt.size, tail, 2, out);
  out[len] = 0;
  return buf;
}

enum Stat { kPackets, kMalformed, kShort, kOversize, kBadCrc, kEmpty, kStatCount };

class CobsDecoder {
 public:
  static constexpr const char* kName = "CobsDecoder";

  static CobsDecoder* Create(napi_env env, const napi_value* argv, BufferPool* pool) {
    size_t maxPacket;
    if (!GetCap(env, argv[0], "maxPacket", 8, 0xffff, &maxPacket)) return nullptr;
    auto* d = new (std::nothrow) CobsDecoder(pool, maxPacket);
    if (d == nullptr || !d->buf_) {
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
    if (!out.ok()) return nullptr;
    const uint8_t* p = chunk.data;
    const uint8_t* const end = chunk.data + chunk.size;
    while (p < end) {
      const uint8_t* z = static_cast<const uint8_t*>(std::memchr(p, 0, static_cast<size_t>(end - p)));
      const uint8_t* runEnd = z ? z : end;
      const size_t run = static_cast<size_t>(runEnd - p);
      if (run && !overflow_) {
        if (len_ + run > cap_) {
          // The buffer fills with no delimiter: drop the frame, resync at the next 0x00.
          overflow_ = true;
          len_ = 0;
          stats_[kOversize]++;
        } else if (len_ == 0 && z) {
          // A whole frame inside this chunk: decode it from the chunk, skipping the buffer.
          if (!Frame(p, run, out)) return nullptr;
          p = z + 1;
          continue;
        } else {
          std::memcpy(buf_.get() + len_, p, run);
          len_ += run;
        }
      }
      p = runEnd;
      if (!z) break;
      p++;
      if (overflow_) {
        overflow_ = false;
      } else if (len_ == 0) {
        stats_[kEmpty]++;
      } else {
        const size_t n = len_;
        len_ = 0;
        if (!Frame(buf_.get(), n, out)) return nullptr;
      }
    }
    return out.Value();
  }

  napi_value Reset(napi_env env) {
    len_ = 0;
    overflow_ = false;
    return Undefined(env);
  }

  napi_value Stats(napi_env env) { return StatsArray(env, stats_, kStatCount); }

  napi_value Buffered(napi_env env) { return Number(env, static_cast<double>(len_)); }

 private:
  CobsDecoder(BufferPool* pool, size_t maxPacket)
      : pool_(pool), maxPacket_(maxPacket), cap_(CobsMaxLength(maxPacket + 2)), buf_(new (std::nothrow) uint8_t[cap_]) {}

  // Decodes one frame's COBS bytes (no zero among them) into the buffer and checks it. Returns
  // false only when a packet could not be handed to JS.
  bool Frame(const uint8_t* enc, size_t n, PacketList& out) {
    size_t dl;
    if (!CobsDecodedLength(enc, n, &dl)) {
      stats_[kMalformed]++;
    } else if (dl < 10) {
      stats_[kShort]++;
    } else if (dl - 2 > maxPacket_) {
      stats_[kOversize]++;
    } else {
      uint8_t* dec = buf_.get();  // decoded bytes never outgrow their encoding, so they fit
      CobsDecodeValid(enc, n, dec);
      if (Crc16(dec, dl, 0) != 0) {
        stats_[kBadCrc]++;
      } else {
        stats_[kPackets]++;
        return out.Add(dec, dl - 2);
      }
    }
    return true;
  }

  BufferPool* pool_;
  size_t maxPacket_ = 0;
  size_t cap_ = 0;
  std::unique_ptr<uint8_t[]> buf_;
  size_t len_ = 0;
  bool overflow_ = false;
  uint64_t stats_[kStatCount] = {};
};

}  // namespace

size_t CobsEncodedLength(const uint8_t* a, size_t na, const uint8_t* b, size_t nb) {
  CobsWriter<false> w(nullptr);
  w.Feed(a, na);
  w.Feed(b, nb);
  return w.Finish();
}

size_t CobsEncode(const uint8_t* a, size_t na, const uint8_t* b, size_t nb, uint8_t* out) {
  CobsWriter<true> w(out);
  w.Feed(a, na);
  w.Feed(b, nb);
  return w.Finish();
}

bool CobsDecodedLength(const uint8_t* enc, size_t n, size_t* outLen) {
  if (n && std::memchr(enc, 0, n)) return false;
  size_t i = 0, o = 0;
  while (i < n) {
    const size_t code = enc[i++];
    const size_t blockEnd = i + code - 1;
    if (blockEnd > n) return false;
    o += code - 1;
    i = blockEnd;
    if (code != 0xff && i < n) o++;
  }
  *outLen = o;
  return true;
}

size_t CobsDecodeValid(const uint8_t* enc, size_t n, uint8_t* out) {
  size_t i = 0, o = 0;
  while (i < n) {
    const size_t code = enc[i++];
    const size_t len = code - 1;
    std::memmove(out + o, enc + i, len);  // in place, o < i: the block moves left
    o += len;
    i += len;
    if (code != 0xff && i < n) out[o++] = 0;
  }
  return o;
}

void InitCobs(Napi::Env env, Napi::Object exports, BufferPool* pool) {
  DefineFunction(env, exports, "cobsEncode", CobsEncodeJs, pool);
  DefineFunction(env, exports, "cobsDecode", CobsDecodeJs, pool);
  DefineFunction(env, exports, "encodeCobsFrame", EncodeCobsFrameJs, pool);
  DefineDecoder<CobsDecoder>(env, exports, pool);
}

}  // namespace codec
}  // namespace mcumgr
