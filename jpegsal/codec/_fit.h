/* What the two compiled chroma fits share (_chroma.c, on the pixel route's RGB; _fit.c, on
 * the DCT route's decoded 4:4:4 / 4:2:2 / 4:4:0 chroma): the filter's reach, libjpeg's
 * mirror at the plane's edges, and the loops' compilation for AVX2. */
#ifndef JSAL_FIT_H
#define JSAL_FIT_H

#include <stdlib.h>

/* The loops are compiled twice where the compiler can pick at load time (GCC or Clang on
 * x86-64 Linux): 8 lanes with AVX2, 4 without. Same operations, so the same bits. */
#if defined(__x86_64__) && defined(__linux__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define WIDE __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef WIDE
#define WIDE
#endif
#if defined(_MSC_VER) && !defined(__clang__)
#define restrict __restrict /* MSVC's C before C11 mode */
#endif

#define TAPS 7 /* the fit's terms 0 .. TAPS (chroma.py's _TAPS) */

/* libjpeg's mirror for the fit: BORDER_REFLECT into the plane padded to an even size by
 * repeating its last line, at any distance (chroma.py's _reflect and _source_rows). */
static long mirrored(long i, long size)
{
    long even = size + size % 2, period = ((i % (2 * even)) + 2 * even) % (2 * even);
    long j = period >= even ? 2 * even - 1 - period : period;
    return j < size - 1 ? j : size - 1;
}

/* For sample s along an axis of `size`, its taps are at[2 s + t], t = 0 .. 4 TAPS + 1:
 * lines 2 s - 2 TAPS .. 2 s + 1 + 2 TAPS, mirrored (NULL when out of memory). */
static long *tap_lines(long size, long samples)
{
    long *at = malloc(sizeof(long) * (size_t)(2 * samples + 4 * TAPS + 2));
    if (at != NULL)
        for (long p = 0; p < 2 * samples + 4 * TAPS + 2; p++)
            at[p] = mirrored(p - 2 * TAPS, size);
    return at;
}

#endif
