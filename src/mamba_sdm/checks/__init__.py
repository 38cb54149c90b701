"""One module per area of ``sdmspec validate``; each exposes ``check_<area>(spec, options) -> Iterable[CheckResult]``.

torch, transformers and datasets are imported inside the check functions only.
"""
