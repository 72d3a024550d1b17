#include "CNcursesShim.h"
#include <locale.h>
#include <langinfo.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <sys/ioctl.h>

static SCREEN *rt_screen = NULL;
static volatile sig_atomic_t rt_started = 0;

int rt_setlocale_is_utf8(void) {
    setlocale(LC_ALL, "");
    const char *codeset = nl_langinfo(CODESET);
    return codeset != NULL && (strcmp(codeset, "UTF-8") == 0 || strcmp(codeset, "utf8") == 0);
}

int rt_start(void) {
    if (rt_started) return 0;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) return -1;
    // newterm, unlike initscr, returns NULL instead of exiting when TERM is unusable.
    rt_screen = newterm(NULL, stdout, stdin);
    if (rt_screen == NULL) return -1;
    set_term(rt_screen);
    rt_started = 1;
    cbreak();
    noecho();
    nonl();
    intrflush(stdscr, FALSE);
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    leaveok(stdscr, TRUE);
    scrollok(stdscr, FALSE);
    curs_set(0);
    set_escdelay(25);
    return 0;
}

void rt_stop(void) {
    if (!rt_started) return;
    rt_started = 0;
    curs_set(1);
    endwin();
}

int rt_is_started(void) { return rt_started; }

int rt_lines(void) { return LINES; }
int rt_cols(void) { return COLS; }

int rt_start_color(void) {
    if (!has_colors()) return 0;
    start_color();
    use_default_colors();
    return COLORS;
}

int rt_color_pairs(void) { return COLOR_PAIRS; }

int rt_init_pair(int pair, int fg, int bg) {
    return init_extended_pair(pair, fg, bg);
}

attr_t rt_attrs(int bold, int dim, int underline, int reverse, int italic) {
    attr_t a = A_NORMAL;
    if (bold) a |= A_BOLD;
    if (dim) a |= A_DIM;
    if (underline) a |= A_UNDERLINE;
    if (reverse) a |= A_REVERSE;
#ifdef A_ITALIC
    if (italic) a |= A_ITALIC;
#else
    (void)italic;
#endif
    return a;
}

void rt_put(int y, int x, const wchar_t *text, int n, attr_t attrs, int pair) {
    int p = pair;
    wattr_set(stdscr, attrs, 0, &p);
    // Writing the bottom-right cell "fails" because the cursor cannot move past it; the
    // character is still drawn, so the result is ignored.
    (void)mvwaddnwstr(stdscr, y, x, text, n);
}

void rt_refresh(void) {
    wnoutrefresh(stdscr);
    doupdate();
}

void rt_clear_screen(void) {
    clearok(curscr, TRUE);
}

int rt_read_key(int *ch) {
    wint_t w = 0;
    int r = wget_wch(stdscr, &w);
    if (r == ERR) return 0;
    *ch = (int)w;
    return r == KEY_CODE_YES ? 2 : 1;
}

void rt_enable_mouse(void) {
    mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_DOUBLE_CLICKED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
              | BUTTON5_PRESSED
#endif
              , NULL);
    mouseinterval(200);
}

int rt_read_mouse(int *x, int *y, int *kind) {
    MEVENT event;
    if (getmouse(&event) != OK) return 0;
    *x = event.x;
    *y = event.y;
    *kind = 0;
    if (event.bstate & BUTTON1_DOUBLE_CLICKED) *kind = 2;
    else if (event.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED)) *kind = 1;
    else if (event.bstate & BUTTON4_PRESSED) *kind = 3;
#ifdef BUTTON5_PRESSED
    else if (event.bstate & BUTTON5_PRESSED) *kind = 4;
#endif
    return 1;
}

// ---- signals -------------------------------------------------------------------------------

static int rt_signal_fd = -1;
static struct sigaction rt_old_int, rt_old_term, rt_old_hup, rt_old_winch;
static int rt_signals_installed = 0;

static void rt_forward_signal(int sig) {
    int saved = errno;
    if (sig == SIGWINCH && rt_old_winch.sa_handler != SIG_DFL && rt_old_winch.sa_handler != SIG_IGN
        && rt_old_winch.sa_handler != NULL) {
        // ncurses' own handler marks the size as changed so the next read yields KEY_RESIZE.
        if (rt_old_winch.sa_flags & SA_SIGINFO) {
            rt_old_winch.sa_sigaction(sig, NULL, NULL);
        } else {
            rt_old_winch.sa_handler(sig);
        }
    }
    if (rt_signal_fd >= 0) {
        unsigned char byte = (unsigned char)sig;
        ssize_t ignored = write(rt_signal_fd, &byte, 1);
        (void)ignored;
    }
    errno = saved;
}

static int rt_termination_installed = 0;

void rt_install_signal_pipe(int fd, int termination) {
    rt_signal_fd = fd;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = rt_forward_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    rt_termination_installed = termination;
    if (termination) {
        sigaction(SIGINT, &sa, &rt_old_int);
        sigaction(SIGTERM, &sa, &rt_old_term);
        sigaction(SIGHUP, &sa, &rt_old_hup);
    }
    sigaction(SIGWINCH, &sa, &rt_old_winch);
    rt_signals_installed = 1;
}

void rt_restore_signals(void) {
    if (!rt_signals_installed) return;
    rt_signals_installed = 0;
    if (rt_termination_installed) {
        sigaction(SIGINT, &rt_old_int, NULL);
        sigaction(SIGTERM, &rt_old_term, NULL);
        sigaction(SIGHUP, &rt_old_hup, NULL);
    }
    sigaction(SIGWINCH, &rt_old_winch, NULL);
    rt_signal_fd = -1;
}

// ---- termination signals for a process that owns them (the launcher) -------------------------

static volatile sig_atomic_t rt_termination_fd = -1;
static const int rt_termination_signals[] = {SIGINT, SIGTERM, SIGHUP};
static struct sigaction rt_old_termination[3];
static int rt_termination_routed = 0;

static void rt_termination_handler(int sig) {
    int saved = errno;
    int fd = rt_termination_fd;
    if (fd >= 0) {
        unsigned char byte = (unsigned char)sig;
        ssize_t ignored = write(fd, &byte, 1);
        (void)ignored;
    }
    errno = saved;
}

void rt_route_termination_signals(int fd) {
    rt_termination_fd = fd;
    if (rt_termination_routed) return;
    rt_termination_routed = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = rt_termination_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int i = 0; i < 3; i++) sigaction(rt_termination_signals[i], &sa, &rt_old_termination[i]);
}

void rt_unroute_termination_signals(void) {
    if (!rt_termination_routed) return;
    rt_termination_routed = 0;
    for (int i = 0; i < 3; i++) sigaction(rt_termination_signals[i], &rt_old_termination[i], NULL);
    rt_termination_fd = -1;
}

static const int rt_crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define RT_CRASH_COUNT (sizeof rt_crash_signals / sizeof rt_crash_signals[0])
static struct sigaction rt_old_crash[RT_CRASH_COUNT];

static void rt_crash(int sig) {
    // Not async-signal-safe in general, but the process is going down: leaving the user's
    // terminal in raw mode is the worse outcome (htop does the same).
    if (rt_started) {
        rt_started = 0;
        endwin();
    }
    // Hand the signal to whoever had it before (the Swift runtime's backtracer, or the default).
    for (unsigned i = 0; i < RT_CRASH_COUNT; i++) {
        if (rt_crash_signals[i] == sig) sigaction(sig, &rt_old_crash[i], NULL);
    }
    raise(sig);
}

void rt_install_crash_handlers(void) {
    for (unsigned i = 0; i < RT_CRASH_COUNT; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = rt_crash;
        sigemptyset(&sa.sa_mask);
        sigaction(rt_crash_signals[i], &sa, &rt_old_crash[i]);
    }
}

void rt_resize_from_kernel(void) {
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
        resize_term(ws.ws_row, ws.ws_col);
    }
}
