// Registration hooks of the addon's parts. Each part keeps its state in its own objects or in
// per-instance data: the addon loads in several worker threads at once, so nothing is global.
#pragma once
#include <napi.h>

void InitCodec(Napi::Env env, Napi::Object exports);   // crc16, base64, console, cobs, raw
void InitSerial(Napi::Env env, Napi::Object exports);  // SerialPort, openPty, PtyHandle
