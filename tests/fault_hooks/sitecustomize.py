"""Loaded by every Python process the tests start with this folder on PYTHONPATH (:func:`fault_injection.environment`):
a job process, torchrun's workers, the runner's stages. It installs the faults named in the environment before the
job runs; without a fault variable it does nothing (not even import sdmspec)."""

import importlib.util
import os
import sys
from pathlib import Path

if any(name.startswith("SDMSPEC_FAULT_") for name in os.environ):
    _path = Path(__file__).resolve().parent.parent / "fault_injection.py"
    _spec = importlib.util.spec_from_file_location("fault_injection", _path)
    assert _spec is not None and _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["fault_injection"] = _module
    _spec.loader.exec_module(_module)
    _module.install_from_environment()
