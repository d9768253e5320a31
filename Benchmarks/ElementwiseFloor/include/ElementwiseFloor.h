#ifndef ELEMENTWISE_FLOOR_H
#define ELEMENTWISE_FLOOR_H

#include <stddef.h>

/// f(x) = Σ relu(xᵢ)² + σ(xᵢ) and its gradient dx = 2·relu(x) + σ(x)·(1 − σ(x)), both in one
/// pass over `x`, on the calling thread (the benchmark splits the elements between threads).
/// Returns f(x); writes the gradient into `dx` (`count` elements, not overlapping `x`).
float elementwise_floor_value_and_gradient(const float *x, float *dx, size_t count);

#endif
