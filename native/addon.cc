#include "addon.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitCodec(env, exports);
  InitSerial(env, exports);
  return exports;
}

NODE_API_MODULE(mcumgr_native, Init)
