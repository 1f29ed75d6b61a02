// `SerialPort`: opens a tty path raw 8N1 at a standard baud rate, exclusively where the driver
// allows, and hands the fd to an IoCore (serial_io.cc).
#if !defined(_WIN32)

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <string>

#include "serial_io.h"
#include "serial_termios.h"

namespace mcumgr {
namespace serial {
namespace {

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

}  // namespace

Napi::Function DefineSerialPort(Napi::Env env) { return SerialPortWrap::Define(env); }

}  // namespace serial
}  // namespace mcumgr

#endif  // !_WIN32
