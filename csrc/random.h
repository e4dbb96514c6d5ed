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

/* log(u) for u in (0, 1], and cos(2 pi u), without libm's log and cos: their last bit depends on the CPU (glibc
 * runs an FMA variant where the CPU has FMA), and the noise would make the same seed train different models on
 * different machines. Here every operation is one rounded IEEE operation (setup.py: -ffp-contract=off), so the
 * bits are the same everywhere; both are accurate to a few units in the last place, plenty for noise.
 * log: u = m 2^e with m in [sqrt(1/2), sqrt(2)) (frexp is exact), log m = 2 atanh(s), s = (m - 1) / (m + 1),
 * |s| < 0.172, by its series to s^23 (the next term is below 1e-18 of the sum). */
GD_INLINE double gd_log_unit(double u)
{
    int e;
    double m = frexp(u, &e), s, s2, p = 1.0 / 23;
    if (m < 0.7071067811865476) {
        m *= 2;
        e -= 1;
    }
    s = (m - 1) / (m + 1);
    s2 = s * s;
    for (int k = 10; k >= 0; --k)
        p = p * s2 + 1.0 / (2 * k + 1);
    return e * 0.6931471805599453 + 2 * s * p;
}

/* cos(2 pi u), u in (0, 1]: reduced to an angle x in [0, pi/4] by exact steps (each subtraction is exact by
 * Sterbenz's lemma), then the Taylor series of cos or sin to x^18 or x^19 (the next terms are below 1e-20). */
GD_INLINE double gd_cos_2pi(double u)
{
    double r = u > 0.5 ? 1.0 - u : u, sign = 1, x, x2, p = 1; /* cos(2 pi u) = cos(2 pi r), r in [0, 0.5] */
    int use_sin = 0;
    if (r > 0.25) { /* cos(pi - a) = -cos(a) */
        r = 0.5 - r;
        sign = -1;
    }
    if (r > 0.125) { /* cos(a) = sin(pi/2 - a) */
        r = 0.25 - r;
        use_sin = 1;
    }
    x = 6.283185307179586 * r;
    x2 = x * x;
    for (int k = 9; k >= 1; --k) { /* Horner: cos x = 1 - x^2/(1 2) (1 - x^2/(3 4) (...)), sin x = x (1 - x^2/(2 3) (...)) */
        double a = use_sin ? 2 * k : 2 * k - 1;
        p = 1 - x2 / (a * (a + 1)) * p;
    }
    return sign * (use_sin ? x * p : p);
}

/* A standard normal draw (Box-Muller; the uniforms in (0, 1], from the top 53 bits). */
GD_INLINE double gd_normal(uint64_t *s)
{
    double u1 = ((gd_next(s) >> 11) + 1) * 0x1.0p-53, u2 = ((gd_next(s) >> 11) + 1) * 0x1.0p-53;
    return sqrt(-2.0 * gd_log_unit(u1)) * gd_cos_2pi(u2);
}

#endif
