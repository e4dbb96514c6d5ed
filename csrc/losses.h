/* The losses of one output with score z and target y, and their derivatives (linear.h lists them): written once,
 * in double, for the epoch loop (linear_impl.h) and scikit-learn's SGD (plain_sgd_impl.h). */
#ifndef GDFAST_LOSSES_H
#define GDFAST_LOSSES_H

#include <math.h>

#include "linear.h"

/* The two-class margin losses: L(y z) and dL/dz. Kinks take the side scikit-learn takes (hinge and perceptron
 * step at y z <= threshold, modified_huber is quadratic from y z >= -1). */
static double gd_margin_loss(int loss, double z, double y, double *dz)
{
    double yz = y * z, m = 1 - yz;
    switch (loss) {
    case GD_LOSS_LOGISTIC: /* log(1 + e^-yz) without overflow on either side */
        *dz = -y / (1.0 + exp(yz));
        return yz > 0 ? log1p(exp(-yz)) : -yz + log1p(exp(yz));
    case GD_LOSS_HINGE:
        *dz = yz <= 1 ? -y : 0.0;
        return yz <= 1 ? m : 0.0;
    case GD_LOSS_PERCEPTRON:
        *dz = yz <= 0 ? -y : 0.0;
        return yz <= 0 ? -yz : 0.0;
    case GD_LOSS_SQUARED_HINGE:
        *dz = m > 0 ? -2 * y * m : 0.0;
        return m > 0 ? m * m : 0.0;
    default: /* GD_LOSS_MODIFIED_HUBER */
        *dz = yz >= 1 ? 0.0 : yz >= -1 ? 2.0 * m * -y : -4.0 * y;
        return yz >= 1 ? 0.0 : yz >= -1 ? m * m : -4.0 * yz;
    }
}

/* The regression losses of the residual: L and dL/dz with epsilon e. */
static double gd_residual_loss(int loss, double z, double y, double e, double *dz)
{
    double r = z - y, excess = fabs(r) - e;
    switch (loss) {
    case GD_LOSS_SQUARED:
        *dz = r;
        return 0.5 * r * r;
    case GD_LOSS_HUBER:
        *dz = fabs(r) <= e ? r : r > 0 ? e : -e;
        return fabs(r) <= e ? 0.5 * r * r : e * (fabs(r) - 0.5 * e);
    case GD_LOSS_EPSILON_INSENSITIVE:
        *dz = y - z > e ? -1.0 : z - y > e ? 1.0 : 0.0;
        return excess > 0 ? excess : 0.0;
    default: /* GD_LOSS_SQUARED_EPSILON_INSENSITIVE */
        *dz = y - z > e ? -2 * (y - z - e) : y - z < -e ? 2 * (z - y - e) : 0.0;
        return excess > 0 ? excess * excess : 0.0;
    }
}

/* Any loss but softmax: L(z, y) and dL/dz. */
static double gd_loss_one(int loss, double z, double y, double e, double *dz)
{
    switch (loss) {
    case GD_LOSS_SQUARED:
    case GD_LOSS_HUBER:
    case GD_LOSS_EPSILON_INSENSITIVE:
    case GD_LOSS_SQUARED_EPSILON_INSENSITIVE:
        return gd_residual_loss(loss, z, y, e, dz);
    default:
        return gd_margin_loss(loss, z, y, dz);
    }
}

#endif
