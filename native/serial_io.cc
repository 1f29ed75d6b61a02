// Worker-safe POSIX serial I/O and PTYs.
//
// Why this exists: the `serialport` package polls its file descriptors on the default libuv loop,
// which crashes when it is used inside a worker thread. Here every port is polled on the loop of
// the thread that opened it (napi_get_uv_event_loop), and nothing is process-wide: each open port
// owns an `IoCore` that holds its fd, its poll handle, its write queue and its JS callbacks.
//
// JS surface (see `NativeAddon` in src/addon.ts):
//   new SerialPort(path, baudRate, onData, onError[, onDrain])
//   openPty() -> { fd, path }
//   new PtyHandle(fd, onData, onError[, onDrain])
//   both objects: write(data), writev([data, ...]), pending(), close(), ref(), unref(), isOpen()
//
// Reads: a uv_poll_t watches the fd; on readable every available byte is read and handed to
// onData(Buffer) synchronously on the owning thread. Writes: a non-blocking write() first; what the
// kernel does not take is queued and flushed when the fd turns writable; onDrain() runs when the
// queue empties. Asynchronous failures (EIO when the device or the PTY master vanishes, ...) close
// the port and then call onError(Error) with `code` set to the errno name.
//
// Lifetime: an open port keeps its JS object alive (a strong reference) until it is closed, like a
// socket. `close()`, an error, or the environment's teardown (a worker exiting with ports open)
// closes the fd at once and the poll handle through uv_close. Teardown uses an *async* cleanup
// hook, so Node keeps running the loop until the poll handle's close callback has run: the worker's
// loop then closes with no handle left (no abort) and nothing leaks. The `IoCore` is freed once both
// its poll handle and its JS wrapper are gone, whichever goes last.
//
// PTY master and EIO: reading a PTY master whose slave side is not open gives EIO, and poll()
// reports POLLHUP continuously, which would spin a level-triggered poll. A PtyHandle therefore keeps
// one fd of its own slave side open for its whole life (opened O_NOCTTY, never read). The master so
// never sees EIO or a hangup: a client may open, close and reopen the slave path freely, and the
// simulated device simply sees silence between clients. Should the master still report EIO (it
// cannot while that fd is open), it is treated as "no peer": the read stops for this event and is
// not reported as an error.
#include "addon.h"

#if defined(_WIN32)

void InitSerial(Napi::Env, Napi::Object) {}  // Windows: the `serialport` fallback transport is used.

#else

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>
#include <uv.h>

#include <cstddef>
#include <deque>
#include <string>
#include <vector>

namespace {

// Largest number of bytes handed to one onData call; the level-triggered poll fires again for more.
constexpr size_t kMaxReadBatch = 256 * 1024;
constexpr size_t kReadStep = 64 * 1024;

const char* ErrName(int e) {
  const char* n = uv_err_name(-e);
  return n ? n : "EUNKNOWN";
}

std::string ErrText(int e) {
  const char* s = uv_strerror(-e);
  return s ? s : "unknown error";
}

// A JS Error like Node's system errors: message, code (errno name), errno (negative), syscall, path.
Napi::Error MakeSysError(Napi::Env env, int e, const char* syscall, const std::string& path,
                         const std::string& hint = std::string()) {
  std::string msg = std::string(ErrName(e)) + ": " + ErrText(e) + ", " + syscall + " '" + path + "'";
  if (!hint.empty()) msg += " (" + hint + ")";
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("code", Napi::String::New(env, ErrName(e)));
  err.Set("errno", Napi::Number::New(env, -e));
  err.Set("syscall", Napi::String::New(env, syscall));
  err.Set("path", Napi::String::New(env, path));
  return err;
}

[[noreturn]] void ThrowSys(Napi::Env env, int e, const char* syscall, const std::string& path,
                           const std::string& hint = std::string()) {
  throw MakeSysError(env, e, syscall, path, hint);
}

bool SetCloexecNonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return false;
  int fdfl = fcntl(fd, F_GETFD);
  if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0) return false;
  return true;
}

void CloseFd(int fd) {
  if (fd < 0) return;
  // POSIX leaves the fd state unspecified after EINTR; on Linux it is closed, so do not retry.
  close(fd);
}

struct BaudEntry {
  unsigned rate;
  speed_t code;
};

const BaudEntry kBauds[] = {
    {50, B50},         {75, B75},         {110, B110},       {134, B134},       {150, B150},
    {200, B200},       {300, B300},       {600, B600},       {1200, B1200},     {1800, B1800},
    {2400, B2400},     {4800, B4800},     {9600, B9600},     {19200, B19200},   {38400, B38400},
#ifdef B57600
    {57600, B57600},
#endif
#ifdef B115200
    {115200, B115200},
#endif
#ifdef B230400
    {230400, B230400},
#endif
#ifdef B460800
    {460800, B460800},
#endif
#ifdef B500000
    {500000, B500000},
#endif
#ifdef B576000
    {576000, B576000},
#endif
#ifdef B921600
    {921600, B921600},
#endif
#ifdef B1000000
    {1000000, B1000000},
#endif
#ifdef B1152000
    {1152000, B1152000},
#endif
#ifdef B1500000
    {1500000, B1500000},
#endif
#ifdef B2000000
    {2000000, B2000000},
#endif
#ifdef B2500000
    {2500000, B2500000},
#endif
#ifdef B3000000
    {3000000, B3000000},
#endif
#ifdef B3500000
    {3500000, B3500000},
#endif
#ifdef B4000000
    {4000000, B4000000},
#endif
};

bool LookupBaud(double rate, speed_t* out) {
  for (const BaudEntry& b : kBauds) {
    if (static_cast<double>(b.rate) == rate) {
      *out = b.code;
      return true;
    }
  }
  return false;
}

std::string BaudList() {
  std::string s;
  for (const BaudEntry& b : kBauds) {
    if (!s.empty()) s += ", ";
    s += std::to_string(b.rate);
  }
  return s;
}

// Raw 8N1, no flow control, reads return at once (VMIN = VTIME = 0).
int MakeRaw(int fd, const speed_t* speed) {
  struct termios t;
  if (tcgetattr(fd, &t) != 0) return errno;
  cfmakeraw(&t);
  t.c_cflag |= CLOCAL | CREAD;
  t.c_cflag &= ~(CSIZE | PARENB | CSTOPB);
  t.c_cflag |= CS8;
#ifdef CRTSCTS
  t.c_cflag &= ~CRTSCTS;
#endif
  t.c_iflag &= ~(IXON | IXOFF | IXANY);
  t.c_cc[VMIN] = 0;
  t.c_cc[VTIME] = 0;
  if (speed && cfsetspeed(&t, *speed) != 0) return errno;
  if (tcsetattr(fd, TCSANOW, &t) != 0) return errno;
  return 0;
}

// Called while the poll reported an error or a read returned 0: is the tty hung up?
bool HungUp(int fd) {
  struct termios t;
  return tcgetattr(fd, &t) != 0 && (errno == EIO || errno == ENXIO || errno == ENODEV);
}

// One open port or PTY master. Allocated on the heap, independent of the JS wrapper's lifetime.
class IoCore {
 public:
  IoCore(napi_env env, uv_loop_t* loop, int fd, int keep_fd, bool serial, bool pty_master, std::string label)
      : env_(env), loop_(loop), fd_(fd), keep_fd_(keep_fd), serial_(serial), pty_master_(pty_master),
        label_(std::move(label)) {}

  // Starts polling, takes the JS references. Throws (after cleaning up) when libuv refuses the fd.
  void Start(Napi::Object self, Napi::Function on_data, Napi::Function on_error, Napi::Value on_drain,
             const char* resource_name) {
    Napi::Env env(env_);
    poll_ = new uv_poll_t;
    int r = uv_poll_init(loop_, poll_, fd_);
    if (r != 0) {
      delete poll_;
      poll_ = nullptr;
      CloseFds();
      closed_ = true;
      ThrowSys(env, -r, "uv_poll_init", label_);
    }
    poll_->data = this;
    poll_alive_ = true;
    events_ = UV_READABLE;
    r = uv_poll_start(poll_, events_, &IoCore::OnPoll);
    if (r != 0) {
      CloseInternal();
      ThrowSys(env, -r, "uv_poll_start", label_);
    }
    napi_create_reference(env_, self, 1, &self_ref_);
    napi_create_reference(env_, on_data, 1, &on_data_);
    napi_create_reference(env_, on_error, 1, &on_error_);
    if (on_drain.IsFunction()) napi_create_reference(env_, on_drain, 1, &on_drain_);
    napi_value name = Napi::String::New(env, resource_name);
    if (napi_async_init(env_, self, name, &async_ctx_) != napi_ok) async_ctx_ = nullptr;
    if (napi_add_async_cleanup_hook(env_, &IoCore::OnEnvTeardown, this, &hook_) != napi_ok) hook_ = nullptr;
  }

  bool closed() const { return closed_; }
  size_t pending() const { return pending_; }

  // write() from JS. Returns 0, or an errno when the kernel refused the bytes (nothing is queued).
  int Write(const uint8_t* data, size_t len) {
    if (len == 0) return 0;
    size_t done = 0;
    if (queue_.empty()) {
      while (done < len) {
        ssize_t n = ::write(fd_, data + done, len - done);
        if (n > 0) {
          done += static_cast<size_t>(n);
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return n < 0 ? errno : EIO;
      }
    }
    if (done < len) {
      queue_.emplace_back(data + done, data + len);
      pending_ += len - done;
      WantWritable(true);
    }
    return 0;
  }

  // writev() from JS: the pieces of one frame in one system call, so a frame's header and its
  // payload need not be joined first. Only what the kernel does not take is copied (to the queue).
  int WriteV(struct iovec* iov, int count) {
    int i = 0;
    if (queue_.empty()) {
      while (i < count) {
        ssize_t n = ::writev(fd_, iov + i, count - i);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) return n < 0 ? errno : EIO;
        size_t left = static_cast<size_t>(n);
        while (i < count && left >= iov[i].iov_len) left -= iov[i++].iov_len;
        if (i < count) {
          iov[i].iov_base = static_cast<uint8_t*>(iov[i].iov_base) + left;
          iov[i].iov_len -= left;
        }
      }
    }
    for (; i < count; i++) {
      int e = Write(static_cast<const uint8_t*>(iov[i].iov_base), iov[i].iov_len);
      if (e != 0) return e;
    }
    return 0;
  }

  void Ref() {
    refed_ = true;
    if (poll_) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
  }
  void Unref() {
    refed_ = false;
    if (poll_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  }

  // close() from JS: quiet, idempotent.
  void Close() {
    if (closed_) return;
    CloseInternal();
    ReleaseJs();
  }

  // The JS wrapper is being finalized.
  void DetachOwner() {
    owner_alive_ = false;
    if (!closed_) CloseInternal();  // only at env teardown: the open port holds its wrapper alive
    MaybeDelete();
  }

 private:
  ~IoCore() = default;

  void MaybeDelete() {
    if (!owner_alive_ && !poll_alive_) delete this;
  }

  void CloseFds() {
    if (fd_ >= 0) {
      if (serial_) {
#ifdef TIOCNXCL
        ioctl(fd_, TIOCNXCL);  // so the path can be reopened while another fd keeps the tty open
#endif
      }
      CloseFd(fd_);
      fd_ = -1;
    }
    if (keep_fd_ >= 0) {
      CloseFd(keep_fd_);
      keep_fd_ = -1;
    }
  }

  // Stops everything that touches the fd. Never calls into JS.
  void CloseInternal() {
    if (closed_) return;
    closed_ = true;
    if (poll_) {
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), &IoCore::OnPollClosed);
      poll_ = nullptr;  // freed in OnPollClosed
    }
    CloseFds();
    queue_.clear();
    front_off_ = 0;
    pending_ = 0;
  }

  // Drops the JS references; only on the JS thread with a live env (never during teardown).
  void ReleaseJs() {
    if (teardown_) return;
    for (napi_ref* r : {&on_data_, &on_error_, &on_drain_, &self_ref_}) {
      if (*r) {
        napi_delete_reference(env_, *r);
        *r = nullptr;
      }
    }
    if (async_ctx_) {
      napi_async_destroy(env_, async_ctx_);
      async_ctx_ = nullptr;
    }
  }

  static void OnPollClosed(uv_handle_t* h) {
    IoCore* c = static_cast<IoCore*>(h->data);
    delete reinterpret_cast<uv_poll_t*>(h);
    c->poll_alive_ = false;
    if (c->hook_) {
      napi_async_cleanup_hook_handle hook = c->hook_;
      c->hook_ = nullptr;
      napi_remove_async_cleanup_hook(hook);
    }
    c->MaybeDelete();
  }

  static void OnEnvTeardown(napi_async_cleanup_hook_handle handle, void* arg) {
    IoCore* c = static_cast<IoCore*>(arg);
    c->teardown_ = true;
    if (!c->closed_) {
      c->CloseInternal();  // OnPollClosed removes the hook, which lets the teardown go on
    } else if (!c->poll_alive_) {
      // Cannot happen (the hook is removed when the poll handle closes), but never leave Node waiting.
      c->hook_ = nullptr;
      napi_remove_async_cleanup_hook(handle);
    }
  }

  void WantWritable(bool on) {
    if (!poll_) return;
    int ev = on ? (UV_READABLE | UV_WRITABLE) : UV_READABLE;
    if (ev == events_) return;
    events_ = ev;
    uv_poll_start(poll_, events_, &IoCore::OnPoll);
  }

  static void OnPoll(uv_poll_t* h, int status, int events) {
    IoCore* c = static_cast<IoCore*>(h->data);
    if (c->closed_) return;
    Napi::HandleScope scope(Napi::Env(c->env_));
    if (status < 0) {
      // libuv reports POLLERR as EBADF; a hung-up tty (device unplugged, PTY master closed) is EIO.
      int e = -status;
      if (c->fd_ >= 0 && HungUp(c->fd_)) e = EIO;
      if (c->pty_master_ && e == EIO) return;  // no peer (see the top of the file)
      c->Fail(e, "poll", e == EIO ? "the device is gone" : "");
      return;
    }
    if (events & UV_WRITABLE) {
      int e = c->Flush();
      if (e != 0) {
        c->Fail(e, "write", e == EIO ? "the device is gone" : "");
        return;
      }
      if (c->queue_.empty()) {
        c->WantWritable(false);
        c->CallDrain();
        if (c->closed_) return;
      }
    }
    if (events & (UV_READABLE | UV_DISCONNECT)) c->ReadAll();
  }

  // Writes queued bytes until the kernel stops taking them. Returns 0 or an errno.
  int Flush() {
    while (!queue_.empty()) {
      std::vector<uint8_t>& front = queue_.front();
      ssize_t n = ::write(fd_, front.data() + front_off_, front.size() - front_off_);
      if (n > 0) {
        front_off_ += static_cast<size_t>(n);
        pending_ -= static_cast<size_t>(n);
        if (front_off_ == front.size()) {
          queue_.pop_front();
          front_off_ = 0;
        }
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
      return n < 0 ? errno : EIO;
    }
    return 0;
  }

  void ReadAll() {
    // The common case is one short read: it goes straight from the scratch buffer into the JS
    // Buffer. Only when the scratch fills do the bytes gather in `acc`, up to kMaxReadBatch.
    if (scratch_.empty()) scratch_.resize(kReadStep);
    std::vector<uint8_t> acc;
    size_t have = 0;  // bytes in scratch_ not yet moved to acc
    int err = 0;
    bool eof = false;
    while (acc.size() + have < kMaxReadBatch) {
      if (have == scratch_.size()) {
        acc.insert(acc.end(), scratch_.begin(), scratch_.end());
        have = 0;
      }
      ssize_t n = ::read(fd_, scratch_.data() + have, scratch_.size() - have);
      if (n > 0) {
        have += static_cast<size_t>(n);
        continue;
      }
      if (n == 0) {
        eof = true;
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      err = errno;
      break;
    }
    size_t total = acc.size() + have;
    if (total > 0) {
      if (acc.empty()) {
        CallData(scratch_.data(), have);
      } else {
        acc.insert(acc.end(), scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(have));
        CallData(acc.data(), acc.size());
      }
      if (closed_) return;
    }
    if (err == EIO && pty_master_) return;  // no peer (see the top of the file)
    if (err == 0 && eof && total == 0 && HungUp(fd_)) err = EIO;  // VMIN=0: 0 is "no data" unless hung up
    if (err != 0) Fail(err, "read", err == EIO ? "the device is gone" : "");
  }

  // Calls a JS callback the way Node calls event listeners: with the async context, running
  // microtasks afterwards, and routing a throw to 'uncaughtException'.
  void Call(napi_ref fn_ref, size_t argc, const napi_value* argv) {
    if (!fn_ref || teardown_) return;
    napi_value fn, recv;
    if (napi_get_reference_value(env_, fn_ref, &fn) != napi_ok || fn == nullptr) return;
    if (!self_ref_ || napi_get_reference_value(env_, self_ref_, &recv) != napi_ok || recv == nullptr) {
      napi_get_undefined(env_, &recv);
    }
    napi_value result;
    napi_status st = napi_make_callback(env_, async_ctx_, recv, fn, argc, argv, &result);
    if (st != napi_ok) {
      // A listener threw: report it like an exception thrown from an event listener. While the
      // env is stopping (worker terminate, process.exit) JS cannot run and nothing is pending.
      bool pending = false;
      napi_value exc;
      if (napi_is_exception_pending(env_, &pending) == napi_ok && pending &&
          napi_get_and_clear_last_exception(env_, &exc) == napi_ok) {
        napi_fatal_exception(env_, exc);
      }
    }
  }

  void CallData(const uint8_t* data, size_t len) {
    napi_value buf;
    void* copy;
    if (napi_create_buffer_copy(env_, len, data, &copy, &buf) != napi_ok) return;
    Call(on_data_, 1, &buf);
  }

  void CallDrain() { Call(on_drain_, 0, nullptr); }

  // An asynchronous failure: close first, then tell JS, then drop the references.
  void Fail(int e, const char* syscall, const std::string& hint) {
    if (closed_) return;
    Napi::Env env(env_);
    napi_value err = MakeSysError(env, e, syscall, label_, hint).Value();
    CloseInternal();
    Call(on_error_, 1, &err);
    ReleaseJs();
  }

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

uv_loop_t* LoopOf(Napi::Env env) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    throw Napi::Error::New(env, "no libuv event loop for this thread");
  }
  return loop;
}

Napi::Function CallbackArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
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
    struct iovec iov[kMaxWriteV];
    for (uint32_t k = 0; k < count; k++) {
      Napi::Value v = list.Get(k);
      if (!v.IsTypedArray()) throw Napi::TypeError::New(env, "writev(list): every piece must be a Buffer or Uint8Array");
      Napi::TypedArray ta = v.As<Napi::TypedArray>();
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

class SerialPortWrap : public FdWrap<SerialPortWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SerialPort", Methods());
  }

  explicit SerialPortWrap(const Napi::CallbackInfo& info) : FdWrap<SerialPortWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "path must be a string");
    std::string path = info[0].As<Napi::String>().Utf8Value();
    if (path.empty() || path.find('\0') != std::string::npos) {
      throw Napi::TypeError::New(env, "path must be a non-empty string");
    }
    if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(env, "baudRate must be a number");
    double rate = info[1].As<Napi::Number>().DoubleValue();
    speed_t speed;
    if (!LookupBaud(rate, &speed)) {
      Napi::Number n = Napi::Number::New(env, rate);
      throw Napi::RangeError::New(env, "baudRate " + n.ToString().Utf8Value() +
                                           " is not a supported standard rate; use one of " + BaudList());
    }
    CallbackArg(info, 2, "onData");
    CallbackArg(info, 3, "onError");
    uv_loop_t* loop = LoopOf(env);
    label_ = path;

    int fd;
    do {
      fd = open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      int e = errno;
      ThrowSys(env, e, "open", path,
               e == EBUSY ? "the port is open elsewhere" : e == EACCES ? "no permission: is the user in the dialout group?" : "");
    }
    if (!isatty(fd)) {
      CloseFd(fd);
      ThrowSys(env, ENOTTY, "open", path, "not a serial port");
    }
    int e = MakeRaw(fd, &speed);
    if (e != 0) {
      CloseFd(fd);
      ThrowSys(env, e, "tcsetattr", path);
    }
#ifdef TIOCEXCL
    if (ioctl(fd, TIOCEXCL) != 0) {
      int x = errno;
      // PTYs and some drivers refuse or ignore it; exclusivity is best effort there.
      if (x != ENOTTY && x != EINVAL && x != ENOSYS && x != EPERM) {
        CloseFd(fd);
        ThrowSys(env, x, "ioctl(TIOCEXCL)", path);
      }
    }
#endif
    tcflush(fd, TCIOFLUSH);  // drop stale input a previous session left behind
    IoCore* core = new IoCore(env, loop, fd, -1, /*serial=*/true, /*pty_master=*/false, path);
    Adopt(info, core, 2, "mcumgr:SerialPort");
  }
};

class PtyHandleWrap : public FdWrap<PtyHandleWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PtyHandle", Methods());
  }

  explicit PtyHandleWrap(const Napi::CallbackInfo& info) : FdWrap<PtyHandleWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "fd must be a number");
    double fdv = info[0].As<Napi::Number>().DoubleValue();
    if (!(fdv >= 0 && fdv <= 0x7fffffff) || fdv != static_cast<double>(static_cast<int>(fdv))) {
      throw Napi::RangeError::New(env, "fd must be a non-negative integer");
    }
    CallbackArg(info, 1, "onData");
    CallbackArg(info, 2, "onError");
    uv_loop_t* loop = LoopOf(env);
    int fd = static_cast<int>(fdv);
    std::string slave;
    int e = SlaveName(fd, &slave);
    if (e != 0) ThrowSys(env, e, "ptsname", "fd " + std::to_string(fd), "fd must be a PTY master from openPty()");
    label_ = slave;
    if (!SetCloexecNonblock(fd)) ThrowSys(env, errno, "fcntl", slave);
    // Keep one slave fd open for the handle's life: the master then never reads EIO (no peer).
    int keep;
    do {
      keep = open(slave.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    } while (keep < 0 && errno == EINTR);
    if (keep < 0) ThrowSys(env, errno, "open", slave);
    e = MakeRaw(keep, nullptr);
    if (e != 0) {
      CloseFd(keep);
      ThrowSys(env, e, "tcsetattr", slave);
    }
    IoCore* core = new IoCore(env, loop, fd, keep, /*serial=*/false, /*pty_master=*/true, slave);
    Adopt(info, core, 1, "mcumgr:PtyHandle");
  }

  static int SlaveName(int fd, std::string* out) {
#if defined(__linux__)
    char buf[128];
    int r = ptsname_r(fd, buf, sizeof buf);
    if (r != 0) return r;
    *out = buf;
    return 0;
#elif defined(__APPLE__) && defined(TIOCPTYGNAME)
    char buf[128];
    if (ioctl(fd, TIOCPTYGNAME, buf) != 0) return errno;
    *out = buf;
    return 0;
#else
    const char* n = ptsname(fd);  // not thread-safe on these platforms
    if (!n) return errno ? errno : ENOTTY;
    *out = n;
    return 0;
#endif
  }
};

// openPty() -> { fd, path }: a new PTY master (raw, non-blocking, close-on-exec) and its slave path.
Napi::Value OpenPty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) ThrowSys(env, errno, "posix_openpt", "/dev/ptmx");
  auto fail = [&](int e, const char* syscall) {
    CloseFd(fd);
    ThrowSys(env, e, syscall, "/dev/ptmx");
  };
  if (!SetCloexecNonblock(fd)) fail(errno, "fcntl");
  if (grantpt(fd) != 0) fail(errno, "grantpt");
  if (unlockpt(fd) != 0) fail(errno, "unlockpt");
  std::string slave;
  int e = PtyHandleWrap::SlaveName(fd, &slave);
  if (e != 0) fail(e, "ptsname");
  // termios requests on a master act on its slave: raw, 8N1, no echo, before any client opens it.
  e = MakeRaw(fd, nullptr);
  if (e != 0) fail(e, "tcsetattr");
  Napi::Object out = Napi::Object::New(env);
  out.Set("fd", Napi::Number::New(env, fd));
  out.Set("path", Napi::String::New(env, slave));
  return out;
}

}  // namespace

void InitSerial(Napi::Env env, Napi::Object exports) {
  exports.Set("SerialPort", SerialPortWrap::Define(env));
  exports.Set("PtyHandle", PtyHandleWrap::Define(env));
  exports.Set("openPty", Napi::Function::New(env, OpenPty, "openPty"));
}

#endif  // !_WIN32
