// Vectorized exp, log, sin, cos, tanh and the logistic function over buffers, compiled for the
// vector units the CPU has (see VectorMath.c).

#ifndef AUTODIFF_C_VECTOR_MATH_H
#define AUTODIFF_C_VECTOR_MATH_H

#include <stddef.h>

/// The functions, by number.
enum autodiff_vector_function {
  autodiff_vector_exp = 0,
  autodiff_vector_log = 1,
  autodiff_vector_sin = 2,
  autodiff_vector_cos = 3,
  autodiff_vector_tanh = 4,
  autodiff_vector_sigmoid = 5,
};

/// y[i] = function(x[i]) for i < count. `x` and `y` may be the same buffer.
void autodiff_vector_math_float(int function, const float *x, float *y, ptrdiff_t count);
void autodiff_vector_math_double(int function, const double *x, double *y, ptrdiff_t count);

#endif
