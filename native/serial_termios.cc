// Raw-mode termios and the table of standard baud rates (see serial_termios.h).
#if !defined(_WIN32)

#include "serial_termios.h"

#include <errno.h>

namespace mcumgr {
namespace serial {
namespace {

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

}  // namespace

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

bool HungUp(int fd) {
  struct termios t;
  return tcgetattr(fd, &t) != 0 && (errno == EIO || errno == ENXIO || errno == ENODEV);
}

}  // namespace serial
}  // namespace mcumgr

#endif  // !_WIN32
