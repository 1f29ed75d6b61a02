// The I/O core shared by SerialPort and PtyHandle: one open fd polled on the owning thread's loop
// (IoCore), and the JS methods both classes expose (FdWrap). See serial_io.cc for the design.
#pragma once
#include <napi.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <sys/uio.h>

#include "serial_sys.h"

namespace mcumgr {
namespace serial {

// One open port or PTY master. Allocated on the heap, independent of the JS wrapper's lifetime.
class IoCore {
 public:
  IoCore(napi_env env, uv_loop_t* loop, int fd, int keep_fd, bool serial, bool pty_master, std::string label)
      : env_(env), loop_(loop), fd_(fd), keep_fd_(keep_fd), serial_(serial), pty_master_(pty_master),
        label_(std::move(label)) {}

  // Starts polling, takes the JS references. Throws (after cleaning up) when libuv refuses the fd.
  void Start(Napi::Object self, Napi::Function on_data, Napi::Function on_error, Napi::Value on_drain,
             const char* resource_name);

  bool closed() const { return closed_; }
  size_t pending() const { return pending_; }

  // write() from JS. Returns 0, or an errno when the kernel refused the bytes (nothing is queued).
  int Write(const uint8_t* data, size_t len);

  // writev() from JS: one system call for the pieces of a frame; what the kernel leaves is queued.
  // `iov` is modified (advanced past what was written).
  int WriteV(struct iovec* iov, int count);

  void Ref();
  void Unref();

  // close() from JS: quiet, idempotent.
  void Close();

  // The JS wrapper is being finalized.
  void DetachOwner();

 private:
  ~IoCore() = default;

  void MaybeDelete() {
    if (!owner_alive_ && !poll_alive_) delete this;
  }

  void CloseFds();

  // Stops everything that touches the fd. Never calls into JS.
  void CloseInternal();

  // Drops the JS references; only on the JS thread with a live env (never during teardown).
  void ReleaseJs();

  static void OnPollClosed(uv_handle_t* h);

  static void OnEnvTeardown(napi_async_cleanup_hook_handle handle, void* arg);

  void WantWritable(bool on);

  static void OnPoll(uv_poll_t* h, int status, int events);

  // Writes queued bytes until the kernel stops taking them. Returns 0 or an errno.
  int Flush();

  void ReadAll();

  // Calls a JS callback the way Node calls event listeners: with the async context, running
  // microtasks afterwards, and routing a throw to 'uncaughtException'.
  void Call(napi_ref fn_ref, size_t argc, const napi_value* argv);

  void CallData(const uint8_t* data, size_t len);

  void CallDrain() { Call(on_drain_, 0, nullptr); }

  // An asynchronous failure: close first, then tell JS, then drop the references.
  void Fail(int e, const char* syscall, const std::string& hint);

  napi_env env_;
  uv_loop_t* loop_;
  int fd_;
  int keep_fd_;
  const bool serial_;
  const bool pty_master_;
  const std::string label_;
  uv_poll_t* poll_ = nullptr;
  bool poll_alive_ = false;
  bool owner_alive_ = true;
  bool closed_ = false;
  bool teardown_ = false;
  bool refed_ = true;
  int events_ = 0;
  std::deque<std::vector<uint8_t>> queue_;
  std::vector<uint8_t> scratch_;
  size_t front_off_ = 0;
  size_t pending_ = 0;
  napi_ref self_ref_ = nullptr;
  napi_ref on_data_ = nullptr;
  napi_ref on_error_ = nullptr;
  napi_ref on_drain_ = nullptr;
  napi_async_context async_ctx_ = nullptr;
  napi_async_cleanup_hook_handle hook_ = nullptr;
};

inline uv_loop_t* LoopOf(Napi::Env env) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    throw Napi::Error::New(env, "no libuv event loop for this thread");
  }
  return loop;
}

inline Napi::Function CallbackArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsFunction()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a function");
  }
  return info[i].As<Napi::Function>();
}

// Shared JS methods of SerialPort and PtyHandle.
template <typename T>
class FdWrap : public Napi::ObjectWrap<T> {
 public:
  explicit FdWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<T>(info) {}
  ~FdWrap() override {
    if (core_) core_->DetachOwner();
  }

  static std::vector<typename Napi::ObjectWrap<T>::PropertyDescriptor> Methods() {
    return {
        Napi::ObjectWrap<T>::InstanceMethod("write", &FdWrap::Write),
        Napi::ObjectWrap<T>::InstanceMethod("writev", &FdWrap::WriteV),
        Napi::ObjectWrap<T>::InstanceMethod("pending", &FdWrap::Pending),
        Napi::ObjectWrap<T>::InstanceMethod("close", &FdWrap::Close),
        Napi::ObjectWrap<T>::InstanceMethod("ref", &FdWrap::RefPoll),
        Napi::ObjectWrap<T>::InstanceMethod("unref", &FdWrap::UnrefPoll),
        Napi::ObjectWrap<T>::InstanceMethod("isOpen", &FdWrap::IsOpen),
    };
  }

 protected:
  void Adopt(const Napi::CallbackInfo& info, IoCore* core, size_t cb_index, const char* resource) {
    Napi::Function on_data = CallbackArg(info, cb_index, "onData");
    Napi::Function on_error = CallbackArg(info, cb_index + 1, "onError");
    Napi::Value on_drain = info.Length() > cb_index + 2 ? info[cb_index + 2] : info.Env().Undefined();
    if (!on_drain.IsUndefined() && !on_drain.IsNull() && !on_drain.IsFunction()) {
      core->DetachOwner();
      throw Napi::TypeError::New(info.Env(), "onDrain must be a function when given");
    }
    core_ = core;
    core_->Start(info.This().As<Napi::Object>(), on_data, on_error, on_drain, resource);
  }

  std::string label_;

 private:
  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray()) {
      throw Napi::TypeError::New(env, "write(data): data must be a Buffer or Uint8Array");
    }
    if (!core_ || core_->closed()) {
      Napi::Error e = Napi::Error::New(env, "write after close: '" + label_ + "' is closed");
      e.Set("code", Napi::String::New(env, "ERR_CLOSED"));
      throw e;
    }
    Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
    Napi::ArrayBuffer ab = ta.ArrayBuffer();
    const uint8_t* p = static_cast<const uint8_t*>(ab.Data()) + ta.ByteOffset();
    int e = core_->Write(p, ta.ByteLength());
    if (e != 0) ThrowSys(env, e, "write", label_, e == EIO ? "the device is gone" : "");
    return env.Undefined();
  }
  Napi::Value WriteV(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) {
      throw Napi::TypeError::New(env, "writev(list): list must be an array of Buffers or Uint8Arrays");
    }
    Napi::Array list = info[0].As<Napi::Array>();
    uint32_t count = list.Length();
    if (count > kMaxWriteV) throw Napi::RangeError::New(env, "writev(list): at most 64 pieces");
    // Every element first: reading one may run JavaScript (a getter) that detaches or shrinks
    // another piece, so the pointers are taken only once no JavaScript can run before the write.
    Napi::Value values[kMaxWriteV];
    for (uint32_t k = 0; k < count; k++) values[k] = list.Get(k);
    struct iovec iov[kMaxWriteV];
    for (uint32_t k = 0; k < count; k++) {
      if (!values[k].IsTypedArray()) throw Napi::TypeError::New(env, "writev(list): every piece must be a Buffer or Uint8Array");
      Napi::TypedArray ta = values[k].As<Napi::TypedArray>();
      iov[k].iov_base = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      iov[k].iov_len = ta.ByteLength();
    }
    if (!core_ || core_->closed()) {
      Napi::Error e = Napi::Error::New(env, "write after close: '" + label_ + "' is closed");
      e.Set("code", Napi::String::New(env, "ERR_CLOSED"));
      throw e;
    }
    int e = core_->WriteV(iov, static_cast<int>(count));
    if (e != 0) ThrowSys(env, e, "writev", label_, e == EIO ? "the device is gone" : "");
    return env.Undefined();
  }
  static constexpr uint32_t kMaxWriteV = 64;
  Napi::Value Pending(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), core_ ? static_cast<double>(core_->pending()) : 0);
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (core_) core_->Close();
    return info.Env().Undefined();
  }
  Napi::Value RefPoll(const Napi::CallbackInfo& info) {
    if (core_) core_->Ref();
    return info.Env().Undefined();
  }
  Napi::Value UnrefPoll(const Napi::CallbackInfo& info) {
    if (core_) core_->Unref();
    return info.Env().Undefined();
  }
  Napi::Value IsOpen(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), core_ && !core_->closed());
  }

  IoCore* core_ = nullptr;
};

// The classes and function the serial part exports (serial_port.cc, serial_pty.cc).
Napi::Function DefineSerialPort(Napi::Env env);
Napi::Function DefinePtyHandle(Napi::Env env);
Napi::Value OpenPty(const Napi::CallbackInfo& info);

}  // namespace serial
}  // namespace mcumgr
