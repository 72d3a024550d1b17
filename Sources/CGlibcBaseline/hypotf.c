// Keeps the release binary's glibc baseline at 2.34 (RHEL 9, Rocky 9, Ubuntu 22.04 and later)
// instead of 2.35: the static Swift runtime's Glibc overlay references hypotf, which glibc 2.35
// re-versioned, and it is the only symbol that needs 2.35 (scripts/make_wheel.py reads the
// baseline into the wheel's manylinux tag). Defined here, the linker binds the overlay's reference
// to this copy, which calls hypot at its glibc 2.2.5 version (2.35 re-versioned hypot too).
#include <math.h>

#if defined(__linux__) && defined(__x86_64__)
__asm__(".symver hypot, hypot@GLIBC_2.2.5");
#endif

float hypotf(float x, float y) {
    return (float)hypot((double)x, (double)y);
}
