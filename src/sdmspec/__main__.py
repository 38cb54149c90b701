"""``python -m sdmspec`` behaves exactly like the ``sdmspec`` console script."""

from sdmspec.cli.app import main

if __name__ == "__main__":
    main()
