internal import CElementwise

/// The number of CPUs in this process's affinity mask, or 0 when the system does not say.
func affinityCoreCount() -> Int { Int(autodiff_affinity_core_count()) }
