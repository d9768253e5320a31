// Elementwise kernels over buffers, compiled for the vector units the CPU has (Elementwise.c).

#ifndef AUTODIFF_C_ELEMENTWISE_H
#define AUTODIFF_C_ELEMENTWISE_H

#include <stddef.h>

/// The functions of one element, by number (Kernels/Elementwise.swift's `UnaryFunction`).
enum autodiff_unary_function {
  autodiff_negate,
  autodiff_sqrt,
  autodiff_relu,
  autodiff_abs,
  autodiff_square,
  autodiff_positive_mask,
  autodiff_sign,
  autodiff_exp,
  autodiff_log,
  autodiff_sin,
  autodiff_cos,
  autodiff_tanh,
  autodiff_sigmoid,
};

/// The functions of two elements, by number (`BinaryFunction`, without `pow`, which calls libm
/// per element and stays in Swift).
enum autodiff_binary_function {
  autodiff_add,
  autodiff_subtract,
  autodiff_multiply,
  autodiff_divide,
  autodiff_maximum,
  autodiff_minimum,
  autodiff_greater_or_equal_mask,
  autodiff_greater_mask,
  autodiff_equal_mask,
  autodiff_selection_mask,
  autodiff_sigmoid_gradient,
  autodiff_tanh_gradient,
  autodiff_relu_gradient,
  autodiff_square_gradient,
};

/// y[i] = function(x[i]) for i < count. `y` may be `x`.
void autodiff_unary_float(int function, const float *x, float *y, ptrdiff_t count);
void autodiff_unary_double(int function, const double *x, double *y, ptrdiff_t count);

/// c[i] = function(a[i·stride_a], b[i·stride_b]) for i < count, with strides of 0 (one element
/// repeated) or 1. `c` may be `a` or `b`.
void autodiff_binary_float(
    int function, const float *a, ptrdiff_t stride_a, const float *b, ptrdiff_t stride_b,
    float *c, ptrdiff_t count);
void autodiff_binary_double(
    int function, const double *a, ptrdiff_t stride_a, const double *b, ptrdiff_t stride_b,
    double *c, ptrdiff_t count);

/// partial[j] += x[16g + j] for every group g < groups and lane j < 16: the sixteen running sums
/// of a long sum, each lane's adds in order, so the result is the same on every CPU.
void autodiff_add_lanes_float(const float *x, ptrdiff_t groups, float *partial);
void autodiff_add_lanes_double(const double *x, ptrdiff_t groups, double *partial);

/// One Adam step over `count` parameters `p` with gradients `g` and moments `m`, `v`, in place:
/// p ← p·shrink; g ← g + l2·p; m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²;
/// p ← p − stepSize·m / (√v / correction2Root + ε). (AutodiffNN's Adam and AdamW.)
void autodiff_adam_float(
    float *p, const float *g, float *m, float *v, ptrdiff_t count, float beta1, float beta2,
    float step_size, float correction2_root, float epsilon, float l2, float shrink);
void autodiff_adam_double(
    double *p, const double *g, double *m, double *v, ptrdiff_t count, double beta1,
    double beta2, double step_size, double correction2_root, double epsilon, double l2,
    double shrink);

/// One SGD step over `count` parameters `p` with gradients `g`, in place: d = g + decay·p; with
/// momentum μ ≠ 0, b ← μb + d and p ← p − rate·(Nesterov ? d + μb : b); else p ← p − rate·d.
/// (AutodiffNN's SGD; `b` is unused without momentum.)
void autodiff_sgd_float(
    float *p, const float *g, float *b, ptrdiff_t count, float rate, float decay, float momentum,
    int nesterov);
void autodiff_sgd_double(
    double *p, const double *g, double *b, ptrdiff_t count, double rate, double decay,
    double momentum, int nesterov);

#endif
