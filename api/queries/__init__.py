"""The read layer: every read of the API's routes, the officer pages, the exports and the
command line goes through this package, so they never disagree.

- `scope`: who sees what (`ledger.access`; the views' SQL from `projections.scope`).
- `views`: waiting for the views to hold every earlier write (else 503), one function.
- `cursors`: the one signed cursor codec (a forged or malformed cursor is a 400 naming `cursor`).
- `systems` (one system now or as of an instant, its history, the list), `units`, `overdue`,
  `audit`, `feed` (with `feed_hub`): the lists and reads; `paging`: pages and whole lists.
- `verification` (the hash chain) and `snapshot` (every system as of one position).
- `render`: the contract's bodies from the ledger's state and the views' rows.
"""
