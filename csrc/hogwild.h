/* Matrix factorization by lock-free SGD over the observed entries (Niu, Recht, Re, Wright 2011, the Netflix
 * experiment): M ~ L R^T, L n_users x rank, R n_items x rank, each row stepped by one of the update rules. */
#ifndef GDFAST_HOGWILD_H
#define GDFAST_HOGWILD_H

#include "kernels.h"

/* The factors and their rule state; the observed entries (users[p], items[p], ratings[p]) and each user's and
 * item's number of them (the degree that splits the penalty, as the paper does); per-thread scratch of
 * 2 * rank values (the gradient rows), thread i's at scratch + i * scratch_stride (values a cache line or more
 * apart: threads writing one line would fight over it). */
typedef struct {
    int rule, is_double, n_threads;
    int64_t rank;
    void *user, *item;
    void *user_slots[GD_MAX_SLOTS], *item_slots[GD_MAX_SLOTS];
    const int64_t *users, *items;
    const void *ratings;
    const double *user_degree, *item_degree;
    void *scratch;
    int64_t scratch_stride;
} gd_factors;

/* One epoch over the entries order[0..n_order): for entry p with error e = L_u . R_v - M_uv, the gradients
 *   dL_u = e R_v + mu / deg(u) L_u,   dR_v = e L_u + mu / deg(v) R_v
 * (of (L_u R_v^T - M_uv)^2 / 2 plus the penalty mu/2 (||L_u||^2 / deg(u) + ||R_v||^2 / deg(v))), each row
 * stepped by the rule at step t + s + 1 with lr[s]; on n_threads threads without locks (Hogwild!), numbered as
 * gd_train_epoch numbers them (lr needs n_threads * ceil(n_order / n_threads) entries). *n_steps gets the
 * steps' count. Returns the sum of e^2 (each before its step), or -1 for an unknown rule. */
double gd_factorize_epoch(const gd_factors *f, const int64_t *order, int64_t n_order, double mu,
                          const gd_hyper *hyper, const double *lr, int64_t *n_steps);

#endif
