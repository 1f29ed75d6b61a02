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

Napi::Value CobsEncodeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Bytes in = GetBytes(env, info[0], "data");
  uint8_t* out;
  napi_value buf = PoolOf(info)->Alloc(env, CobsEncodedLength(in.data, in.size, nullptr, 0), &out);
  CobsEncode(in.data, in.size, nullptr, 0, out);
  return Napi::Value(env, buf);
}

Napi::Value CobsDecodeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Bytes enc = GetBytes(env, info[0], "enc");
  size_t len;
  if (!CobsDecodedLength(enc.data, enc.size, &len)) return env.Null();
  uint8_t* out;
  napi_value buf = PoolOf(info)->Alloc(env, len, &out);
  CobsDecodeValid(enc.data, enc.size, out);
  return Napi::Value(env, buf);
}

Napi::Value EncodeCobsFrameJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Bytes pkt = GetBytes(env, info[0], "packet");
  if (pkt.size < 1 || pkt.size > 0xffff) {
    throw Napi::RangeError::New(env, "packet must be 1..65535 bytes for COBS framing, got " + std::to_string(pkt.size));
  }
  const uint16_t crc = Crc16(pkt.data, pkt.size, 0);
  const uint8_t tail[2] = {static_cast<uint8_t>(crc >> 8), static_cast<uint8_t>(crc)};
  const size_t len = CobsEncodedLength(pkt.data, pkt.size, tail, 2);
  uint8_t* out;
  napi_value buf = PoolOf(info)->Alloc(env, len + 1, &out);
  CobsEncode(pkt.data, pkt.size, tail, 2, out);
  out[len] = 0;
  return Napi::Value(env, buf);
}

enum Stat { kPackets, kMalformed, kShort, kOversize, kBadCrc, kEmpty, kStatCount };

class CobsDecoder : public Napi::ObjectWrap<CobsDecoder> {
 public:
  static Napi::Function Define(Napi::Env env, BufferPool* pool) {
    return DefineClass(env, "CobsDecoder",
                       {InstanceMethod<&CobsDecoder::Push>("push"), InstanceMethod<&CobsDecoder::Reset>("reset"),
                        InstanceMethod<&CobsDecoder::Stats>("stats"), InstanceMethod<&CobsDecoder::Buffered>("buffered")},
                       pool);
  }

  explicit CobsDecoder(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CobsDecoder>(info), pool_(PoolOf(info)) {
    maxPacket_ = GetCap(info.Env(), info[0], "maxPacket", 8, 0xffff);
    cap_ = CobsMaxLength(maxPacket_ + 2);
    buf_.reset(new uint8_t[cap_]);
  }

 private:
  Napi::Value Push(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const Bytes chunk = GetBytes(env, info[0], "chunk");
    PacketList out(env, pool_);
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
          Frame(p, run, out);
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
        Frame(buf_.get(), n, out);
      }
    }
    return out.Value();
  }

  // Decodes one frame's COBS bytes (no zero among them) into the buffer and checks it.
  void Frame(const uint8_t* enc, size_t n, PacketList& out) {
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
        out.Add(dec, dl - 2);
      }
    }
  }

  Napi::Value Reset(const Napi::CallbackInfo& info) {
    len_ = 0;
    overflow_ = false;
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) { return StatsArray(info.Env(), stats_, kStatCount); }

  Napi::Value Buffered(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(len_)); }

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
  exports.Set("cobsEncode", Napi::Function::New(env, CobsEncodeJs, "cobsEncode", pool));
  exports.Set("cobsDecode", Napi::Function::New(env, CobsDecodeJs, "cobsDecode", pool));
  exports.Set("encodeCobsFrame", Napi::Function::New(env, EncodeCobsFrameJs, "encodeCobsFrame", pool));
  exports.Set("CobsDecoder", CobsDecoder::Define(env, pool));
}

}  // namespace codec
}  // namespace mcumgr
