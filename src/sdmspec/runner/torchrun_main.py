"""torchrun that keeps a failed worker's exit status: ``python -m sdmspec.runner.torchrun_main ARGS`` is
``python -m torch.distributed.run ARGS`` (torchrun itself, through its own ``main``), except for how it exits.

torchrun exits 1 whatever its workers exited with, so a stage under it that stopped on a full disk (exit 4) or on
a signal after saving (130) read as a plain failure. Here the failures torchrun reports (its ``ChildFailedError``,
one ``ProcessFailure`` per failed rank) decide the exit status: a full disk on any rank wins, then a stop on every
failed rank, else the first failed rank's own status.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sdmspec.errors import EXIT_DISK_FULL, EXIT_INTERRUPTED


def exit_status(codes: Sequence[int]) -> int:
    """The status of a torchrun whose workers failed with ``codes`` (negative: killed by that signal)."""
    if EXIT_DISK_FULL in codes:
        return EXIT_DISK_FULL
    if codes and all(code == EXIT_INTERRUPTED for code in codes):
        return EXIT_INTERRUPTED
    first = next((code for code in codes if code > 0 and code != EXIT_INTERRUPTED), None)
    return first if first is not None else 1


def main(argv: Sequence[str] | None = None) -> int:
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as torchrun

    try:
        torchrun(list(sys.argv[1:] if argv is None else argv))
    except ChildFailedError as err:
        print(err, file=sys.stderr, flush=True)  # torchrun's own report of the failed ranks
        return exit_status([failure.exitcode for _, failure in sorted(err.failures.items())])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
