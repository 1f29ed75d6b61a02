// Console framing (PROTOCOL.md §4) without Node-API: the frame encoder and the streaming decoder.
// Twins of src/codec/console-encoder.ts and console-decoder.ts: the decoder is the same
// three-state machine, walked over whole runs of frame text instead of byte by byte, and gives
// identical packets and counters for any input and any chunking. codec_console.cc wraps both for
// JavaScript; fuzz/fuzz_console.cc drives them directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

#include "codec_core.h"

namespace mcumgr {
namespace codec {

namespace console_detail {
constexpr size_t kRawPerFrame = 93;  // 124 base64 characters in a 127-byte frame
constexpr long kZephyrBudget = 90;   // budget after the first frame's length triple (§4.2)
constexpr size_t kMaxFrameRaw = 96;  // every frame carries at most 93 raw bytes
}  // namespace console_detail

// Largest packet console framing carries (the length prefix counts packet + CRC in 16 bits).
constexpr size_t kMaxConsolePacket = 0xffff - 2;

// Raw-byte sizes of the frames of an n-byte packet, one at a time (consoleFrameSizes in the twin).
class ConsoleFrameSizes {
 public:
  ConsoleFrameSizes(size_t n, bool zephyr) : n_(n), zephyr_(zephyr), total_(n + 4) {}
  bool Next(size_t* size) {
    using namespace console_detail;
    if (done_) return false;
    if (!zephyr_) {
      const size_t take = total_ < kRawPerFrame ? total_ : kRawPerFrame;
      total_ -= take;
      done_ = total_ == 0;
      *size = take;
      return true;
    }
    const long rem = static_cast<long>(n_ - pos_);
    const long slack = kZephyrBudget - rem;
    if (slack >= 2) {
      *size = frame_ + static_cast<size_t>(rem) + 2;
      done_ = true;
      return true;
    }
    const size_t take = slack >= 0 ? 87 : static_cast<size_t>(kZephyrBudget);  // groups of 3, CRC never split
    *size = frame_ + take;
    pos_ += take;
    frame_ = 0;
    return true;
  }

 private:
  size_t n_;
  bool zephyr_;
  size_t total_;
  size_t pos_ = 1;  // the first packet byte travels with the two length bytes
  size_t frame_ = 3;
  bool done_ = false;
};

// Wire bytes of the console frames of an n-byte packet (1 <= n <= kMaxConsolePacket).
inline size_t ConsoleEncodedLength(size_t n, bool zephyr) {
  size_t outLen = 0;
  size_t s;
  for (ConsoleFrameSizes sizes(n, zephyr); sizes.Next(&s);) outLen += 3 + Base64Length(s);
  return outLen;
}

// Writes the console frames of the packet made of `count` pieces in order (1 <= their total n <=
// kMaxConsolePacket) into `out` (ConsoleEncodedLength(n, zephyr) bytes). Each piece is read where
// it lies; only a frame that straddles two pieces is gathered first (at most 96 bytes).
inline void ConsoleEncodeParts(const ByteSpan* parts, size_t count, bool zephyr, uint8_t* out) {
  const size_t n = PartsLength(parts, count);
  const uint16_t crc = Crc16Parts(parts, count);
  const uint8_t head[2] = {static_cast<uint8_t>((n + 2) >> 8), static_cast<uint8_t>(n + 2)};
  const uint8_t tail[2] = {static_cast<uint8_t>(crc >> 8), static_cast<uint8_t>(crc)};
  // The stream is head ‖ pieces ‖ tail: segment -1 is head, `count` is tail. The frame sizes add
  // up to exactly n + 4, so the cursor never runs past the tail.
  const long last = static_cast<long>(count);
  auto size_of = [&](long k) -> size_t { return k < 0 || k == last ? 2 : parts[k].size; };
  auto data_of = [&](long k) -> const uint8_t* { return k < 0 ? head : k == last ? tail : parts[k].data; };
  long seg = -1;
  size_t at = 0;
  bool first = true;
  size_t s;
  uint8_t tmp[console_detail::kMaxFrameRaw];
  for (ConsoleFrameSizes sizes(n, zephyr); sizes.Next(&s); first = false) {
    *out++ = first ? 0x06 : 0x04;
    *out++ = first ? 0x09 : 0x14;
    while (at == size_of(seg) && seg < last) seg++, at = 0;
    const uint8_t* src;
    if (size_of(seg) - at >= s) {
      src = data_of(seg) + at;
      at += s;
    } else {
      size_t got = 0;
      while (got < s) {
        while (at == size_of(seg) && seg < last) seg++, at = 0;
        const size_t take = s - got < size_of(seg) - at ? s - got : size_of(seg) - at;
        std::memcpy(tmp + got, data_of(seg) + at, take);
        got += take;
        at += take;
      }
      src = tmp;
    }
    out += Base64Encode(src, s, out);
    *out++ = 0x0a;
  }
}

// Writes the console frames of `pkt` (1 <= n <= kMaxConsolePacket) into `out`
// (ConsoleEncodedLength(n, zephyr) bytes).
inline void ConsoleEncode(const uint8_t* pkt, size_t n, bool zephyr, uint8_t* out) {
  const ByteSpan one{pkt, n};
  ConsoleEncodeParts(&one, 1, zephyr, out);
}

namespace console_detail {

// Bytes that end a run of frame text: LF, and the first byte of either marker.
struct SpecialTable {
  bool v[256];
};
constexpr SpecialTable MakeSpecial() {
  SpecialTable t{};
  t.v[0x0a] = true;
  t.v[0x06] = true;
  t.v[0x04] = true;
  return t;
}
inline constexpr SpecialTable kSpecial = MakeSpecial();

// Index of the first special byte in c[i, n), or n. Eight bytes at a time while none is special
// (a word has a byte equal to k when (w ^ k*0x01..01) has a zero byte), then byte by byte.
inline size_t FindSpecial(const uint8_t* c, size_t i, size_t n) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, c + i, 8);
    const uint64_t a = w ^ (kOnes * 0x0a), b = w ^ (kOnes * 0x06), d = w ^ (kOnes * 0x04);
    if ((((a - kOnes) & ~a) | ((b - kOnes) & ~b) | ((d - kOnes) & ~d)) & kHigh) break;
  }
  while (i < n && !kSpecial.v[c[i]]) i++;
  return i;
}

}  // namespace console_detail

// Streaming console-frame decoder. Packets go to a sink: any object with
// `bool Add(const uint8_t* data, size_t n)` (false stops the push: the caller could not take it).
class ConsoleDecoderCore {
 public:
  enum Stat { kPackets, kNonFrameLines, kBadBase64, kBadLength, kBadCrc, kLineOverflow, kOrphanContinuations, kAbandoned, kStatCount };
  // The caps the JS API accepts (the constructor does not check them).
  static constexpr size_t kMinLine = 4, kMaxLineCap = size_t{1} << 20, kMinPacket = 8, kMaxPacketCap = kMaxConsolePacket;

  // maxLine in kMinLine..kMaxLineCap, maxPacket in kMinPacket..kMaxPacketCap. Allocation does not
  // throw: check ok() afterwards.
  ConsoleDecoderCore(size_t maxLine, size_t maxPacket)
      : maxLine_(maxLine),
        maxPacket_(maxPacket),
        line_(new (std::nothrow) uint8_t[maxLine]),
        pkt_(new (std::nothrow) uint8_t[maxPacket + 2]) {}

  bool ok() const { return line_ && pkt_; }
  size_t maxLine() const { return maxLine_; }
  size_t maxPacket() const { return maxPacket_; }

  // Feeds n bytes at c. Returns false only when the sink refused a packet (the push stops there).
  template <typename Sink>
  bool Push(const uint8_t* c, size_t n, Sink& out) {
    using console_detail::FindSpecial;
    size_t i = 0;
    while (i < n) {
      switch (st_) {
        case St::Scan: {
          int prev = prev_;
          bool text = lineHasText_;
          for (; i < n; i++) {
            const uint8_t b = c[i];
            if (b == 0x0a) {
              if (text) stats_[kNonFrameLines]++;
              text = false;
              prev = -1;
            } else if ((prev == 0x06 && b == 0x09) || (prev == 0x04 && b == 0x14)) {
              initial_ = b == 0x09;
              st_ = St::Frame;
              lineLen_ = 0;
              text = false;
              prev = -1;
              i++;
              break;
            } else {
              text = true;
              prev = b;
            }
          }
          prev_ = prev;
          lineHasText_ = text;
          break;
        }
        case St::Frame: {
          const size_t j = FindSpecial(c, i, n);
          const size_t run = j - i;
          const size_t room = maxLine_ - lineLen_;
          if (run > room) {
            // The byte after `room` more characters overflows the line: drop it all, up to LF.
            stats_[kLineOverflow]++;
            DropPacket();
            st_ = St::Discard;
            i += room + 1;
            break;
          }
          std::memcpy(line_.get() + lineLen_, c + i, run);
          lineLen_ += run;
          i = j;
          if (i == n) break;
          const uint8_t b = c[i++];
          if (b == 0x0a) {
            st_ = St::Scan;
            if (!EndFrame(out)) return false;
          } else {
            // A marker byte cannot be base64: the frame was cut short; rescan from here.
            stats_[kBadBase64]++;
            DropPacket();
            st_ = St::Scan;
            lineHasText_ = false;
            prev_ = b;
          }
          break;
        }
        case St::Discard: {
          i = FindSpecial(c, i, n);
          if (i == n) break;
          const uint8_t b = c[i++];
          // LF ends the over-long line; a marker byte starts a new frame wherever it appears.
          st_ = St::Scan;
          lineHasText_ = false;
          prev_ = b == 0x0a ? -1 : b;
          break;
        }
      }
    }
    return true;
  }

  // Forgets any partial line or packet (counters are kept).
  void Reset() {
    st_ = St::Scan;
    prev_ = -1;
    lineHasText_ = false;
    lineLen_ = 0;
    pktActive_ = false;
  }

  const uint64_t* Stats() const { return stats_; }

  // Bytes held for a partial line or packet.
  size_t Buffered() const { return lineLen_ + (pktActive_ ? pktHave_ : 0); }

 private:
  enum class St : uint8_t { Scan, Frame, Discard };

  // Handles one complete frame line. Returns false only when the sink refused the packet.
  template <typename Sink>
  bool EndFrame(Sink& out) {
    size_t n = lineLen_;
    lineLen_ = 0;
    uint8_t* line = line_.get();
    if (n > 0 && line[n - 1] == 0x0d) n--;  // tolerate CRLF, as Zephyr does
    // Decoded in place: the line buffer is free once its text has been read.
    const size_t rawLen = n % 4 == 0 ? Base64DecodedLength(line, n) : 0;
    if (!Base64Decode(line, n, line)) {
      stats_[kBadBase64]++;
      DropPacket();
      return true;
    }
    const uint8_t* data = line;
    size_t dataLen = rawLen;
    if (initial_) {
      if (pktActive_) {
        stats_[kAbandoned]++;
        pktActive_ = false;
      }
      if (rawLen < 2) {
        stats_[kBadLength]++;
        return true;
      }
      const size_t want = (size_t{line[0]} << 8) | line[1];
      // want counts packet + CRC; a packet holds at least an 8-byte header.
      if (want < 10 || want - 2 > maxPacket_) {
        stats_[kBadLength]++;
        return true;
      }
      pktActive_ = true;
      pktWant_ = want;
      pktHave_ = 0;
      data += 2;
      dataLen -= 2;
    } else if (!pktActive_) {
      stats_[kOrphanContinuations]++;
      return true;
    }
    if (pktHave_ + dataLen > pktWant_) {
      stats_[kBadLength]++;
      pktActive_ = false;
      return true;
    }
    std::memcpy(pkt_.get() + pktHave_, data, dataLen);
    pktHave_ += dataLen;
    if (pktHave_ < pktWant_) return true;
    pktActive_ = false;
    if (Crc16(pkt_.get(), pktWant_, 0) != 0) {
      stats_[kBadCrc]++;
      return true;
    }
    stats_[kPackets]++;
    return out.Add(pkt_.get(), pktWant_ - 2);
  }

  void DropPacket() {
    pktActive_ = false;
    lineLen_ = 0;
  }

  size_t maxLine_ = 0;
  size_t maxPacket_ = 0;
  St st_ = St::Scan;
  int prev_ = -1;             // previous byte while scanning, for two-byte markers
  bool lineHasText_ = false;  // the current non-frame line had bytes (counted as a log line at LF)
  bool initial_ = false;      // kind of the frame being read
  std::unique_ptr<uint8_t[]> line_;
  size_t lineLen_ = 0;
  std::unique_ptr<uint8_t[]> pkt_;  // packet + CRC being assembled (capacity maxPacket + 2)
  bool pktActive_ = false;
  size_t pktWant_ = 0;
  size_t pktHave_ = 0;
  uint64_t stats_[kStatCount] = {};
};

}  // namespace codec
}  // namespace mcumgr
