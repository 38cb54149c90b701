"""Which optional install provides which module, so a core-only install names the extra to add in one line.

The core install (pydantic, PyYAML, typer, rich) is what `sdmspec lint` and the pre-commit hook need; the commands
that train, load checkpoints or profile need the ``train`` extra. A command run without it must say so, not end in
a ``ModuleNotFoundError`` traceback.
"""

from __future__ import annotations

import importlib.util

# Top-level module -> the extra that installs it (pyproject.toml's [project.optional-dependencies]).
EXTRA_OF_MODULE: dict[str, str] = {
    **dict.fromkeys(
        (
            "torch",
            "transformers",
            "datasets",
            "tokenizers",
            "safetensors",
            "fvcore",
            "matplotlib",
            "submitit",
            "mambapy",
            "huggingface_hub",
        ),
        "train",
    ),
    **dict.fromkeys(("mamba_ssm", "causal_conv1d"), "cuda"),
    # OmegaConf alone reads configs file by file (the `omegaconf` extra); hydra-core (module `hydra`) composes them.
    "omegaconf": "omegaconf",
    "hydra": "hydra",
}
_WHAT = {
    "train": "the training stack",
    "cuda": "the CUDA kernels",
    "omegaconf": "OmegaConf's YAML loader",
    "hydra": "Hydra's compose API",
}


def missing_extra(err: ModuleNotFoundError) -> str | None:
    """The extra that would provide the module ``err`` is about, or None when it is not an optional dependency."""
    return EXTRA_OF_MODULE.get((err.name or "").split(".")[0])


def install_hint(err: ModuleNotFoundError, command: str) -> str | None:
    """One line for a command that needs an extra that is not installed; None when ``err`` is about anything else."""
    extra = missing_extra(err)
    if extra is None:
        return None
    return f"`sdmspec {command}` needs {_WHAT[extra]} ({err.name} is not installed): pip install 'sdmspec[{extra}]'"


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be found (looked up, not imported: this costs milliseconds)."""
    return [
        module
        for module, provider in EXTRA_OF_MODULE.items()
        if provider == extra and importlib.util.find_spec(module) is None
    ]


def require_extra(extra: str, command: str) -> str | None:
    """One line when ``extra`` is not fully installed for ``command``, checked before the command does anything."""
    missing = missing_modules(extra)
    if not missing:
        return None
    named = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    return f"`sdmspec {command}` needs {_WHAT[extra]} ({named} not installed): pip install 'sdmspec[{extra}]'"
