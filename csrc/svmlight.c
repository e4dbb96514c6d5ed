/* svmlight/LIBSVM text to CSR arrays (svmlight.h). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "svmlight.h"

static int gd_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Whether p is at the end of a token: a blank, the end of the line or of the text, or a comment. */
static int gd_token_end(const char *p) { return gd_blank(*p) || *p == '\n' || *p == '\0' || *p == '#'; }

/* The value strtod gives for the number at p (not a blank), *after past it. Decimal text whose digits fit
 * below 2^53 with a power of ten of at most 22 is read directly: both are then exact doubles and one IEEE
 * multiplication or division rounds their product or quotient correctly (Clinger's fast path), which is
 * strtod's answer. Anything else (more digits, a larger exponent, hex, inf, nan) goes to strtod. */
static double gd_read_double(const char *p, char **after)
{
    static const double powers[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                      1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *q = p + (*p == '-' || *p == '+');
    uint64_t m = 0;
    int scale = 0, digits = 0;
    for (; *q >= '0' && *q <= '9'; ++q, ++digits) {
        if (m > UINT64_MAX / 10 - 1)
            return strtod(p, after);
        m = m * 10 + (uint64_t)(*q - '0');
    }
    if (*q == '.')
        for (++q; *q >= '0' && *q <= '9'; ++q, ++digits, --scale) {
            if (m > UINT64_MAX / 10 - 1)
                return strtod(p, after);
            m = m * 10 + (uint64_t)(*q - '0');
        }
    if (*q == 'e' || *q == 'E') {
        const char *e = q + 1;
        int negative = *e == '-', exponent = 0;
        e += *e == '-' || *e == '+';
        if (!(*e >= '0' && *e <= '9'))
            return strtod(p, after);
        for (; *e >= '0' && *e <= '9'; ++e)
            exponent = exponent < 1000 ? exponent * 10 + (*e - '0') : exponent;
        scale += negative ? -exponent : exponent;
        q = e;
    }
    if (digits == 0 || m > (UINT64_C(1) << 53) || scale < -22 || scale > 22 || !gd_token_end(q))
        return strtod(p, after);
    double value = scale < 0 ? (double)m / powers[-scale] : (double)m * powers[scale];
    *after = (char *)q;
    return *p == '-' ? -value : value;
}

/* One line's features from p (after its label) into indices/data from *nnz on; returns a GD_SVM_ code and
 * leaves *end at the line's newline (or the text's end). */
static int gd_svm_features(const char *p, int64_t n_features, int zero_based, int is_double, int32_t *indices,
                           void *data, int64_t cap_nnz, int64_t *nnz, const char **end)
{
    for (;;) {
        while (gd_blank(*p))
            ++p;
        if (*p == '\n' || *p == '\0' || *p == '#')
            break;
        char *after;
        if (p[0] == 'q' && p[1] == 'i' && p[2] == 'd' && p[3] == ':') { /* a query id: not a feature */
            if (gd_token_end(p + 4)) /* strtoll would skip the blanks and newlines that follow */
                return GD_SVM_INDEX;
            strtoll(p + 4, &after, 10);
            if (after == p + 4 || !gd_token_end(after))
                return GD_SVM_INDEX;
            p = after;
            continue;
        }
        errno = 0;
        long long index = strtoll(p, &after, 10);
        if (after == p || *after != ':')
            return GD_SVM_INDEX;
        index -= zero_based ? 0 : 1;
        if (errno || index < 0 || index >= n_features) /* errno: beyond long long's range */
            return GD_SVM_RANGE;
        p = after + 1;
        if (gd_token_end(p)) /* "index:" and no value (strtod would read on into the next line) */
            return GD_SVM_VALUE;
        double value = gd_read_double(p, &after);
        if (after == p || !gd_token_end(after) || !isfinite(value) || (!is_double && !isfinite((float)value)))
            return GD_SVM_VALUE; /* (float32: beyond its range too) */
        if (*nnz >= cap_nnz)
            return GD_SVM_CAPACITY;
        indices[*nnz] = (int32_t)index;
        if (is_double)
            ((double *)data)[*nnz] = value;
        else
            ((float *)data)[*nnz] = (float)value;
        ++*nnz;
        p = after;
    }
    while (*p != '\n' && *p != '\0')
        ++p;
    *end = p;
    return GD_SVM_OK;
}

int gd_svmlight_parse(const char *text, int64_t n, int64_t n_features, int zero_based, int is_double, double *y,
                      int32_t *indptr, int32_t *indices, void *data, int64_t cap_rows, int64_t cap_nnz,
                      int64_t *rows, int64_t *nnz, int64_t *bad_line)
{
    const char *p = text, *stop = text + n;
    int64_t line = 0;
    *rows = *nnz = 0;
    indptr[0] = 0;
    for (; p < stop; ++line) {
        while (gd_blank(*p))
            ++p;
        if (*p == '\n' || *p == '#' || *p == '\0') { /* no example on this line (or a stray NUL byte) */
            while (p < stop && *p != '\n')
                ++p;
            ++p;
            continue;
        }
        char *after;
        double label = gd_read_double(p, &after);
        int code = after == p || !gd_token_end(after) || !isfinite(label) ? GD_SVM_LABEL
                 : *rows >= cap_rows ? GD_SVM_CAPACITY
                 : gd_svm_features(after, n_features, zero_based, is_double, indices, data, cap_nnz, nnz, &p);
        if (code != GD_SVM_OK) {
            *bad_line = line;
            *nnz = indptr[*rows];
            return code;
        }
        y[*rows] = label;
        indptr[++*rows] = (int32_t)*nnz;
        p += *p == '\n';
    }
    return GD_SVM_OK;
}
