/* Linear models trained by the update rules: the losses, their gradients, and the epoch loop that serves batch,
 * mini-batch and stochastic gradient descent (Ruder, arXiv:1609.04747, section 2) over dense or CSR rows. */
#ifndef GDFAST_LINEAR_H
#define GDFAST_LINEAR_H

#include "kernels.h"

/* The losses of one example with score z and target y, and their derivative dL/dz (the names and forms of
 * scikit-learn's SGD losses, sklearn/linear_model/_sgd_fast.pyx.tp; e is the model's epsilon):
 * squared         L = (z - y)^2 / 2                        dz = z - y                             (y real)
 * logistic        L = log(1 + exp(-y z))                   dz = -y / (1 + exp(y z))               (y = +-1)
 * hinge           L = max(0, 1 - y z)                      dz = -y where y z <= 1, else 0         (y = +-1)
 * softmax         L = -log p_y,  p = exp(z) / sum exp(z)   dz_k = p_k - [k = y]          (y a class index)
 * perceptron      L = max(0, -y z)                         dz = -y where y z <= 0, else 0         (y = +-1)
 * squared_hinge   L = max(0, 1 - y z)^2                    dz = -2 y max(0, 1 - y z)              (y = +-1)
 * modified_huber  L = max(0, 1 - y z)^2 for y z >= -1, else -4 y z (Zhang, 2004)                  (y = +-1)
 * huber           L = r^2 / 2 for |r| <= e, else e (|r| - e / 2), r = z - y                       (y real)
 * epsilon_insensitive          L = max(0, |y - z| - e)                                            (y real)
 * squared_epsilon_insensitive  L = max(0, |y - z| - e)^2                                          (y real)
 * Every loss but softmax has one output (K = 1); with K > 1 outputs and an int64 class y, each output k is its
 * own two-class problem with target +1 where k = y, else -1 (one-vs-rest), and L is the sum over k. */
enum {
    GD_LOSS_SQUARED, GD_LOSS_LOGISTIC, GD_LOSS_HINGE, GD_LOSS_SOFTMAX, GD_LOSS_PERCEPTRON, GD_LOSS_SQUARED_HINGE,
    GD_LOSS_MODIFIED_HUBER, GD_LOSS_HUBER, GD_LOSS_EPSILON_INSENSITIVE, GD_LOSS_SQUARED_EPSILON_INSENSITIVE,
    GD_N_LOSSES
};

/* n_rows examples of n_features: dense (row-major, the model's type) when dense is not NULL, else the CSR rows
 * csr (n_rows x n_features, canonical, checked). y: the model's type with one output, int64 classes with
 * several. weight: each example's weight (>= 0, finite), or NULL for weights of 1. */
typedef struct {
    int64_t n_rows, n_features;
    const void *dense;
    gd_csr csr;
    const void *y;
    const double *weight;
} gd_data;

/* One thread's scratch buffers, allocated by the caller and kept between epochs; "cap" is at least the number of
 * distinct features a batch can touch (CSR data: min(n_features, batch size x the longest row)):
 *   grad_w  dense data: n_features x n_outputs, the batch gradient of W; CSR data: unused
 *   grad_b, z, dz  n_outputs each
 *   touched cap int64, values cap x n_outputs (CSR data: the batch's features and their gradient rows)
 *   table   CSR batches of several rows: 2^table_bits int32, all -1 between batches, >= 2 cap entries; a hash
 *           table feature -> its position in touched, so that the accumulation reads and writes only small
 *           buffers (cache-resident) and not a per-feature array the size of W
 *   rng     4 words of xoshiro256** state (the gradient noise), advanced in place
 *   replica Hogwild! with hot features (gd_model.n_hot > 0): 2 * (1 + GD_MAX_SLOTS) blocks of
 *           (n_hot + 1) x n_outputs, the thread's copies of the hot rows of W and of b (the last row) and of
 *           their state, then the values they had at the last merge */
typedef struct {
    void *grad_w, *grad_b, *z, *dz, *values;
    int64_t *touched;
    int32_t *table;
    int table_bits;
    uint64_t *rng;
    void *replica;
} gd_scratch;

/* A linear model z = x W + b, W n_features x n_outputs (row-major), b n_outputs, each with the rule's state
 * buffers, and n_threads scratch sets. */
typedef struct {
    int rule, loss, is_double, fit_intercept; /* fit_intercept 0: b is read, never stepped */
    double epsilon;                           /* the huber and epsilon-insensitive losses' e */
    double intercept_scale;                   /* b's learning rate is lr times this */
    double clip_norm; /* > 0: each step's gradient (W's and b's) scaled to at most this global L2 norm */
    int64_t n_outputs;
    void *w, *b;
    void *w_slots[GD_MAX_SLOTS], *b_slots[GD_MAX_SLOTS];
    int n_threads;
    /* The L1 penalty (linear_impl.h, gd_penalise_l1) on the weights each step touches: l1 > 0 its weight; for the
     * fixed-rate rules (sgd, momentum, nag) Tsuruoka's cumulative form, with l1_u the penalty so far (one
     * double, advanced in place) and l1_q what it has taken from each weight (n_features x K); NULL otherwise. */
    double l1;
    double *l1_u;
    void *l1_q;
    /* Averaging (Polyak-Ruppert): with avg_w not NULL, avg_w (n_features x K) and avg_b (K) are the means of W and
     * b over the steps t >= avg_start; on CSR data avg_stamp (n_features int64) holds the step at which each
     * feature's mean was last brought up to date (the weights of the other features did not move since). */
    void *avg_w, *avg_b;
    int64_t *avg_stamp;
    int64_t avg_start;
    /* Hogwild! with batches of one: n_hot features (hot_features[s], s < n_hot) and b live on per-thread replicas,
     * row s of a replica for feature hot_features[s]; bit j of hot_bits (n_features bits in uint64 words) is set
     * for a hot feature j, and hot_slot[j] (n_features int32) is then its s. The loop reads the bit of every
     * nonzero (a bitmap of 2^20 features is 128 KB, it stays in cache) and the slot of the hot ones only (their
     * entries are few cache lines), not a random entry of a 4 MB table per nonzero. */
    int64_t n_hot;
    const uint64_t *hot_bits;
    const int32_t *hot_slot;
    const int64_t *hot_features;
    int64_t merge_every; /* a thread adds its replicas' changes to the shared rows every this many steps */
    /* SGD on CSR data with an L2 penalty keeps W = scale * V (gd_epoch_serial). With w_scale NULL each call makes W
     * plain at its end; otherwise the scale starts from *w_scale and is left there, W still scaled, so that the
     * calls of one pass over a stream's chunks take the steps one call over all their rows would (the caller
     * multiplies W by it, and sets it to 1, before W is read). */
    double *w_scale;
    gd_scratch *scratch;
} gd_model;

/* One epoch: the examples order[0..n_order) in batches of batch_size; each batch computes the mean gradient of
 * its losses (each times its example's weight) plus alpha * W (L2) and takes one step of the rule at step number hyper->t + s + 1 with learning
 * rate lr[s] and gradient noise N(0, noise_sd[s]^2) on each coordinate it computes (none where noise_sd[s] is 0).
 * On dense data the penalty and the noise reach every coordinate; on CSR data the touched ones, except for SGD
 * on one thread without L1 penalty or averaging, whose W is scaled so that the L2 penalty reaches every weight.
 * After each step: the L1 penalty (m->l1) and the averages (m->avg_w) of the weights the step touched.
 * With m->n_threads > 1 on CSR data this is Hogwild! (Niu et al., 2011): the threads take contiguous shares of
 * order, in batches, and update W, b and their state without locks (relaxed atomic loads and stores); the k-th
 * batch of thread i is step k * n_threads + i, so lr and noise_sd need
 * n_threads * ceil(ceil(n_order / n_threads) / batch_size) entries. With batches of one example and
 * m->n_hot > 0 the hot features (the caller chooses the most frequent) and b are
 * stepped on per-thread replicas whose changes are added to the shared rows every m->merge_every steps and at
 * the end: the threads then contend only for the cold features.
 * The sparse steps are lazy (an untouched row of W and its state do not move). *n_steps gets the number of steps
 * taken. Returns the sum of the example losses (times their weights), each taken before its batch's step, or
 * -1 for an unknown rule or loss. */
double gd_train_epoch(const gd_model *m, const gd_data *data, const int64_t *order, int64_t n_order,
                      int64_t batch_size, double alpha, const gd_hyper *hyper, const double *lr,
                      const double *noise_sd, int64_t *n_steps);

/* The loss of the examples rows[0..n) (rows NULL: examples 0..n), out[q] that of the q-th (unweighted), and, when
 * grad_w is not NULL, the gradient of their mean weighted loss with respect to W and b (dense, into grad_w and
 * grad_b) for the model's W and b (scratch[0]'s z and dz). No L2 term. rows lets a subset of the examples (a
 * validation split, a mini-batch) be evaluated in place, without a copy of its rows. */
int gd_loss_gradient(const gd_model *m, const gd_data *data, const int64_t *rows, int64_t n, double *out,
                     void *grad_w, void *grad_b);

/* One output's loss L(z, y) and, into *dz, dL/dz (any loss but softmax; NaN for one that is not a loss). */
double gd_loss_value(int loss, double z, double y, double epsilon, double *dz);

#endif
