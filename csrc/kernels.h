/* The C interface of gdfast's kernels: the only declarations gdfast/_kernels.pxd imports. */
#ifndef GDFAST_KERNELS_H
#define GDFAST_KERNELS_H

#include "common.h"

/* Rule identifiers, in the order of rules.def. */
typedef enum {
#define GD_RULE(name, n_slots, work) GD_RULE_##name,
#include "rules.def"
#undef GD_RULE
    GD_N_RULES
} gd_rule;

/* Arrays stepped together by one call: array a has size[a] elements at param[a], its gradient at grad[a] and
 * its state buffers at slot[k][a] (slot[k] is NULL for k at or beyond the rule's number of slots). All arrays
 * of a batch share one floating type. */
typedef struct {
    int64_t n_arrays;
    const int64_t *size;
    void *const *param;
    const void *const *grad;
    void *const *slot[GD_MAX_SLOTS];
} gd_dense_batch;

/* Number of state buffers rule keeps per parameter, or -1 for an unknown rule. */
int gd_rule_slots(int rule);
/* Name of a rule as in rules.def, or NULL. */
const char *gd_rule_name(int rule);

/* One in-place step of rule on every array of the batch; is_double selects float64 over float32.
 * Returns 0, or -1 for an unknown rule (nothing touched). */
int gd_dense_step(int rule, int is_double, const gd_dense_batch *batch, const gd_hyper *hyper);

/* Threads: 1 when built without OpenMP. */
int gd_openmp_enabled(void);
int gd_get_num_threads(void);
void gd_set_num_threads(int n);
/* Work per thread (SGD-element units) below which a dense step stays on one thread (tuning and benchmarks). */
int64_t gd_get_min_per_thread(void);
void gd_set_min_per_thread(int64_t n);

#endif
