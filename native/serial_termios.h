// Raw-mode termios and the table of standard baud rates, for serial ports and PTYs.
#pragma once
#include <termios.h>

#include <string>

namespace mcumgr {
namespace serial {

// The termios speed code of a standard `rate`; false when the rate is not one of the table's.
bool LookupBaud(double rate, speed_t* out);

// The supported rates as "50, 75, ...", for the error that names them.
std::string BaudList();

// Raw 8N1, no flow control, reads return at once (VMIN = VTIME = 0); `speed` may be null (a PTY).
// Returns 0 or an errno.
int MakeRaw(int fd, const speed_t* speed);

// Called while the poll reported an error or a read returned 0: is the tty hung up?
bool HungUp(int fd);

}  // namespace serial
}  // namespace mcumgr
