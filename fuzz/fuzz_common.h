// Shared pieces of the libFuzzer harnesses (fuzz/fuzz_*.cc): a check macro that aborts with a
// message, a packet sink, the input layout (a few parameter bytes, then the stream), chunk
// boundaries derived from the input bytes, and straightforward byte-at-a-time reference models
// of the three stream decoders. The references are ports of the TypeScript twins (src/codec/) and
// use their own bitwise CRC and table-free base64, so they share no code with the native core
// they are compared against.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../native/codec_core.h"

namespace fuzz {

#define FUZZ_CHECK(cond, ...)                                                                \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "\nFUZZ_CHECK failed at %s:%d: %s\n  ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                                     \
      std::fputc('\n', stderr);                                                              \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

using Bytes = std::vector<uint8_t>;
using Packets = std::vector<Bytes>;

// A sink for the decoder cores: keeps every packet.
struct CollectSink {
  Packets* out;
  bool Add(const uint8_t* d, size_t n) {
    out->emplace_back(d, d + n);
    return true;
  }
};

// A sink that refuses every other packet (as the JS glue does when a Buffer cannot be made): the
// decoder must stay memory-safe and within its caps after a refused packet.
struct FlakySink {
  unsigned n = 0;
  bool Add(const uint8_t*, size_t) { return (n++ & 1) == 0; }
};

// Reads parameter bytes from the front of the input; missing bytes read as 0.
class Input {
 public:
  Input(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  uint8_t Take() { return pos_ < n_ ? d_[pos_++] : 0; }
  const uint8_t* rest() const { return d_ + pos_; }
  size_t restSize() const { return n_ - pos_; }

 private:
  const uint8_t* d_;
  size_t n_;
  size_t pos_ = 0;
};

// Chunk boundaries for a stream, derived from five parameter bytes (a mode and four sizes) and,
// in one mode, from the stream's own bytes. Flags in the mode byte add empty pushes and resets.
class Chunker {
 public:
  static constexpr size_t kParamBytes = 5;

  explicit Chunker(Input& in) : mode_(in.Take()) {
    for (auto& s : sizes_) s = in.Take();
  }

  // Length of the chunk starting at `off` of the n-byte stream `s` (1..n-off).
  size_t Next(const uint8_t* s, size_t off, size_t n) {
    const size_t left = n - off;
    const uint8_t v = sizes_[k_++ & 3];
    size_t len;
    switch (mode_ % 6) {
      case 0: len = left; break;                                        // one push
      case 1: len = n <= 2048 ? 1 : 1 + v % 8; break;                   // byte by byte (short streams)
      case 2: len = 1 + v % 8; break;                                   // tiny chunks
      case 3: len = 1 + v; break;                                       // 1..256
      case 4: len = 1 + size_t{v} * v; break;                           // up to 65026
      default: len = 1 + s[off] % (1 + size_t{sizes_[0]}); break;       // from the stream's bytes
    }
    return len < left ? len : left;
  }
  // Push an empty chunk before every chunk.
  bool emptyPushes() const { return (mode_ & 0x40) != 0; }
  // Reset the decoders after every seventh chunk.
  bool resets() const { return (mode_ & 0x80) != 0; }
  bool ResetAfter(size_t chunkIndex) const { return resets() && chunkIndex % 7 == 3; }

 private:
  uint8_t mode_;
  uint8_t sizes_[4];
  size_t k_ = 0;
};

// ---- independent references --------------------------------------------------------------------

inline uint16_t RefCrc16(const uint8_t* p, size_t n, uint16_t crc = 0) {
  for (size_t i = 0; i < n; i++) {
    crc = static_cast<uint16_t>(crc ^ (uint16_t{p[i]} << 8));
    for (int k = 0; k < 8; k++) crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021) : static_cast<uint16_t>(crc << 1);
  }
  return crc;
}

// 0..63 for an alphabet character, 64 for '=', 255 otherwise.
inline int RefB64Value(uint8_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  if (c == '=') return 64;
  return 255;
}

// Strict base64 decode as the TS twin does it; false when invalid.
inline bool RefBase64Decode(const uint8_t* t, size_t n, Bytes* out) {
  out->clear();
  if (n % 4 != 0) return false;
  if (n == 0) return true;
  size_t pad = 0;
  if (t[n - 1] == '=') pad = t[n - 2] == '=' ? 2 : 1;
  const size_t full = pad ? n - 4 : n;
  for (size_t i = 0; i < full; i += 4) {
    const int a = RefB64Value(t[i]), b = RefB64Value(t[i + 1]), c = RefB64Value(t[i + 2]), d = RefB64Value(t[i + 3]);
    if ((a | b | c | d) & 0xc0) return false;
    const uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6) | uint32_t(d);
    out->push_back(uint8_t(v >> 16));
    out->push_back(uint8_t(v >> 8));
    out->push_back(uint8_t(v));
  }
  if (pad) {
    const uint8_t* g = t + n - 4;
    const int a = RefB64Value(g[0]), b = RefB64Value(g[1]);
    if ((a | b) & 0xc0) return false;
    if (pad == 1) {
      const int c = RefB64Value(g[2]);
      if (c & 0xc0) return false;
      const uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6);
      out->push_back(uint8_t(v >> 16));
      out->push_back(uint8_t(v >> 8));
    } else {
      out->push_back(uint8_t(((uint32_t(a) << 18) | (uint32_t(b) << 12)) >> 16));
    }
  }
  return true;
}

// COBS decode of one block sequence as the TS twin does it; false when malformed.
inline bool RefCobsDecode(const uint8_t* e, size_t n, Bytes* out) {
  out->clear();
  size_t i = 0;
  while (i < n) {
    const size_t code = e[i++];
    if (code == 0) return false;
    const size_t end = i + code - 1;
    if (end > n) return false;
    for (; i < end; i++) {
      if (e[i] == 0) return false;
      out->push_back(e[i]);
    }
    if (code != 0xff && i < n) out->push_back(0);
  }
  return true;
}

inline size_t RefCobsMaxLength(size_t n) { return n + n / 254 + 1; }

// Byte-at-a-time console decoder (ConsoleDecoderTs). Counters in the core's order.
class RefConsoleDecoder {
 public:
  enum { kPackets, kNonFrameLines, kBadBase64, kBadLength, kBadCrc, kLineOverflow, kOrphanContinuations, kAbandoned, kStatCount };
  RefConsoleDecoder(size_t maxLine, size_t maxPacket) : maxLine_(maxLine), maxPacket_(maxPacket) {}

  void Push(const uint8_t* c, size_t n, Packets* out) {
    for (size_t i = 0; i < n; i++) {
      const uint8_t b = c[i];
      switch (st_) {
        case 0:  // scan
          if (b == 0x0a) {
            if (text_) stats[kNonFrameLines]++;
            text_ = false;
            prev_ = -1;
          } else if ((prev_ == 0x06 && b == 0x09) || (prev_ == 0x04 && b == 0x14)) {
            initial_ = b == 0x09;
            st_ = 1;
            line_.clear();
            text_ = false;
            prev_ = -1;
          } else {
            text_ = true;
            prev_ = b;
          }
          break;
        case 1:  // frame
          if (b == 0x0a) {
            st_ = 0;
            EndFrame(out);
          } else if (b == 0x06 || b == 0x04) {
            stats[kBadBase64]++;
            DropPacket();
            st_ = 0;
            text_ = false;
            prev_ = b;
          } else if (line_.size() < maxLine_) {
            line_.push_back(b);
          } else {
            stats[kLineOverflow]++;
            DropPacket();
            st_ = 2;
          }
          break;
        default:  // discard
          if (b == 0x0a || b == 0x06 || b == 0x04) {
            st_ = 0;
            prev_ = b == 0x0a ? -1 : b;
            text_ = false;
          }
          break;
      }
    }
  }

  void Reset() {
    st_ = 0;
    prev_ = -1;
    text_ = false;
    line_.clear();
    active_ = false;
  }

  size_t Buffered() const { return line_.size() + (active_ ? pkt_.size() : 0); }
  uint64_t stats[kStatCount] = {};

 private:
  void EndFrame(Packets* out) {
    size_t n = line_.size();
    if (n > 0 && line_[n - 1] == 0x0d) n--;
    Bytes raw;
    const bool ok = RefBase64Decode(line_.data(), n, &raw);
    line_.clear();
    if (!ok) {
      stats[kBadBase64]++;
      DropPacket();
      return;
    }
    size_t from = 0;
    if (initial_) {
      if (active_) {
        stats[kAbandoned]++;
        active_ = false;
      }
      if (raw.size() < 2) {
        stats[kBadLength]++;
        return;
      }
      const size_t want = (size_t{raw[0]} << 8) | raw[1];
      if (want < 10 || want - 2 > maxPacket_) {
        stats[kBadLength]++;
        return;
      }
      active_ = true;
      want_ = want;
      pkt_.clear();
      from = 2;
    } else if (!active_) {
      stats[kOrphanContinuations]++;
      return;
    }
    if (pkt_.size() + (raw.size() - from) > want_) {
      stats[kBadLength]++;
      active_ = false;
      return;
    }
    pkt_.insert(pkt_.end(), raw.begin() + static_cast<long>(from), raw.end());
    if (pkt_.size() < want_) return;
    active_ = false;
    if (RefCrc16(pkt_.data(), pkt_.size()) != 0) {
      stats[kBadCrc]++;
      return;
    }
    stats[kPackets]++;
    out->emplace_back(pkt_.begin(), pkt_.end() - 2);
  }

  void DropPacket() {
    active_ = false;
    line_.clear();
  }

  size_t maxLine_, maxPacket_;
  int st_ = 0;
  int prev_ = -1;
  bool text_ = false;
  bool initial_ = false;
  Bytes line_;
  Bytes pkt_;
  bool active_ = false;
  size_t want_ = 0;
};

// Byte-at-a-time COBS stream decoder (CobsDecoderTs).
class RefCobsDecoder {
 public:
  enum { kPackets, kMalformed, kShort, kOversize, kBadCrc, kEmpty, kStatCount };
  explicit RefCobsDecoder(size_t maxPacket) : maxPacket_(maxPacket), cap_(RefCobsMaxLength(maxPacket + 2)) {}

  void Push(const uint8_t* c, size_t n, Packets* out) {
    for (size_t i = 0; i < n; i++) {
      const uint8_t b = c[i];
      if (b != 0) {
        if (overflow_) continue;
        if (buf_.size() < cap_) {
          buf_.push_back(b);
        } else {
          overflow_ = true;
          buf_.clear();
          stats[kOversize]++;
        }
        continue;
      }
      if (overflow_) {
        overflow_ = false;
        continue;
      }
      if (buf_.empty()) {
        stats[kEmpty]++;
        continue;
      }
      Bytes dec;
      const bool ok = RefCobsDecode(buf_.data(), buf_.size(), &dec);
      buf_.clear();
      if (!ok) {
        stats[kMalformed]++;
      } else if (dec.size() < 10) {
        stats[kShort]++;
      } else if (dec.size() - 2 > maxPacket_) {
        stats[kOversize]++;
      } else if (RefCrc16(dec.data(), dec.size()) != 0) {
        stats[kBadCrc]++;
      } else {
        stats[kPackets]++;
        out->emplace_back(dec.begin(), dec.end() - 2);
      }
    }
  }

  void Reset() {
    buf_.clear();
    overflow_ = false;
  }
  size_t Buffered() const { return buf_.size(); }
  uint64_t stats[kStatCount] = {};

 private:
  size_t maxPacket_, cap_;
  Bytes buf_;
  bool overflow_ = false;
};

// Byte-at-a-time raw SMP stream decoder (RawDecoderTs).
class RefRawDecoder {
 public:
  enum { kPackets, kBadLength, kBadHeader, kDiscarded, kStatCount };
  explicit RefRawDecoder(size_t maxPacket) : maxPacket_(maxPacket) {}

  void Push(const uint8_t* c, size_t n, Packets* out) {
    size_t i = 0;
    while (i < n) {
      if (!active_) {
        hdr_[hdrLen_++] = c[i++];
        if (hdrLen_ < 8) continue;
        hdrLen_ = 0;
        const uint8_t b0 = hdr_[0];
        if ((b0 & 0xe0) != 0 || (b0 & 7) > 3) {
          stats[kBadHeader]++;
          continue;
        }
        const size_t total = 8 + ((size_t{hdr_[2]} << 8) | hdr_[3]);
        if (total > maxPacket_) {
          stats[kBadLength]++;
          continue;
        }
        pkt_.assign(hdr_, hdr_ + 8);
        want_ = total;
        active_ = true;
      }
      while (i < n && pkt_.size() < want_) pkt_.push_back(c[i++]);
      if (pkt_.size() == want_) {
        stats[kPackets]++;
        out->push_back(pkt_);
        active_ = false;
      }
    }
  }

  void Reset() {
    if (hdrLen_ > 0 || active_) stats[kDiscarded]++;
    hdrLen_ = 0;
    active_ = false;
  }
  size_t Buffered() const { return hdrLen_ + (active_ ? pkt_.size() : 0); }
  uint64_t stats[kStatCount] = {};

 private:
  size_t maxPacket_;
  uint8_t hdr_[8] = {};
  size_t hdrLen_ = 0;
  Bytes pkt_;
  size_t want_ = 0;
  bool active_ = false;
};

// ---- comparisons ---------------------------------------------------------------------------------

inline void CheckSamePackets(const Packets& a, const Packets& b, const char* what, size_t chunk) {
  FUZZ_CHECK(a.size() == b.size(), "%s: %zu packets vs %zu (chunk %zu)", what, a.size(), b.size(), chunk);
  for (size_t i = 0; i < a.size(); i++) {
    FUZZ_CHECK(a[i] == b[i], "%s: packet %zu differs (%zu vs %zu bytes, chunk %zu)", what, i, a[i].size(), b[i].size(), chunk);
  }
}

inline void CheckSameStats(const uint64_t* a, const uint64_t* b, size_t n, const char* what) {
  for (size_t i = 0; i < n; i++) FUZZ_CHECK(a[i] == b[i], "%s: counter %zu is %llu vs %llu", what, i, (unsigned long long)a[i], (unsigned long long)b[i]);
}

}  // namespace fuzz

namespace fuzz {

// Feeds `s` (n bytes) to a decoder core and its reference under the chunking of `ch`, and checks
// after every chunk: identical packets, identical buffered(), buffered() <= bound, and `check` on
// every packet. A third decoder behind a sink that refuses packets must stay within the bound
// too. At the end: identical counters, and (without resets) the same packets and counters from a
// decoder given the whole stream in one push. Returns the packets.
template <typename Core, typename Ref, typename Make, typename MakeRef, typename Check>
Packets DriveStream(const char* name, Make make, MakeRef makeRef, const uint8_t* s, size_t n, Chunker& ch, size_t bound, Check check) {
  Core core = make();
  Core flaky = make();
  FUZZ_CHECK(core.ok() && flaky.ok(), "%s: allocation failed", name);
  Ref ref = makeRef();
  FlakySink flakySink;
  Packets all;
  size_t idx = 0;
  for (size_t off = 0; off < n; idx++) {
    const size_t len = ch.Next(s, off, n);
    Packets got, want;
    CollectSink sink{&got};
    if (ch.emptyPushes()) FUZZ_CHECK(core.Push(nullptr, 0, sink), "%s: empty push refused", name);
    // The chunk in a heap block of its own: ASan sees any read past its end.
    const Bytes chunk(s + off, s + off + len);
    FUZZ_CHECK(core.Push(chunk.data(), len, sink), "%s: push refused", name);
    ref.Push(chunk.data(), len, &want);
    flaky.Push(chunk.data(), len, flakySink);
    CheckSamePackets(got, want, name, idx);
    FUZZ_CHECK(core.Buffered() == ref.Buffered(), "%s: buffered %zu vs reference %zu after chunk %zu", name, core.Buffered(), ref.Buffered(), idx);
    FUZZ_CHECK(core.Buffered() <= bound, "%s: buffered %zu > bound %zu", name, core.Buffered(), bound);
    FUZZ_CHECK(flaky.Buffered() <= bound, "%s: buffered %zu > bound %zu after a refused packet", name, flaky.Buffered(), bound);
    for (const Bytes& p : got) check(p);
    all.insert(all.end(), got.begin(), got.end());
    if (ch.ResetAfter(idx)) {
      core.Reset();
      ref.Reset();
      FUZZ_CHECK(core.Buffered() == 0, "%s: buffered after reset", name);
    }
    off += len;
  }
  CheckSameStats(core.Stats(), ref.stats, Core::kStatCount, name);
  if (!ch.resets()) {
    Core whole = make();
    FUZZ_CHECK(whole.ok(), "%s: allocation failed", name);
    Packets got;
    CollectSink sink{&got};
    const Bytes copy(s, s + n);
    FUZZ_CHECK(whole.Push(copy.data(), n, sink), "%s: push refused", name);
    CheckSamePackets(got, all, name, 0);
    CheckSameStats(whole.Stats(), core.Stats(), Core::kStatCount, name);
    FUZZ_CHECK(whole.Buffered() == core.Buffered(), "%s: one push leaves %zu buffered, chunked %zu", name, whole.Buffered(), core.Buffered());
  }
  core.Reset();
  FUZZ_CHECK(core.Buffered() == 0, "%s: buffered after reset", name);
  return all;
}

}  // namespace fuzz
