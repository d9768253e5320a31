#ifndef AUTODIFF_CZLIB_SHIM_H
#define AUTODIFF_CZLIB_SHIM_H

#include <zlib.h>

#endif
