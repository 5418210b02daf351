"""Entry point of the PyInstaller build (packaging/station.spec): the `station` command."""
import multiprocessing
import sys

from station.cli import main

if __name__ == "__main__":
    # A frozen program must let multiprocessing children (the mapping worker) start.
    multiprocessing.freeze_support()
    sys.exit(main())
