// Strict RFC 4648 base64 (standard alphabet, '=' padding). Twin of src/codec/base64.ts: the
// decoder refuses a length that is not a multiple of 4, characters outside the alphabet and
// padding anywhere but the end; it accepts non-zero bits under the padding, as Zephyr does.
// Encoding maps 12 bits to two characters with one table look-up; decoding ORs four pre-shifted
// table entries per group, where an invalid character sets a bit above the 24 data bits.
#include "codec.h"

#include <cstring>

namespace mcumgr {
namespace codec {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr uint32_t kBad = 0xff000000u;

struct EncTable {
  uint8_t pair[4096][2];
};

constexpr EncTable MakeEncTable() {
  EncTable t{};
  for (int i = 0; i < 4096; i++) {
    t.pair[i][0] = static_cast<uint8_t>(kAlphabet[i >> 6]);
    t.pair[i][1] = static_cast<uint8_t>(kAlphabet[i & 63]);
  }
  return t;
}

struct DecTables {
  uint32_t d[4][256];  // d[k][c] = value of c shifted to group position k, or kBad
};

constexpr DecTables MakeDecTables() {
  DecTables t{};
  for (int k = 0; k < 4; k++)
    for (int c = 0; c < 256; c++) t.d[k][c] = kBad;
  for (int v = 0; v < 64; v++) {
    const int c = static_cast<uint8_t>(kAlphabet[v]);
    t.d[0][c] = static_cast<uint32_t>(v) << 18;
    t.d[1][c] = static_cast<uint32_t>(v) << 12;
    t.d[2][c] = static_cast<uint32_t>(v) << 6;
    t.d[3][c] = static_cast<uint32_t>(v);
  }
  return t;
}

constexpr EncTable kEnc = MakeEncTable();
constexpr DecTables kDec = MakeDecTables();

inline void Put2(uint8_t* out, uint32_t twelveBits) {
  out[0] = kEnc.pair[twelveBits][0];
  out[1] = kEnc.pair[twelveBits][1];
}

napi_value Base64EncodeJs(napi_env env, napi_callback_info info) {
  Args<1> a;
  Bytes in;
  if (!a.Read(env, info) || !GetBytes(env, a.argv[0], "data", &in)) return nullptr;
  uint8_t* out;
  napi_value buf = PoolOf(a.data)->Alloc(env, Base64Length(in.size), &out);
  if (buf != nullptr) Base64Encode(in.data, in.size, out);
  return buf;
}

napi_value Base64DecodeJs(napi_env env, napi_callback_info info) {
  Args<1> a;
  Bytes text;
  if (!a.Read(env, info) || !GetBytes(env, a.argv[0], "text", &text)) return nullptr;
  napi_value result;
  if (text.size % 4 != 0) return napi_get_null(env, &result) == napi_ok ? result : nullptr;
  uint8_t* out;
  napi_value buf = PoolOf(a.data)->Alloc(env, text.size ? Base64DecodedLength(text.data, text.size) : 0, &out);
  if (buf == nullptr) return nullptr;
  if (text.size && !Base64Decode(text.data, text.size, out)) return napi_get_null(env, &result) == napi_ok ? result : nullptr;
  return buf;
}

}  // namespace

size_t Base64Encode(const uint8_t* in, size_t n, uint8_t* out) {
  uint8_t* o = out;
  size_t i = 0;
  for (; i + 3 <= n; i += 3, o += 4) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    Put2(o, v >> 12);
    Put2(o + 2, v & 0xfff);
  }
  const size_t rest = n - i;
  if (rest == 1) {
    const uint32_t v = uint32_t{in[i]} << 16;
    Put2(o, v >> 12);
    o[2] = '=';
    o[3] = '=';
    o += 4;
  } else if (rest == 2) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
    Put2(o, v >> 12);
    o[2] = static_cast<uint8_t>(kAlphabet[(v >> 6) & 63]);
    o[3] = '=';
    o += 4;
  }
  return static_cast<size_t>(o - out);
}

size_t Base64DecodedLength(const uint8_t* text, size_t n) {
  if (n == 0) return 0;
  size_t pad = 0;
  if (text[n - 1] == '=') pad = text[n - 2] == '=' ? 2 : 1;
  return n / 4 * 3 - pad;
}

bool Base64Decode(const uint8_t* text, size_t n, uint8_t* out) {
  if (n % 4 != 0) return false;
  if (n == 0) return true;
  size_t pad = 0;
  if (text[n - 1] == '=') pad = text[n - 2] == '=' ? 2 : 1;
  const size_t full = pad ? n - 4 : n;
  const auto& d = kDec.d;
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
  return (bad & kBad) == 0;
}

void InitBase64(Napi::Env env, Napi::Object exports, BufferPool* pool) {
  DefineFunction(env, exports, "base64Encode", Base64EncodeJs, pool);
  DefineFunction(env, exports, "base64Decode", Base64DecodeJs, pool);
}

}  // namespace codec
}  // namespace mcumgr
