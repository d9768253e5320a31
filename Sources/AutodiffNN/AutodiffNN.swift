// Re-exported so that `import AutodiffNN` is enough to train a model: layers take and return
// `Tensor`, which users then need by name.
@_exported import Autodiff
