"""sdmspec: the SDM-Mamba paper's experimental setup as a typed, source-cited spec.

The package is layered so that the light parts never pay for the heavy ones: ``schema`` and ``lint`` need only
pydantic and PyYAML; ``checkpoint``, ``models``, ``jobs`` and ``profile`` import torch inside their functions.
"""

__version__ = "0.1.0"
