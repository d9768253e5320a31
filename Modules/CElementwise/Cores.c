// The cores this process may use: its affinity mask, and the CPU time its cgroups allow.

#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "CElementwise.h"

int autodiff_affinity_core_count(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  return CPU_COUNT(&set);
}

// MARK: - cgroup CPU limits

/// Reads the first line of `root` + `path` into `line` (at most `size` bytes); 0 when it cannot.
static int read_line(const char *root, const char *path, char *line, size_t size) {
  char full[PATH_MAX];
  if (snprintf(full, sizeof full, "%s%s", root, path) >= (int)sizeof full) return 0;
  FILE *file = fopen(full, "r");
  if (file == NULL) return 0;
  int read = fgets(line, (int)size, file) != NULL;
  fclose(file);
  return read;
}

/// Whether the comma-separated `list` holds `token` as a whole item.
static int lists(const char *list, const char *token) {
  size_t length = strlen(token);
  for (const char *item = list; item != NULL; item = strchr(item, ',')) {
    if (*item == ',') item++;
    if (strncmp(item, token, length) == 0 && (item[length] == ',' || item[length] == '\0'))
      return 1;
  }
  return 0;
}

/// The limit, in CPUs, that one cgroup directory sets: cgroup v2's `cpu.max` ("max 100000", or
/// "quota period" in microseconds) or v1's `cpu.cfs_quota_us` (-1 for none) over
/// `cpu.cfs_period_us`; INFINITY when it sets none.
static double directory_limit(const char *root, const char *directory, int version) {
  char path[PATH_MAX], line[128];
  double quota, period;
  if (version == 2) {
    if (snprintf(path, sizeof path, "%s/cpu.max", directory) >= (int)sizeof path) return INFINITY;
    char first[32];
    if (!read_line(root, path, line, sizeof line)) return INFINITY;
    if (sscanf(line, "%31s %lf", first, &period) != 2 || strcmp(first, "max") == 0)
      return INFINITY;
    quota = strtod(first, NULL);
  } else {
    if (snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", directory) >= (int)sizeof path)
      return INFINITY;
    if (!read_line(root, path, line, sizeof line) || sscanf(line, "%lf", &quota) != 1)
      return INFINITY;
    snprintf(path, sizeof path, "%s/cpu.cfs_period_us", directory);
    if (!read_line(root, path, line, sizeof line) || sscanf(line, "%lf", &period) != 1)
      return INFINITY;
  }
  return quota > 0 && period > 0 ? quota / period : INFINITY;
}

/// The smallest limit along the hierarchy from the cgroup `path` up to the root of the hierarchy
/// mounted at `mount_point` (whose own root is the cgroup `mount_root`): a cgroup gets no more
/// than its parents.
static double hierarchy_limit(
    const char *root, const char *path, const char *mount_root, const char *mount_point,
    int version) {
  // The cgroup's path below the mount's root; in a container the mount's root is the container's
  // cgroup, and a path outside it (a cgroup namespace) reads from the mount point itself.
  size_t root_length = strcmp(mount_root, "/") == 0 ? 0 : strlen(mount_root);
  const char *relative = strncmp(path, mount_root, root_length) == 0 &&
                                 (path[root_length] == '/' || path[root_length] == '\0')
                             ? path + root_length
                             : "";
  char directory[PATH_MAX];
  if (snprintf(directory, sizeof directory, "%s%s", mount_point, relative) >=
      (int)sizeof directory)
    return INFINITY;
  size_t base = strlen(mount_point);
  double limit = INFINITY;
  for (;;) {
    size_t length = strlen(directory);
    while (length > base && directory[length - 1] == '/') directory[--length] = '\0';
    double own = directory_limit(root, directory, version);
    if (own < limit) limit = own;
    char *slash = strrchr(directory, '/');
    if (length <= base || slash == NULL || (size_t)(slash - directory) < base) break;
    *slash = '\0';
  }
  return limit;
}

double autodiff_cgroup_cpu_limit(const char *root) {
  // This process's cgroups: "0::/path" for v2, "N:cpu,cpuacct:/path" for v1's cpu controller.
  char path[PATH_MAX], line[PATH_MAX * 2 + 512];
  char path2[PATH_MAX] = "", path1[PATH_MAX] = "";
  int has2 = 0, has1 = 0;
  snprintf(path, sizeof path, "%s/proc/self/cgroup", root);
  FILE *file = fopen(path, "r");
  if (file == NULL) return 0;
  while (fgets(line, sizeof line, file) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    char *controllers = strchr(line, ':');
    char *cgroup = controllers == NULL ? NULL : strchr(controllers + 1, ':');
    if (cgroup == NULL) continue;
    *controllers++ = '\0';
    *cgroup++ = '\0';
    if (strcmp(line, "0") == 0 && *controllers == '\0') {
      has2 = snprintf(path2, sizeof path2, "%s", cgroup) < (int)sizeof path2;
    } else if (lists(controllers, "cpu")) {
      has1 = snprintf(path1, sizeof path1, "%s", cgroup) < (int)sizeof path1;
    }
  }
  fclose(file);
  if (!has1 && !has2) return 0;

  // Where the hierarchies are mounted: "id parent dev root mount-point options... - type source
  // super-options" (a space in a path is written \040; such mounts are skipped).
  snprintf(path, sizeof path, "%s/proc/self/mountinfo", root);
  file = fopen(path, "r");
  if (file == NULL) return 0;
  double limit = INFINITY;
  while (fgets(line, sizeof line, file) != NULL) {
    char mount_root[PATH_MAX], mount_point[PATH_MAX], type[64], options[512];
    char *separator = strstr(line, " - ");
    if (separator == NULL ||
        sscanf(line, "%*s %*s %*s %4095s %4095s", mount_root, mount_point) != 2 ||
        sscanf(separator + 3, "%63s %*s %511s", type, options) != 2)
      continue;
    double found = INFINITY;
    if (has2 && strcmp(type, "cgroup2") == 0) {
      found = hierarchy_limit(root, path2, mount_root, mount_point, 2);
    } else if (has1 && strcmp(type, "cgroup") == 0 && lists(options, "cpu")) {
      found = hierarchy_limit(root, path1, mount_root, mount_point, 1);
    }
    if (found < limit) limit = found;
  }
  fclose(file);
  return isinf(limit) ? 0 : limit;
}

int autodiff_cgroup_core_count(double limit) {
  if (!(limit > 0)) return 0;
  double cores = ceil(limit - 1e-9);  // 2.0000000001 from a rounded quota is 2
  return cores < 1 ? 1 : cores > INT_MAX ? INT_MAX : (int)cores;
}

// MARK: - BLAS threads under a CPU limit

/// OpenBLAS's thread count when the constructor below lowered it to the cgroup limit; else 0.
static int blas_threads_before_limit = 0;

/// Lowers OpenBLAS's thread count to the cores the cgroup CPU limit allows (docker --cpus,
/// Kubernetes limits), when no variable sets it: OpenBLAS counts the affinity mask, which such a
/// limit does not narrow, and threads beyond it only wait for their turn at the quota. Runs
/// when the program loads, after OpenBLAS's own constructor (see OpenBLASKernels.c).
__attribute__((constructor)) static void limit_blas_threads(void) {
  if (getenv("OPENBLAS_NUM_THREADS") != NULL || getenv("GOTO_NUM_THREADS") != NULL ||
      getenv("OMP_NUM_THREADS") != NULL)
    return;
  int cores = autodiff_cgroup_core_count(autodiff_cgroup_cpu_limit(""));
  if (cores == 0) return;
  int (*get)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
  void (*set)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
  if (get == NULL || set == NULL) return;
  int threads = get();
  if (threads <= cores) return;
  set(cores);
  blas_threads_before_limit = threads;
}

int autodiff_blas_threads_before_cgroup_limit(void) { return blas_threads_before_limit; }
