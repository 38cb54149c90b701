"""A real Hydra program: writes what it received to received.json in the folder it was started from.

`+wait=true` makes it wait for SIGTERM (it then writes stopped.txt and exits 3); `+exit_code=N` makes it exit N.
"""

import json
import signal
import sys
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig


@hydra.main(version_base=None, config_path="conf", config_name="train")
def main(cfg: DictConfig) -> None:
    home = Path(hydra.utils.get_original_cwd())
    received = {"lr": cfg.optimizer.lr, "max_epochs": cfg.trainer.max_epochs, "workers": cfg.data.workers}
    (home / "received.json").write_text(json.dumps(received))
    if cfg.get("wait", False):

        def stop(signum: int, frame: object) -> None:
            (home / "stopped.txt").write_text(signal.Signals(signum).name)
            sys.exit(3)

        signal.signal(signal.SIGTERM, stop)
        (home / "ready.txt").write_text("ready")
        time.sleep(120)
    sys.exit(int(cfg.get("exit_code", 0)))


if __name__ == "__main__":
    main()
