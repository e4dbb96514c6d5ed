/* Parsing svmlight/LIBSVM text into CSR arrays (gdfast/data.py reads files a block of whole lines at a time).
 *
 * A line is  <label> [qid:<n>] <index>:<value> ... [# comment]  (spaces or tabs between tokens); an empty line or
 * one that starts with '#' holds no example. Numbers are read as strtod/strtoll read them (correctly rounded, so
 * the values are those scikit-learn's parser gives; most decimals without calling strtod: svmlight.c). Indices
 * are 1-based unless zero_based, and must lie in [0, n_features) once shifted; their order is kept (the caller's
 * CSR check sorts a row that needs it). */
#ifndef GDFAST_SVMLIGHT_H
#define GDFAST_SVMLIGHT_H

#include <stdint.h>

enum {
    GD_SVM_OK = 0,
    GD_SVM_LABEL,     /* the label is not a number */
    GD_SVM_INDEX,     /* a token lacks "<integer>:" */
    GD_SVM_VALUE,     /* a value is not a finite number */
    GD_SVM_RANGE,     /* an index outside [0, n_features) once shifted (1-based: index 0 included) */
    GD_SVM_CAPACITY   /* more rows or entries than the buffers hold (the caller sized them by counting) */
};

/* Parse text[0, n) (NUL-terminated at n) into y[rows], indptr[rows + 1] (indptr[0] = 0), indices[nnz] (int32) and
 * data[nnz] (float64, or float32 where is_double is 0), at most cap_rows rows and cap_nnz entries. Returns a
 * GD_SVM_ code; *rows and *nnz get what was parsed; on an error *bad_line is the 0-based line of text at fault
 * (and nothing after it was parsed). */
int gd_svmlight_parse(const char *text, int64_t n, int64_t n_features, int zero_based, int is_double, double *y,
                      int32_t *indptr, int32_t *indices, void *data, int64_t cap_rows, int64_t cap_nnz,
                      int64_t *rows, int64_t *nnz, int64_t *bad_line);

#endif
