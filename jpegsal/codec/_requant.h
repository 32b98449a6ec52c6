/* The requantisation of one block of stored levels, shared by both compiled routes of
 * jpegsal.codec.requantise (_filter.c for TurboJPEG, _blocks.c for libjpeg) so that they,
 * and the numpy callback, write the same levels.
 *
 * The arithmetic is numpy's, bit for bit: the level as float32, times the float32 ratio
 * (old step / new step), rounded half to even (np.rint), back to int16. The rounding adds
 * and subtracts 1.5 * 2^23, which rounds any |x| < 2^22 to the nearest integer, ties to
 * even, in the default rounding mode, and unlike rintf() lets the compiler vectorise the
 * loop. setup.py turns off floating-point contraction: a fused multiply-add would round
 * once instead of twice and could differ from numpy.
 */
#ifndef JSAL_REQUANT_H
#define JSAL_REQUANT_H

static inline void jsal_requantise_block(short *levels, const float *ratio)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    for (int k = 0; k < 64; k++) {
        float x = (float)levels[k] * ratio[k];
        x = (x + magic) - magic;
        levels[k] = (short)(int)x;
    }
}

#endif
