"""`python -m bot`: the same program as `arxiv-digest`, kept for those who run it by this name.

The command line is assembled above the core, in `arxiv_digest` (the composition root); this entry point runs
it by name, so nothing in `bot/` imports the adapters.
"""

import runpy

if __name__ == "__main__":
    runpy.run_module("arxiv_digest", run_name="__main__", alter_sys=True)
