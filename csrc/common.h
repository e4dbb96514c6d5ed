/* Shared C definitions: fixed-width types, the restrict macro, the hyperparameter struct, the OpenMP shim.
 * Kernels trust their inputs: every check happens once in Python before the call (see gdfast/_validate.py). */
#ifndef GDFAST_COMMON_H
#define GDFAST_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <math.h>

#if defined(_MSC_VER)
#define GD_RESTRICT __restrict
#else
#define GD_RESTRICT restrict
#endif

#define GD_INLINE static inline

/* The element loops are compiled for AVX-512, AVX2 and the baseline, picked at load time by the CPU
 * (GCC/clang function multi-versioning on x86-64 Linux). Results are the same bits on each: no FMA
 * contraction (-ffp-contract=off) and IEEE-exact +, *, /, sqrt. */
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(GD_NO_CLONES) && !defined(__SANITIZE_ADDRESS__)
#define GD_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GD_VECTOR_CLONES
#endif

/* A hint to start loading the cache line at p. GCC deems a function that only prefetches free of effects and
 * deletes its calls, so such a function must be GD_ALWAYS_INLINE. */
#if defined(__GNUC__) || defined(__clang__)
#define GD_PREFETCH(p) __builtin_prefetch((const void *)(p), 0, 3)
#define GD_PREFETCH_WRITE(p) __builtin_prefetch((const void *)(p), 1, 3) /* for a line about to be written */
#define GD_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define GD_PREFETCH(p) ((void)(p))
#define GD_PREFETCH_WRITE(p) ((void)(p))
#define GD_ALWAYS_INLINE static inline
#endif

/* The most threads a Hogwild! epoch runs (its per-thread sums live on the stack). */
#define GD_MAX_THREADS 256

/* The most state buffers a rule keeps per parameter (AMSGrad: m, v, vhat). */
#define GD_MAX_SLOTS 3

/* A rule's hyperparameters as the user sets them, and the step number t (counting from 1).
 * Rules read the fields they need and ignore the rest. mu, mu_next and mu_product are Nadam's momentum
 * schedule at step t for the torch/Keras form (kernel nadam_schedule, variants.def): mu_t, mu_{t+1} and
 * mu_1 ... mu_t, computed in double by the optimizer, which keeps the running product; 0 elsewhere.
 * beta, lambda1 and lambda2 are FTRL-Proximal's (McMahan et al., 2013: beta in the per-coordinate learning
 * rate alpha / (beta + sqrt(n)), the L1 and L2 strengths); 0 elsewhere. grad_scale and clip_value are gradient
 * clipping's (the global norm's factor, 1 without; the bound on each coordinate, +inf without), weight_decay and
 * decoupled weight decay's (0 without), read by the optimizer steps' loops (dense, CSR and row-sparse, and the
 * exact mode's catch-up), not by the linear models' epochs. */
typedef struct {
    double lr, gamma, beta1, beta2, eps;
    int64_t t;
    double mu, mu_next, mu_product;
    double beta, lambda1, lambda2;
    double grad_scale, clip_value; /* an optimizer's step takes clamp(grad_scale * g, -clip_value, clip_value) */
    double weight_decay;           /* lambda: coupled, g + lambda theta; decoupled, theta (1 - lr lambda) first */
    int decoupled;
} gd_hyper;

/* The bias correction 1 / (1 - beta^t) of Adam and its kin, in double. The dense step and the exact sparse
 * mode's table of past steps both compute it here, so a catch-up uses the very bits the dense step used. */
GD_INLINE double gd_inv_bias(double beta, int64_t t)
{
    if (beta == 0) /* the rules without a beta: 1 exactly, without a pow per step */
        return 1.0;
    return 1.0 / (1.0 - pow(beta, (double)t));
}

/* An index of a CSR structure stored as int32 or int64 (scipy uses either): one predictable branch. */
GD_INLINE int64_t gd_index(const void *indices, int is_64, int64_t p)
{
    return is_64 ? ((const int64_t *)indices)[p] : (int64_t)((const int32_t *)indices)[p];
}

#define GD_CAT2(a, b) a##b
#define GD_CAT(a, b) GD_CAT2(a, b)

/* Work a thread must have before a dense step forks threads, in SGD-element units (rules.def gives each
 * rule's work per element): below it the fork/join costs more than it saves. Measured with
 * bench/bench_threshold.py (README, "Threads"). */
#ifndef GD_MIN_PER_THREAD
#define GD_MIN_PER_THREAD 32768
#endif

#ifdef _OPENMP
#include <omp.h>
#define GD_PRAGMA(x) _Pragma(#x)
#else
/* Serial build: the same sources, one thread. */
GD_INLINE int omp_get_max_threads(void) { return 1; }
GD_INLINE int omp_get_thread_num(void) { return 0; }
GD_INLINE int omp_get_num_threads(void) { return 1; }
GD_INLINE void omp_set_num_threads(int n) { (void)n; }
#define GD_PRAGMA(x) _Pragma(#x)
#endif

/* Runs RANGE(lo, hi) over [0, n): on this thread when n_threads <= 1, else split into n_threads equal contiguous
 * pieces run in parallel. RANGE is a function-like macro of the caller. */
#define GD_SPLIT(n, n_threads, RANGE)                                                      \
    do {                                                                                   \
        int64_t gd_split_n = (n);                                                          \
        int gd_split_threads = (n_threads);                                                \
        if (gd_split_threads <= 1) {                                                       \
            RANGE(0, gd_split_n);                                                          \
        } else {                                                                           \
            GD_PRAGMA(omp parallel num_threads(gd_split_threads))                          \
            {                                                                              \
                int64_t gd_tid = omp_get_thread_num(), gd_nt = omp_get_num_threads();      \
                RANGE(gd_split_n * gd_tid / gd_nt, gd_split_n * (gd_tid + 1) / gd_nt);     \
            }                                                                              \
        }                                                                                  \
    } while (0)

#endif
