internal import CElementwise

/// The number of CPUs in this process's affinity mask, or 0 when the system does not say.
func affinityCoreCount() -> Int { Int(autodiff_affinity_core_count()) }

/// The CPU time this process's cgroups allow, in CPUs, or `nil` when none sets a limit;
/// `root` prefixes every path read (tests lay out a system's files under a directory).
func cgroupCPULimit(root: String = "") -> Double? {
  let limit = autodiff_cgroup_cpu_limit(root)
  return limit > 0 ? limit : nil
}

/// The threads a CPU limit allows: `limit` rounded up, at least 1.
func cgroupCoreCount(_ limit: Double) -> Int { Int(autodiff_cgroup_core_count(limit)) }

/// OpenBLAS's thread count before Autodiff lowered it to the cgroup CPU limit, or `nil`.
func blasThreadsBeforeCPULimit() -> Int? {
  let threads = Int(autodiff_blas_threads_before_cgroup_limit())
  return threads > 0 ? threads : nil
}
