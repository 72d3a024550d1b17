#ifndef CNCURSES_SHIM_H
#define CNCURSES_SHIM_H
// The wide-character API (cchar_t, setcchar, wget_wch) is only declared with this defined.
#define _XOPEN_SOURCE_EXTENDED 1
#include <ncursesw/curses.h>
#include <wchar.h>

// What Swift cannot import from ncurses: macros (attributes, key and mouse masks, getmaxyx),
// globals (stdscr, COLORS, COLOR_PAIRS) and signal handling that must be async-signal-safe.

/// Sets the locale from the environment (must precede initscr) and says whether it is UTF-8.
int rt_setlocale_is_utf8(void);

/// Starts curses on the terminal; returns 0 on success, -1 when the terminal cannot be used
/// (unknown TERM, not a terminal). Sets cbreak, noecho, keypad, no-delay reads, hidden cursor.
int rt_start(void);
/// Restores the terminal. Safe to call more than once.
void rt_stop(void);
int rt_is_started(void);

int rt_lines(void);
int rt_cols(void);

/// Colour support: 0 when the terminal has none. Otherwise starts colour with the terminal's
/// default colours available as -1, and returns COLORS.
int rt_start_color(void);
int rt_color_pairs(void);
/// Defines colour pair `pair` (extended: pair numbers and colours beyond 16 bits work).
int rt_init_pair(int pair, int fg, int bg);

/// Attribute bits for bold, dim, underline, reverse, italic flags.
attr_t rt_attrs(int bold, int dim, int underline, int reverse, int italic);

/// Writes `n` wide characters at (y, x) with attributes and colour pair.
void rt_put(int y, int x, const wchar_t *text, int n, attr_t attrs, int pair);
/// Sends what was drawn to the terminal in one write.
void rt_refresh(void);
/// Forgets what the terminal shows so the next refresh redraws everything (after a resize).
void rt_clear_screen(void);

/// Reads one key without waiting. Returns 0 when there is none, 1 for a character in *ch,
/// 2 for a key code in *ch.
int rt_read_key(int *ch);

/// Turns mouse reporting on (clicks and wheel).
void rt_enable_mouse(void);
/// After KEY_MOUSE: fills x, y and kind (1 click, 2 double click, 3 wheel up, 4 wheel down,
/// 0 other). Returns 0 when no mouse event was pending.
int rt_read_mouse(int *x, int *y, int *kind);

/// Routes SIGWINCH, and SIGINT, SIGTERM and SIGHUP when `termination` is nonzero, to a byte
/// written on `fd` (the signal number), chaining SIGWINCH to ncurses' own handler so it still
/// produces KEY_RESIZE. `termination` is 0 when someone else owns those signals (the launcher,
/// through rt_route_termination_signals) and tells the dashboard when to quit.
void rt_install_signal_pipe(int fd, int termination);
/// Puts back the handlers that were there before rt_install_signal_pipe.
void rt_restore_signals(void);
/// Routes SIGINT, SIGTERM and SIGHUP to a byte written on `fd` (the signal number), from any
/// thread: the one owner of those signals in a process that must act on them (stop its ranks).
void rt_route_termination_signals(int fd);
/// Puts back the handlers that were there before rt_route_termination_signals.
void rt_unroute_termination_signals(void);
/// On a crash signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT), restores the terminal first,
/// then lets the signal do what it would have done.
void rt_install_crash_handlers(void);

/// Updates curses' idea of the terminal size from the kernel (after SIGWINCH).
void rt_resize_from_kernel(void);

#endif
