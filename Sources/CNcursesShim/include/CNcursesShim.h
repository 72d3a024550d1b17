#ifndef CNCURSES_SHIM_H
#define CNCURSES_SHIM_H
// The wide-character API (cchar_t, setcchar, wget_wch) is only declared with this defined.
#define _XOPEN_SOURCE_EXTENDED 1
#include <ncursesw/curses.h>
#endif
