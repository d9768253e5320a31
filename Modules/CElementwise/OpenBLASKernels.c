// The OpenBLAS kernel upgrade, run once when the program loads (see BLAS.replacedCoreName).
//
// OpenBLAS picks its kernels when it loads, and only OPENBLAS_CORETYPE overrides the choice. An
// OpenBLAS older than the CPU does not recognize it and takes its generic Prescott (SSE3)
// kernels: Debian 12's 0.3.21 does so on recent Xeons, where gemm then runs at a third of its
// AVX2 speed and a fifth of its AVX-512 speed. This constructor re-runs OpenBLAS's own kernel
// selection with the better set. It runs before main, after OpenBLAS's own constructor (a
// library's dependencies are initialized first), while the process has one thread: so the
// setenv/unsetenv it needs races with nothing. The OpenBLAS entry points are looked up at run
// time, so an OpenBLAS built for one CPU, which has no selection to re-run, is left as it is.

#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "CElementwise.h"

/// The kernel set OpenBLAS chose when it loaded, when this file replaced it; else NULL.
static const char *replaced_core_name = NULL;

const char *autodiff_faster_core_type(const char *core, int avx512, int avx2_fma) {
  if (core == NULL || strcmp(core, "Prescott") != 0) return NULL;
  if (avx512) return "SkylakeX";
  if (avx2_fma) return "Haswell";
  return NULL;
}

typedef char *(*corename_function)(void);
typedef void (*void_function)(void);

/// Re-runs OpenBLAS's kernel selection with OPENBLAS_CORETYPE = core; 0 when this OpenBLAS
/// cannot (it has no dynamic selection). Not thread-safe: setenv.
static int select_kernels(const char *core) {
  void_function quit = (void_function)dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit");
  void_function init = (void_function)dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init");
  if (quit == NULL || init == NULL) return 0;
  setenv("OPENBLAS_CORETYPE", core, 1);
  quit();  // the selection does nothing while a kernel table is set
  init();
  unsetenv("OPENBLAS_CORETYPE");
  return 1;
}

static const char *current_core_name(void) {
  corename_function corename = (corename_function)dlsym(RTLD_DEFAULT, "openblas_get_corename");
  return corename == NULL ? NULL : corename();
}

__attribute__((constructor)) static void upgrade_openblas_kernels(void) {
  if (getenv("OPENBLAS_CORETYPE") != NULL) return;
  const char *loaded = current_core_name();
  __builtin_cpu_init();
  int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl");
  int avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const char *faster = autodiff_faster_core_type(loaded, avx512, avx2_fma);
  if (faster == NULL || !select_kernels(faster)) return;
  const char *now = current_core_name();
  if (now != NULL && strcmp(now, "Prescott") != 0) replaced_core_name = "Prescott";
}

const char *autodiff_openblas_replaced_core_name(void) { return replaced_core_name; }

int autodiff_openblas_restore_loaded_kernels(void) {
  if (replaced_core_name == NULL) return 0;
  if (!select_kernels(replaced_core_name)) return 0;
  replaced_core_name = NULL;
  return 1;
}
