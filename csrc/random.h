/* The random numbers of the training loop (gradient noise): xoshiro256** (Blackman & Vigna, 2018), its state
 * of 4 words owned by the caller, and standard normal draws from it. */
#ifndef GDFAST_RANDOM_H
#define GDFAST_RANDOM_H

#include "common.h"

/* The next 64 random bits. */
GD_INLINE uint64_t gd_next(uint64_t *s)
{
    uint64_t result = ((s[1] * 5) << 7 | (s[1] * 5) >> 57) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s[3] << 45 | s[3] >> 19;
    return result;
}

/* A standard normal draw (Box-Muller; the uniforms in (0, 1], from the top 53 bits). */
GD_INLINE double gd_normal(uint64_t *s)
{
    double u1 = ((gd_next(s) >> 11) + 1) * 0x1.0p-53, u2 = ((gd_next(s) >> 11) + 1) * 0x1.0p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
