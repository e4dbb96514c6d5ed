/* Linear models (linear.h), expanded from linear_impl.h once for float32 and once for float64. */
#include <stdlib.h>

#include "linear.h"

static int gd_compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* xoshiro256** (Blackman & Vigna): the noise generator, its state owned by the caller. */
static uint64_t gd_next(uint64_t *s)
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
static double gd_normal(uint64_t *s)
{
    double u1 = ((gd_next(s) >> 11) + 1) * 0x1.0p-53, u2 = ((gd_next(s) >> 11) + 1) * 0x1.0p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#define SFX(name) GD_CAT(name, _f32)
#define REAL float
#include "linear_impl.h"
#undef SFX
#undef REAL

#define SFX(name) GD_CAT(name, _f64)
#define REAL double
#include "linear_impl.h"
#undef SFX
#undef REAL

static int gd_valid(const gd_model *m)
{
    return m->rule >= 0 && m->rule < GD_N_RULES && m->loss >= 0 && m->loss < GD_N_LOSSES;
}

double gd_train_epoch(const gd_model *m, const gd_data *data, const int64_t *order, int64_t n_order,
                      int64_t batch_size, double alpha, const gd_hyper *hyper, const double *lr,
                      const double *noise_sd, uint64_t *rng, int64_t *stamp_base)
{
    if (!gd_valid(m) || batch_size < 1)
        return -1;
    if (m->is_double)
        return gd_train_epoch_f64(m, data, order, n_order, batch_size, alpha, hyper, lr, noise_sd, rng, stamp_base);
    return gd_train_epoch_f32(m, data, order, n_order, batch_size, alpha, hyper, lr, noise_sd, rng, stamp_base);
}

int gd_loss_gradient(const gd_model *m, const gd_data *data, double *out, void *grad_w, void *grad_b)
{
    if (!gd_valid(m))
        return -1;
    if (m->is_double)
        gd_loss_gradient_f64(m, data, out, (double *)grad_w, (double *)grad_b);
    else
        gd_loss_gradient_f32(m, data, out, (float *)grad_w, (float *)grad_b);
    return 0;
}
