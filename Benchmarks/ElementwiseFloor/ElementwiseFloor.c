// The floor of the "elementwise 1M" benchmark: what a hand-written C loop costs for the same
// forward and backward pass, fused, with no tape and no intermediate arrays.
#include "ElementwiseFloor.h"

#include <math.h>

// σ with one exp and no overflow: e = e^(−|v|) ≤ 1, σ(v) = 1/(1+e) for v ≥ 0, e/(1+e) otherwise
// (the form Autodiff uses).
float elementwise_floor_value_and_gradient(const float *x, float *dx, size_t count) {
  float sum = 0;
  for (size_t i = 0; i < count; i++) {
    float v = x[i];
    float r = v > 0 ? v : 0;
    float e = expf(-fabsf(v));
    float s = (v >= 0 ? 1.0f : e) / (1.0f + e);
    sum += r * r + s;
    dx[i] = 2 * r + s * (1 - s);
  }
  return sum;
}
