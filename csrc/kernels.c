/* The kernels, expanded from impl.h once for float32 and once for float64. */
#include "kernels.h"

static int64_t gd_min_per_thread = GD_MIN_PER_THREAD;

static const int64_t gd_rule_work[] = {
#define GD_RULE(name, n_slots, work) work,
#include "rules.def"
#undef GD_RULE
};

/* Threads worth forking for a step of this much work (elements times the rule's work per element):
 * none below gd_min_per_thread units per thread. */
static int gd_threads_for(int64_t work)
{
    int64_t wanted = work / gd_min_per_thread, available = omp_get_max_threads();
    if (wanted < 1)
        return 1;
    return (int)(wanted < available ? wanted : available);
}

#define SFX(name) name##_f32
#define REAL float
#define SQRT sqrtf
#define FABS fabsf
#include "impl.h"
#undef SFX
#undef REAL
#undef SQRT
#undef FABS

#define SFX(name) name##_f64
#define REAL double
#define SQRT sqrt
#define FABS fabs
#include "impl.h"
#undef SFX
#undef REAL
#undef SQRT
#undef FABS

static const int gd_slot_counts[] = {
#define GD_RULE(name, n_slots, work) n_slots,
#include "rules.def"
#undef GD_RULE
};

static const char *const gd_rule_names[] = {
#define GD_RULE(name, n_slots, work) #name,
#include "rules.def"
#undef GD_RULE
};

int gd_rule_slots(int rule)
{
    return rule >= 0 && rule < GD_N_RULES ? gd_slot_counts[rule] : -1;
}

const char *gd_rule_name(int rule)
{
    return rule >= 0 && rule < GD_N_RULES ? gd_rule_names[rule] : NULL;
}

int gd_dense_step(int rule, int is_double, const gd_dense_batch *batch, const gd_hyper *hyper)
{
    if (rule < 0 || rule >= GD_N_RULES)
        return -1;
    if (is_double)
        gd_dense_step_f64(rule, batch, hyper);
    else
        gd_dense_step_f32(rule, batch, hyper);
    return 0;
}

int gd_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int gd_get_num_threads(void) { return omp_get_max_threads(); }

void gd_set_num_threads(int n) { omp_set_num_threads(n > 0 ? n : 1); }

int64_t gd_get_min_per_thread(void) { return gd_min_per_thread; }

void gd_set_min_per_thread(int64_t n) { gd_min_per_thread = n > 0 ? n : 1; }
