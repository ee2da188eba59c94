"""The schemas of the files users give the harness: one module per file kind.

    scenario.py    *.scenario.toml                     -> ScenarioError
    manifest.py    Theater manifests, [supervision]    -> ManifestError
    faults.py      fault schedules (TOML, JSON), [[fault]] tables -> ScenarioError
    tree.py        trees as dicts or TOML (tree_from)  -> ScenarioError
    trace.py       saved traces (show, replay, report) -> TraceFileError
    chain.py       Theater chain JSON (verify-chain)   -> ChainFileError

Each validates a whole document up front (types, ranges within 64 bits, finite numbers,
nesting depth, path sanity, references between tables) and raises the kind's error,
naming the file, the field and what would be valid; the loaders then build their records
from a document they can trust. ``_core`` holds what they share: the bounds, the guarded
parsers and file reads, and typed reads of one table. The submodules are imported where
they are used (this package imports none of them), so each stays on its own floor.
"""
