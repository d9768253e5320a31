#ifndef AUTODIFF_CBLAS_SHIM_H
#define AUTODIFF_CBLAS_SHIM_H

#include <cblas.h>
#include <lapacke.h>

#endif
