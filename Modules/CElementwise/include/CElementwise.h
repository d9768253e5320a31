// Elementwise kernels over buffers, compiled for the vector units the CPU has (Elementwise.c).

#ifndef AUTODIFF_C_ELEMENTWISE_H
#define AUTODIFF_C_ELEMENTWISE_H

#include <stddef.h>

/// The functions of one element, each declared once here: the enum and the names come from
/// this list. Kernels/Elementwise.swift's `UnaryFunction` has a case of each name (in camel
/// case), which PrimitiveTableTests checks, and the kernels' switches have a case of each, which
/// the compiler checks (Elementwise.c makes a missing case an error).
#define AUTODIFF_UNARY_FUNCTIONS(X) \
  X(negate) X(sqrt) X(relu) X(abs) X(square) X(positive_mask) X(sign) X(floor) X(ceil) X(round) \
  X(exp) X(log) X(sin) X(cos) X(tanh) X(sigmoid) X(softplus) X(log1p) X(expm1) X(erf) X(tan) \
  X(sinh) X(cosh) X(asin) X(acos) X(atan)

/// The functions of two elements (`BinaryFunction`, without `pow`, which calls libm per element
/// and stays in Swift).
#define AUTODIFF_BINARY_FUNCTIONS(X) \
  X(add) X(subtract) X(multiply) X(divide) X(maximum) X(minimum) X(atan2) \
  X(greater_or_equal_mask) X(greater_mask) X(equal_mask) X(not_equal_mask) X(selection_mask) \
  X(clamp_mask) X(select) X(sigmoid_gradient) X(tanh_gradient) X(relu_gradient) \
  X(gated_product) X(square_gradient)

#define AUTODIFF_ENUMERATOR(name) autodiff_##name,

/// The functions of one element, by number; `autodiff_unary_function_count` counts them.
enum autodiff_unary_function {
  AUTODIFF_UNARY_FUNCTIONS(AUTODIFF_ENUMERATOR) autodiff_unary_function_count
};

/// The functions of two elements, by number; `autodiff_binary_function_count` counts them.
enum autodiff_binary_function {
  AUTODIFF_BINARY_FUNCTIONS(AUTODIFF_ENUMERATOR) autodiff_binary_function_count
};

/// The name of unary function number `function` ("negate", "positive_mask"), or NULL past the
/// last.
const char *autodiff_unary_function_name(int function);
/// The name of binary function number `function`, or NULL past the last.
const char *autodiff_binary_function_name(int function);

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

/// The groups of 16 elements each lane of a long sum adds in a row before they join the cascade
/// (autodiff_add_lanes; Swift's LaneSums reads it too).
#define SUM_LANE_GROUPS 16

/// Adds x[16g + j], for every group g < groups and lane j < 16, to the sixteen running sums of a
/// long sum, whose runs of 16 groups join a cascade of pairwise sums (the layout of `state` is
/// in Elementwise.inc); each lane's adds in a fixed order, so the result is the same on every CPU.
void autodiff_add_lanes_float(const float *x, ptrdiff_t groups, float *state);
void autodiff_add_lanes_double(const double *x, ptrdiff_t groups, double *state);
/// The sum so far of a long sum whose state autodiff_add_lanes keeps.
float autodiff_lanes_total_float(const float *state);
double autodiff_lanes_total_double(const double *state);

/// The sums of `count` columns of a row-major matrix of `rows` rows (`rows` ≥ 1) whose rows
/// start `stride` elements apart, into `y`: y[j] = x[0][j] + x[1][j] + … in row order.
void autodiff_column_sum_float(
    const float *x, ptrdiff_t rows, ptrdiff_t stride, ptrdiff_t count, float *y);
void autodiff_column_sum_double(
    const double *x, ptrdiff_t rows, ptrdiff_t stride, ptrdiff_t count, double *y);

/// The largest (`maximum` ≠ 0) or smallest of x[0..<count), count ≥ 1: NaN when any element is
/// NaN, as NumPy's max and min.
float autodiff_extremum_float(const float *x, ptrdiff_t count, int maximum);
double autodiff_extremum_double(const double *x, ptrdiff_t count, int maximum);
/// The largest (`maximum` ≠ 0) or smallest of each of `count` columns of a row-major matrix of
/// `rows` ≥ 1 rows that start `stride` elements apart, into `y`, row by row as a plain loop
/// compares them (NaN wins).
void autodiff_column_extremum_float(
    const float *x, ptrdiff_t rows, ptrdiff_t stride, ptrdiff_t count, float *y, int maximum);
void autodiff_column_extremum_double(
    const double *x, ptrdiff_t rows, ptrdiff_t stride, ptrdiff_t count, double *y, int maximum);

/// Σ a[i]·b[i] for i < count, each product and sum in double, in an order that depends only on
/// the elements' positions (`b` may be `a`: the sum of squares).
double autodiff_dot_in_double_float(const float *a, const float *b, ptrdiff_t count);
double autodiff_dot_in_double_double(const double *a, const double *b, ptrdiff_t count);

/// One Adam step over `count` parameters `p` with gradients `g` and moments `m`, `v`, in place:
/// p ← p·shrink; g ← g + l2·p; m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; with `v_max`
/// (AMSGrad), v̂ ← max(v̂, v), else v̂ = v; p ← p − stepSize·m / (√v̂ / correction2Root + ε).
/// (AutodiffNN's Adam and AdamW; `v_max` may be null.)
void autodiff_adam_float(
    float *p, const float *g, float *m, float *v, float *v_max, ptrdiff_t count, float beta1,
    float beta2, float step_size, float correction2_root, float epsilon, float l2, float shrink);
void autodiff_adam_double(
    double *p, const double *g, double *m, double *v, double *v_max, ptrdiff_t count,
    double beta1, double beta2, double step_size, double correction2_root, double epsilon,
    double l2, double shrink);

/// One Adagrad step over `count` parameters `p` with gradients `g` and sums of squares `s`, in
/// place: d = g + decay·p (d = g when decay is 0); s ← s + d²; p ← p − rate·(d/(√s + ε)).
/// (AutodiffNN's Adagrad.)
void autodiff_adagrad_float(
    float *p, const float *g, float *s, ptrdiff_t count, float rate, float epsilon, float decay);
void autodiff_adagrad_double(
    double *p, const double *g, double *s, ptrdiff_t count, double rate, double epsilon,
    double decay);

/// One RMSprop step over `count` parameters `p` with gradients `g` and mean squares `v`, in
/// place: d = g + decay·p (d = g when decay is 0); v ← αv + (1 − α)d²; with `g_bar` (centered),
/// ḡ ← αḡ + (1 − α)d and s = v − ḡ², else s = v; with `b` (momentum), b ← μb + d/(√s + ε) and
/// p ← p − rate·b, else p ← p − rate·(d/(√s + ε)). (AutodiffNN's RMSprop; `g_bar` and `b` may
/// be null.)
void autodiff_rmsprop_float(
    float *p, const float *g, float *v, float *g_bar, float *b, ptrdiff_t count, float rate,
    float alpha, float epsilon, float decay, float momentum);
void autodiff_rmsprop_double(
    double *p, const double *g, double *v, double *g_bar, double *b, ptrdiff_t count,
    double rate, double alpha, double epsilon, double decay, double momentum);

/// One SGD step over `count` parameters `p` with gradients `g`, in place: d = g + decay·p; with
/// momentum μ ≠ 0, b ← μb + d and p ← p − rate·(Nesterov ? d + μb : b); else p ← p − rate·d.
/// (AutodiffNN's SGD; `b` is unused without momentum.)
void autodiff_sgd_float(
    float *p, const float *g, float *b, ptrdiff_t count, float rate, float decay, float momentum,
    int nesterov);
void autodiff_sgd_double(
    double *p, const double *g, double *b, ptrdiff_t count, double rate, double decay,
    double momentum, int nesterov);

/// The number of CPUs in this process's affinity mask (taskset, cgroup cpusets, MPI binding), or
/// 0 when the system does not say.
int autodiff_affinity_core_count(void);
/// The CPU time this process's cgroups allow, in CPUs: the smallest quota / period along its
/// cgroup v2 (`cpu.max`) and v1 (`cpu.cfs_quota_us`) hierarchies, or 0 when none sets one or
/// they cannot be read. Every path read is prefixed with `root`: "" for this system (tests pass
/// a directory laid out like one).
double autodiff_cgroup_cpu_limit(const char *root);
/// The threads a CPU limit of `limit` CPUs allows: `limit` rounded up, at least 1; 0 for no
/// limit (`limit` ≤ 0).
int autodiff_cgroup_core_count(double limit);
/// OpenBLAS's thread count before Autodiff lowered it to the cgroup CPU limit when the program
/// loaded, or 0 when it did not (Cores.c).
int autodiff_blas_threads_before_cgroup_limit(void);

/// The OpenBLAS kernel set to use instead of `core` on a CPU with AVX-512 (F, CD, BW, DQ, VL) or
/// AVX2 with FMA: "SkylakeX" or "Haswell" for OpenBLAS's generic "Prescott", else NULL.
const char *autodiff_faster_core_type(const char *core, int avx512, int avx2_fma);
/// The kernel set OpenBLAS chose when it loaded, if the load-time upgrade replaced it; else NULL.
const char *autodiff_openblas_replaced_core_name(void);
/// Puts back the kernel set OpenBLAS chose when it loaded; 0 when there was nothing to put back.
/// Not thread-safe (it sets and unsets OPENBLAS_CORETYPE).
int autodiff_openblas_restore_loaded_kernels(void);

#endif
