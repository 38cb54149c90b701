"""Run the fake pipeline in its own process (so a test can signal or kill the runner): OUT CONFIGS EXTRA_JSON JOBS
[GRACE_S]."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from runner_fakes import REPO, run_fake

from sdmspec.schema import load_spec

if __name__ == "__main__":
    out, configs, extra, jobs = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4])
    grace = float(sys.argv[5]) if len(sys.argv) > 5 else 20.0
    outcome, _, _ = run_fake(load_spec(REPO / "spec"), out, configs, extra, jobs=jobs, grace_s=grace)
    sys.exit(outcome.exit_code)
