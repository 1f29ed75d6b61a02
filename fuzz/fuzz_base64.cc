// libFuzzer target: strict base64 (PROTOCOL.md §4.1) and CRC-16/XMODEM. The input is taken both as
// base64 text and as raw bytes. Checks: Base64Decode accepts exactly what the reference accepts
// and gives the same bytes, in place too; valid text re-encodes to itself except for the bits under
// the padding, and decodes again to the same bytes; encoding the input gives
// Base64Length(n) alphabet characters that decode back to it; Crc16 equals a bitwise CRC, is
// continuable at any split, and a packet followed by its big-endian CRC checks to 0.
#include "fuzz_common.h"

using namespace mcumgr::codec;
using namespace fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // --- as text
  const Bytes text(data, data + size);
  Bytes ref;
  const bool refOk = RefBase64Decode(text.data(), size, &ref);
  bool ok = false;
  Bytes out;
  if (size % 4 == 0) {
    out.resize(Base64DecodedLength(text.data(), size));
    ok = Base64Decode(text.data(), size, out.data());
  } else {
    FUZZ_CHECK(!Base64Decode(text.data(), size, nullptr), "text of %zu characters accepted", size);
  }
  FUZZ_CHECK(ok == refOk, "Base64Decode says %d, reference %d (%zu characters)", ok, refOk, size);
  if (ok) {
    FUZZ_CHECK(out == ref, "decoded bytes differ from the reference");
    Bytes inPlace(text);
    FUZZ_CHECK(Base64Decode(inPlace.data(), size, inPlace.data()), "in-place decode refused valid text");
    FUZZ_CHECK(std::equal(out.begin(), out.end(), inPlace.begin()), "in-place decode differs");
    Bytes enc(Base64Length(out.size()));
    FUZZ_CHECK(Base64Encode(out.data(), out.size(), enc.data()) == enc.size() && enc.size() == size, "re-encoded length");
    const size_t pad = size && text[size - 1] == '=' ? (text[size - 2] == '=' ? 2 : 1) : 0;
    for (size_t i = 0; i < size; i++) {
      // The last character before the padding may carry non-zero bits the decoder ignores.
      if (pad && i == size - 1 - pad) continue;
      FUZZ_CHECK(enc[i] == text[i], "re-encoded text differs at %zu", i);
    }
    Bytes again;
    FUZZ_CHECK(RefBase64Decode(enc.data(), enc.size(), &again) && again == out, "re-encoded text decodes differently");
  }
  // --- as bytes
  Bytes enc(Base64Length(size));
  FUZZ_CHECK(Base64Encode(data, size, enc.data()) == enc.size(), "encoded length");
  for (size_t i = 0; i < enc.size(); i++) FUZZ_CHECK(RefB64Value(enc[i]) != 255, "non-alphabet character in output");
  Bytes back(Base64DecodedLength(enc.data(), enc.size()));
  FUZZ_CHECK(back.size() == size && Base64Decode(enc.data(), enc.size(), back.data()) && back == Bytes(data, data + size), "base64 round trip of %zu bytes", size);
  // --- CRC
  const uint16_t crc = Crc16(data, size, 0);
  FUZZ_CHECK(crc == RefCrc16(data, size), "Crc16 differs from the bitwise CRC");
  const size_t cut = size ? data[0] % (size + 1) : 0;
  FUZZ_CHECK(Crc16(data + cut, size - cut, Crc16(data, cut, 0)) == crc, "Crc16 not continuable at %zu", cut);
  Bytes withCrc(data, data + size);
  withCrc.push_back(uint8_t(crc >> 8));
  withCrc.push_back(uint8_t(crc));
  FUZZ_CHECK(Crc16(withCrc.data(), withCrc.size(), 0) == 0, "packet + CRC does not check to 0");
  return 0;
}
