"""Views of a run's trace: text for terminals and failure reports, one HTML page for people.

    from theater_harness import report
    print(report.render_tree(runtime))                     # the supervision tree at the end
    print(report.render_timeline(runtime, around_ms=300))  # what happened near 300 ms
    Path("run.html").write_text(report.render_html(runtime, title="my run"))

Every ``render_*`` function takes the trace as a Runtime, a Trace, the trace JSON (text,
path, or parsed dict) or its list of records; one that comes from outside is validated
first (``read_trace(path)`` reads a saved file; a TraceFileError names what is wrong).
``summary`` is the CLI's per-run text. ``States(trace)`` decodes the actor states a trace
names by digest: ``text(digest)`` gives ``'286ef99473842386 {"count":8}'``,
``annotate(text)`` adds the state beside every digest in a text.
"""

from ._describe import NOTABLE, describe
from ._html import render_html
from ._source import TraceData, read_trace, records_of
from ._states import States
from ._summary import actor_table, counts, summary, timeline
from ._text import render_timeline, render_tree

__all__ = [
    "NOTABLE",
    "States",
    "TraceData",
    "actor_table",
    "counts",
    "describe",
    "read_trace",
    "records_of",
    "render_html",
    "render_timeline",
    "render_tree",
    "summary",
    "timeline",
]
