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

#include "serial_io.h"

#include <errno.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "serial_termios.h"

namespace mcumgr {
namespace serial {
namespace {

// Largest number of bytes handed to one onData call; the level-triggered poll fires again for more.
constexpr size_t kMaxReadBatch = 256 * 1024;
constexpr size_t kReadStep = 64 * 1024;

}  // namespace

void IoCore::Start(Napi::Object self, Napi::Function on_data, Napi::Function on_error, Napi::Value on_drain,
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

int IoCore::Write(const uint8_t* data, size_t len) {
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
int IoCore::WriteV(struct iovec* iov, int count) {
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

void IoCore::Ref() {
  refed_ = true;
  if (poll_) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
}

void IoCore::Unref() {
  refed_ = false;
  if (poll_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
}

void IoCore::Close() {
  if (closed_) return;
  CloseInternal();
  ReleaseJs();
}

void IoCore::DetachOwner() {
  owner_alive_ = false;
  if (!closed_) CloseInternal();  // only at env teardown: the open port holds its wrapper alive
  MaybeDelete();
}

void IoCore::CloseFds() {
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

void IoCore::CloseInternal() {
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

void IoCore::ReleaseJs() {
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

void IoCore::OnPollClosed(uv_handle_t* h) {
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

void IoCore::OnEnvTeardown(napi_async_cleanup_hook_handle handle, void* arg) {
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

void IoCore::WantWritable(bool on) {
  if (!poll_) return;
  int ev = on ? (UV_READABLE | UV_WRITABLE) : UV_READABLE;
  if (ev == events_) return;
  events_ = ev;
  uv_poll_start(poll_, events_, &IoCore::OnPoll);
}

void IoCore::OnPoll(uv_poll_t* h, int status, int events) {
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

int IoCore::Flush() {
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

void IoCore::ReadAll() {
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

void IoCore::Call(napi_ref fn_ref, size_t argc, const napi_value* argv) {
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

void IoCore::CallData(const uint8_t* data, size_t len) {
  napi_value buf;
  void* copy;
  if (napi_create_buffer_copy(env_, len, data, &copy, &buf) != napi_ok) return;
  Call(on_data_, 1, &buf);
}

void IoCore::Fail(int e, const char* syscall, const std::string& hint) {
  if (closed_) return;
  Napi::Env env(env_);
  napi_value err = MakeSysError(env, e, syscall, label_, hint).Value();
  CloseInternal();
  Call(on_error_, 1, &err);
  ReleaseJs();
}

}  // namespace serial
}  // namespace mcumgr

void InitSerial(Napi::Env env, Napi::Object exports) {
  using namespace mcumgr::serial;
  exports.Set("SerialPort", DefineSerialPort(env));
  exports.Set("PtyHandle", DefinePtyHandle(env));
  exports.Set("openPty", Napi::Function::New(env, OpenPty, "openPty"));
}

#endif  // !_WIN32
