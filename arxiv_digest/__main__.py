"""`python -m arxiv_digest`: the same command line as `arxiv-digest`."""

import sys

from arxiv_digest.main import main

if __name__ == "__main__":
    sys.exit(main())
