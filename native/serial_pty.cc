// PTYs for the simulated device: `openPty()` makes a raw master and `PtyHandle` polls it through an
// IoCore (serial_io.cc), keeping one slave fd open so the master never reads EIO.
#if !defined(_WIN32)

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <string>

#include "serial_io.h"
#include "serial_termios.h"

namespace mcumgr {
namespace serial {
namespace {

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

}  // namespace

Napi::Function DefinePtyHandle(Napi::Env env) { return PtyHandleWrap::Define(env); }

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

}  // namespace serial
}  // namespace mcumgr

#endif  // !_WIN32
