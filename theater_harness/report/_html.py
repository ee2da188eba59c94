"""One self-contained HTML page for a trace: the supervision tree and the swimlanes.

Everything is inline (CSS, JS, SVG) and derived from the records alone, so the same
trace always gives the same bytes, and the page opens from a file with no network.
"""

from __future__ import annotations

from html import escape
from typing import Any

from ._actors import ActorInfo, actors_of, tree_rows
from ._source import load
from ._swimlanes import GLYPHS, render_swimlanes
from ._text import render_timeline

_CSS = r"""
body{font:14px/1.4 system-ui,sans-serif;margin:1.2em;color:#222}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.2em 0 .4em}
.meta,.note,#check{color:#555;margin:.2em 0}.note{color:#8a5a00}
code{font-size:.9em;color:#666}
ul.tree,ul.tree ul{list-style:none;margin:0;padding-left:1.3em}ul.tree{padding-left:0}
ul.tree summary,ul.tree .leaf{display:block;list-style:none;padding:1px 4px;cursor:pointer}
ul.tree summary::-webkit-details-marker{display:none}
ul.tree summary::before,ul.tree .leaf::before{content:"\25BE";display:inline-block;width:1em;color:#777}
ul.tree details:not([open])>summary::before{content:"\25B8"}ul.tree .leaf::before{content:""}
.st{display:inline-block;padding:0 .4em;border-radius:3px;font-size:.85em}
.st.running{background:#d8f3dc}.st.starting{background:#e9ecef}
.st.failed{background:#f8d7da;color:#842029}.st.stopped{background:#e2e3e5}
.inc{color:#555;font-size:.85em}.sup{color:#1d4e89;font-size:.85em}
li.hl>details>summary,li.hl>.leaf{background:#fff3bf}.lane.hl .bg{fill:#fff3bf}
.scroll{overflow-x:auto;border:1px solid #ddd}
svg.lanes text{font:12px system-ui,sans-serif}
.axis line{stroke:#e5e5e5}.axis text{fill:#777;text-anchor:middle;font-size:11px}
.lane .bg{fill:#fff}.lane:nth-of-type(even) .bg{fill:#f7f7f9}.lane .name{fill:#222}.name{cursor:pointer}
.band{fill:#c9ebd2}
.m.spawn{fill:#fff;stroke:#333;stroke-width:1.5}.m.restart{fill:#2a9d4a}
.m.failed{stroke:#d62828;stroke-width:2.5;fill:none}.m.stopped{fill:#7a7a7a}
.m.fault{fill:#b5179e}.m.escalate{fill:#f77f00}.m.lost{fill:#fff;stroke:#d62828;stroke-width:1.5}
.m.missed{fill:#fff;stroke:#b5179e;stroke-width:1.5;stroke-dasharray:2 1.5}
.m.log{stroke:#1d70b8;stroke-width:1.5}.m.end{fill:#000}.m.msg{fill:#34495e}.m.other{fill:#aaa}
.link{stroke:#5a6b7b;stroke-width:1;opacity:.55}.link.lost{stroke:#d62828;stroke-dasharray:3 2;opacity:.8}
.link.reply{stroke-dasharray:2 2}marker path{fill:#5a6b7b}
.agg{fill:#7f8c8d;opacity:.7}
body.no-links .links{display:none}
ul.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3em 1.2em;margin:.4em 0}
ul.legend svg{vertical-align:middle;margin-right:.3em}
pre{background:#f7f7f9;padding:.6em;overflow-x:auto;font-size:12px}
"""

# Highlight an actor in both views on click; check every tree actor has a visible lane.
_JS = """
(function () {
  var all = document.querySelectorAll('[data-actor-id]');
  function toggle(id) {
    all.forEach(function (el) {
      if (el.getAttribute('data-actor-id') === id) el.classList.toggle('hl');
    });
  }
  all.forEach(function (el) {
    var name = el.querySelector('.name');  // its own: the first in document order
    if (name) name.addEventListener('click', function (event) {
      event.preventDefault();  // a name in a <summary> highlights; the marker folds
      toggle(el.getAttribute('data-actor-id'));
    });
  });
  var box = document.getElementById('show-links');
  box.addEventListener('change', function () {
    document.body.classList.toggle('no-links', !box.checked);
  });
  function visible(el) {
    var r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  }
  var tree = document.querySelectorAll('#tree [data-actor-id]');
  var shown = 0;
  tree.forEach(function (item) {
    var id = item.getAttribute('data-actor-id');
    var lane = document.querySelector('#lanes .lane[data-actor-id="' + id + '"]');
    if (visible(item) && lane && visible(lane)) shown += 1;
  });
  var check = document.getElementById('check');
  check.setAttribute('data-actors-total', String(tree.length));
  check.setAttribute('data-actors-shown', String(shown));
  check.textContent = shown + ' of ' + tree.length + ' actors shown in the tree and the lanes.';
  document.body.setAttribute('data-rendered', '1');
})();
"""


def _actor_line(info: ActorInfo) -> str:
    sup = f' <span class="sup">supervisor {escape(info.supervision)}</span>' if info.supervision else ""
    return (f'<b class="name">{escape(info.name)}</b> <code>{escape(info.short_id)}</code> '
            f'<span class="st {escape(info.status)}">{escape(info.status_text)}</span> '
            f'<span class="inc">inc {info.incarnations}</span>{sup}')


def _tree_html(actors: dict[str, ActorInfo]) -> str:
    """Nested lists in tree order; a parent is a <details>, open, so it can be folded."""
    out: list[str] = []

    def item(info: ActorInfo) -> None:
        attrs = f'data-actor-id="{escape(info.id)}" data-actor-name="{escape(info.name)}"'
        if not info.children:
            out.append(f'<li {attrs}><span class="leaf">{_actor_line(info)}</span></li>')
            return
        out.append(f'<li {attrs}><details open><summary>{_actor_line(info)}</summary><ul>')
        for child in info.children:
            item(actors[child])
        out.append("</ul></details></li>")

    roots = [info for info in actors.values() if info.parent not in actors]
    if not roots:
        return "<p>No actors were spawned.</p>"
    out.append('<ul class="tree">')
    for info in roots:
        item(info)
    out.append("</ul>")
    return "\n".join(out)


def _legend() -> str:
    items = ['<li><svg width="22" height="14"><rect class="band" x="0" y="3" width="22" height="8"/></svg>'
             "an incarnation, from its start to its exit</li>"]
    for glyph, (shape, text) in GLYPHS.items():
        items.append(f'<li><svg width="14" height="20"><g class="m {glyph}" transform="translate(7,10)">'
                     f"{shape}</g></svg>{escape(text)}</li>")
    items.append('<li><svg width="24" height="14"><line class="link" x1="1" y1="7" x2="22" y2="7" '
                 'marker-end="url(#arrow)"/></svg>message: send \u2192 delivery '
                 "(red dashed: lost)</li>")
    return '<ul class="legend">' + "".join(items) + "</ul>"


SEPARATOR = " \u00b7 "


def render_html(records: Any, *, title: str) -> str:
    """The page: header (title, seed, scenario), the supervision tree, the swimlanes with
    a legend, and the text timeline. Deterministic: the same trace gives the same bytes."""
    data = load(records)
    actors = actors_of(data.records)
    rows = tree_rows(actors)
    lanes, notes = render_swimlanes(data.records, rows)
    events = sum(1 for r in data.records if r["kind"] == "event")
    end_ms = max((r["t"] for r in data.records), default=0)
    meta = [f"seed {data.seed}" if data.seed is not None else "seed unknown"]
    if data.scenario:
        meta.append(f"scenario \u201c{data.scenario}\u201d")
    meta.append(f"{len(data.records)} records ({events} chain events, not drawn)")
    meta.append(f"last record at {end_ms} ms of virtual time")
    meta.append(f"{len(actors)} actors")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        f"<style>{_CSS}</style></head>",
        "<body>",
        f"<header><h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(SEPARATOR.join(meta))}</p>',
        '<p id="check">(the page script has not run)</p></header>',
        '<section id="tree"><h2>Supervision tree</h2>',
        _tree_html(actors),
        "</section>",
        '<section id="lanes"><h2>Timeline</h2>',
        '<p class="meta">One lane per actor, in tree order; virtual time runs left to right, and the '
        "records of one millisecond are spread out in the order they happened. Hover a mark for its "
        'record; click a name to highlight the actor. <label><input type="checkbox" id="show-links" '
        "checked> message arrows</label></p>",
        *(f'<p class="note">{escape(note)}</p>' for note in notes),
        _legend(),
        f'<div class="scroll">{lanes}</div>',
        "</section>",
        '<section id="text"><details><summary>Notable records, as text</summary>',
        f"<pre>{escape(render_timeline(data.records))}</pre></details></section>",
        f"<script>{_JS}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
