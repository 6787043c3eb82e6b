"""Start segstudio from a source checkout: `python main.py [FOLDER]`."""

import sys

from segstudio.cli import main

if __name__ == "__main__":
    sys.exit(main(["gui", *sys.argv[1:]]))
