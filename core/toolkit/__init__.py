"""The agents' shared toolkit: what more than one agent needs, so that no agent imports another.

- ``tree``: one reader of a commit's tree (listing, grep, blobs) through plain git.
- ``parsing``: one parse function and the process pool for CPU-bound parsing.
- ``shared_scan``: one parse per file per change set for agents that scan the same files.
- ``regions`` and ``n_plus_one``: source regions and the N+1 query detector (one detector id,
  whichever agent runs it).
- ``sandbox_bwrap``: the bubblewrap command line for running repository code.

The rule for "is this a test path" is ``core.testpaths``.
"""
