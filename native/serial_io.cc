// Placeholder until the worker-safe serial I/O lands: registers nothing.
#include "addon.h"

void InitSerial(Napi::Env, Napi::Object) {}
