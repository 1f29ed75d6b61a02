// The codec's pure byte functions, with no Node-API: CRC-16/XMODEM, strict base64 and COBS.
// The streaming decoders and the frame encoders are in codec_core_console.h, codec_core_cobs.h and
// codec_core_raw.h. These headers are the whole codec logic: codec_*.cc only wrap them for
// JavaScript, and the fuzz harnesses (fuzz/) compile them without Node. Everything is inline
// (header-only) so binding.gyp and the harness build need no extra sources.
//
// Thread safety: the only namespace-scope objects are constexpr lookup tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace mcumgr {
namespace codec {

// A read-only view of bytes held elsewhere (a piece of a packet). Not `Bytes`: the fuzz harnesses
// have a type of that name and open this namespace.
struct ByteSpan {
  const uint8_t* data;
  size_t size;
};

// Bytes of the packet made of `count` pieces.
inline size_t PartsLength(const ByteSpan* parts, size_t count) {
  size_t n = 0;
  for (size_t i = 0; i < count; i++) n += parts[i].size;
  return n;
}

// ---- CRC-16/XMODEM (PROTOCOL.md §4.1, §5.5) -------------------------------------------------
// Poly 0x1021, init 0, no reflection, no final xor. Slicing-by-8: table k gives the CRC
// contribution of a byte followed by k zero bytes.

struct CrcTables {
  uint16_t t[8][256];
};

constexpr CrcTables MakeCrcTables() {
  CrcTables tables{};
  for (int i = 0; i < 256; i++) {
    uint16_t c = static_cast<uint16_t>(i << 8);
    for (int k = 0; k < 8; k++) c = (c & 0x8000) ? static_cast<uint16_t>((c << 1) ^ 0x1021) : static_cast<uint16_t>(c << 1);
    tables.t[0][i] = c;
  }
  for (int s = 1; s < 8; s++) {
    for (int i = 0; i < 256; i++) {
      const uint16_t prev = tables.t[s - 1][i];
      tables.t[s][i] = static_cast<uint16_t>((prev << 8) ^ tables.t[0][prev >> 8]);
    }
  }
  return tables;
}

inline constexpr CrcTables kCrcTables = MakeCrcTables();
static_assert(kCrcTables.t[0][1] == 0x1021, "CRC table");

// CRC-16/XMODEM of [data, data+n) continuing from `crc`.
inline uint16_t Crc16(const uint8_t* p, size_t n, uint16_t crc) {
  const auto& t = kCrcTables.t;
  while (n >= 8) {
    crc = static_cast<uint16_t>(t[7][(crc >> 8) ^ p[0]] ^ t[6][(crc & 0xff) ^ p[1]] ^ t[5][p[2]] ^ t[4][p[3]] ^
                                t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]]);
    p += 8;
    n -= 8;
  }
  while (n--) crc = static_cast<uint16_t>((crc << 8) ^ t[0][(crc >> 8) ^ *p++]);
  return crc;
}

// CRC-16/XMODEM of the packet made of `count` pieces.
inline uint16_t Crc16Parts(const ByteSpan* parts, size_t count) {
  uint16_t crc = 0;
  for (size_t i = 0; i < count; i++) crc = Crc16(parts[i].data, parts[i].size, crc);
  return crc;
}

// ---- strict RFC 4648 base64 (standard alphabet, '=' padding) ------------------------------------
// The decoder refuses a length that is not a multiple of 4, characters outside the alphabet and
// padding anywhere but the end; it accepts non-zero bits under the padding, as Zephyr does.
// Encoding maps 12 bits to two characters with one table look-up; decoding ORs four pre-shifted
// table entries per group, where an invalid character sets a bit above the 24 data bits.

inline constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
inline constexpr uint32_t kBase64Bad = 0xff000000u;

struct Base64EncTable {
  uint8_t pair[4096][2];
};

constexpr Base64EncTable MakeBase64EncTable() {
  Base64EncTable t{};
  for (int i = 0; i < 4096; i++) {
    t.pair[i][0] = static_cast<uint8_t>(kBase64Alphabet[i >> 6]);
    t.pair[i][1] = static_cast<uint8_t>(kBase64Alphabet[i & 63]);
  }
  return t;
}

struct Base64DecTables {
  uint32_t d[4][256];  // d[k][c] = value of c shifted to group position k, or kBase64Bad
};

constexpr Base64DecTables MakeBase64DecTables() {
  Base64DecTables t{};
  for (int k = 0; k < 4; k++)
    for (int c = 0; c < 256; c++) t.d[k][c] = kBase64Bad;
  for (int v = 0; v < 64; v++) {
    const int c = static_cast<uint8_t>(kBase64Alphabet[v]);
    t.d[0][c] = static_cast<uint32_t>(v) << 18;
    t.d[1][c] = static_cast<uint32_t>(v) << 12;
    t.d[2][c] = static_cast<uint32_t>(v) << 6;
    t.d[3][c] = static_cast<uint32_t>(v);
  }
  return t;
}

inline constexpr Base64EncTable kBase64Enc = MakeBase64EncTable();
inline constexpr Base64DecTables kBase64Dec = MakeBase64DecTables();

// Characters of the base64 text of `n` bytes (with padding).
constexpr size_t Base64Length(size_t n) { return (n + 2) / 3 * 4; }

// Encodes `n` bytes at `in` as padded base64 into `out` (Base64Length(n) bytes); returns that length.
inline size_t Base64Encode(const uint8_t* in, size_t n, uint8_t* out) {
  const auto put2 = [](uint8_t* o, uint32_t twelveBits) {
    o[0] = kBase64Enc.pair[twelveBits][0];
    o[1] = kBase64Enc.pair[twelveBits][1];
  };
  uint8_t* o = out;
  size_t i = 0;
  for (; i + 3 <= n; i += 3, o += 4) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    put2(o, v >> 12);
    put2(o + 2, v & 0xfff);
  }
  const size_t rest = n - i;
  if (rest == 1) {
    const uint32_t v = uint32_t{in[i]} << 16;
    put2(o, v >> 12);
    o[2] = '=';
    o[3] = '=';
    o += 4;
  } else if (rest == 2) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
    put2(o, v >> 12);
    o[2] = static_cast<uint8_t>(kBase64Alphabet[(v >> 6) & 63]);
    o[3] = '=';
    o += 4;
  }
  return static_cast<size_t>(o - out);
}

// Decoded length of strict base64 text of `n` characters (n % 4 == 0), from its padding.
inline size_t Base64DecodedLength(const uint8_t* text, size_t n) {
  if (n == 0) return 0;
  size_t pad = 0;
  if (text[n - 1] == '=') pad = text[n - 2] == '=' ? 2 : 1;
  return n / 4 * 3 - pad;
}

// Strict decode of `n` characters into `out` (Base64DecodedLength bytes). Returns false when the
// text is not valid base64 (length not a multiple of 4, a character outside the alphabet, padding
// anywhere but the end). `out` may equal `text` (decoding in place is safe).
inline bool Base64Decode(const uint8_t* text, size_t n, uint8_t* out) {
  if (n % 4 != 0) return false;
  if (n == 0) return true;
  size_t pad = 0;
  if (text[n - 1] == '=') pad = text[n - 2] == '=' ? 2 : 1;
  const size_t full = pad ? n - 4 : n;
  const auto& d = kBase64Dec.d;
  uint32_t bad = 0;
  uint8_t* o = out;
  // Every group is read whole before its three bytes are written, so out == text is safe.
  for (size_t i = 0; i < full; i += 4, o += 3) {
    const uint32_t v = d[0][text[i]] | d[1][text[i + 1]] | d[2][text[i + 2]] | d[3][text[i + 3]];
    bad |= v;
    o[0] = static_cast<uint8_t>(v >> 16);
    o[1] = static_cast<uint8_t>(v >> 8);
    o[2] = static_cast<uint8_t>(v);
  }
  if (pad) {
    const uint8_t* g = text + n - 4;
    if (pad == 1) {
      const uint32_t v = d[0][g[0]] | d[1][g[1]] | d[2][g[2]];
      bad |= v;
      o[0] = static_cast<uint8_t>(v >> 16);
      o[1] = static_cast<uint8_t>(v >> 8);
    } else {
      const uint32_t v = d[0][g[0]] | d[1][g[1]];
      bad |= v;
      o[0] = static_cast<uint8_t>(v >> 16);
    }
  }
  return (bad & kBase64Bad) == 0;
}

// ---- COBS (PROTOCOL.md §5.5) ---------------------------------------------------------------------

// Standard COBS over a sequence of spans, moving whole runs with memchr/memcpy. With kWrite false
// it only counts the output length.
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

// Worst-case COBS size of `n` bytes (no delimiter).
constexpr size_t CobsMaxLength(size_t n) { return n + n / 254 + 1; }

// Exact COBS size of the concatenation a ‖ b (no delimiter).
inline size_t CobsEncodedLength(const uint8_t* a, size_t na, const uint8_t* b, size_t nb) {
  CobsWriter<false> w(nullptr);
  w.Feed(a, na);
  w.Feed(b, nb);
  return w.Finish();
}

// COBS-encodes a ‖ b into `out` (CobsEncodedLength bytes); returns the length written.
inline size_t CobsEncode(const uint8_t* a, size_t na, const uint8_t* b, size_t nb, uint8_t* out) {
  CobsWriter<true> w(out);
  w.Feed(a, na);
  w.Feed(b, nb);
  return w.Finish();
}

// Validates a COBS block sequence (no delimiter) and gives its decoded length. Returns false when
// malformed: a zero byte anywhere, or a block running past the end.
inline bool CobsDecodedLength(const uint8_t* enc, size_t n, size_t* outLen) {
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

// Decodes a block sequence already validated by CobsDecodedLength. `out` may equal `enc`.
inline size_t CobsDecodeValid(const uint8_t* enc, size_t n, uint8_t* out) {
  size_t i = 0, o = 0;
  while (i < n) {
    const size_t code = enc[i++];
    const size_t len = code - 1;
    // In place, o < i: the block moves left. An empty block copies nothing, and `out` may then be
    // null (the buffer of an empty result): memmove must not see it (UB even for 0 bytes).
    if (len) std::memmove(out + o, enc + i, len);
    o += len;
    i += len;
    if (code != 0xff && i < n) out[o++] = 0;
  }
  return o;
}

}  // namespace codec
}  // namespace mcumgr
