"""``python -m helpers`` is the ``workbench`` command."""

import sys

from helpers.cli import main

if __name__ == "__main__":
    sys.exit(main())
