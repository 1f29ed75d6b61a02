// Small POSIX helpers shared by the serial part of the addon: errno values as JS errors shaped like
// Node's system errors, and fd flags. POSIX only (the serial part is compiled out on Windows).
#pragma once
#include <errno.h>
#include <fcntl.h>
#include <napi.h>
#include <unistd.h>
#include <uv.h>

#include <string>

namespace mcumgr {
namespace serial {

inline const char* ErrName(int e) {
  const char* n = uv_err_name(-e);
  return n ? n : "EUNKNOWN";
}

inline std::string ErrText(int e) {
  const char* s = uv_strerror(-e);
  return s ? s : "unknown error";
}

// A JS Error like Node's system errors: message, code (errno name), errno (negative), syscall, path.
inline Napi::Error MakeSysError(Napi::Env env, int e, const char* syscall, const std::string& path,
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

[[noreturn]] inline void ThrowSys(Napi::Env env, int e, const char* syscall, const std::string& path,
                                  const std::string& hint = std::string()) {
  throw MakeSysError(env, e, syscall, path, hint);
}

inline bool SetCloexecNonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return false;
  int fdfl = fcntl(fd, F_GETFD);
  if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0) return false;
  return true;
}

inline void CloseFd(int fd) {
  if (fd < 0) return;
  // POSIX leaves the fd state unspecified after EINTR; on Linux it is closed, so do not retry.
  close(fd);
}

}  // namespace serial
}  // namespace mcumgr
