/* scikit-learn's stochastic gradient descent, as SGDClassifier and SGDRegressor compute it
 * (sklearn/linear_model/_sgd_fast.pyx.tp: _plain_sgd; sklearn/utils/_weight_vector.pyx.tp), so that gdfast's
 * estimators give its numbers: one example per step, W kept as wscale * V (the L2 penalty's decay of every
 * weight is a product into wscale, Bottou's trick), the L1 penalty as the cumulative truncation of Tsuruoka,
 * Tsujii and Ananiadou (2009, "Stochastic gradient descent training for L1-regularized log-linear models with
 * cumulative penalty") on the features an example touches, and averaging (Polyak-Ruppert) on sparse rows by
 * Bottou's two scalars ("Stochastic gradient descent tricks", 2012), all lazily: a step costs the example's
 * nonzeros. A dense row touches every feature, as scikit-learn's ArrayDataset gives it. */
#ifndef GDFAST_PLAIN_SGD_H
#define GDFAST_PLAIN_SGD_H

#include "linear.h"

enum { GD_PENALTY_NONE, GD_PENALTY_L1, GD_PENALTY_L2, GD_PENALTY_ELASTICNET };
/* The learning rates: eta0; 1 / (alpha (optimal_init + t - 1)); eta0 / t^power_t; eta0 divided by 5 when the
 * loss stalls (by the caller); and the passive-aggressive steps of Crammer et al. (2006, "Online
 * passive-aggressive algorithms"), min(eta0, L / ||x||^2) and L / (||x||^2 + 1 / (2 eta0)). */
enum { GD_RATE_CONSTANT = 1, GD_RATE_OPTIMAL, GD_RATE_INVSCALING, GD_RATE_ADAPTIVE, GD_RATE_PA1, GD_RATE_PA2 };

/* The settings of a fit: the loss (linear.h) and its epsilon, the penalty alpha (l1_ratio of it L1), the
 * learning rate (eta0, power_t; optimal: eta = 1 / (alpha (optimal_init + t - 1))), the weight of the positive
 * and the negative examples, the intercept's step factor, averaging from step t >= average (0: none), and
 * whether to sum the objective (scikit-learn's tol rule reads it). */
typedef struct {
    int loss, penalty, learning_rate, fit_intercept, track_objective;
    double epsilon, alpha, l1_ratio, eta0, power_t, optimal_init;
    double weight_pos, weight_neg, intercept_decay, average;
} gd_plain_sgd;

/* What a fit carries from epoch to epoch: V (w, the weights are wscale * V), the average's V (aw, with
 * average_a and average_b: the average is (aw + average_a V) / average_b) and the L1 penalty's per-feature
 * record q (n_features each, the data's type; aw and q NULL when unused), the norms scikit-learn tracks for its
 * objective (of the weights the last step touched), the L1 penalty's total u, the current eta and step t, the
 * intercept and its average. */
typedef struct {
    void *w, *aw, *q;
    double wscale, sq_norm, l1_norm, u, average_a, average_b;
    double eta, t, intercept, average_intercept;
} gd_plain_state;

/* One epoch over order[0..n_order), an example at a time (y: +-1 or real, the data's type). With
 * track_objective, returns the sum of the losses, each before its step, and *objective gets the sum of loss plus
 * penalty as scikit-learn adds them (without, the logistic loss's values are not computed: 0). -1 for an
 * unknown loss. */
double gd_plain_sgd_epoch(const gd_plain_sgd *c, gd_plain_state *s, const gd_data *d, const int64_t *order,
                          int64_t n_order, int is_double, double *objective);

/* The end of a fit: V scaled back to the weights (wscale 1) and, with averaging, aw made the average. */
void gd_plain_sgd_finish(gd_plain_state *s, int64_t n_features, int is_double);

#endif
