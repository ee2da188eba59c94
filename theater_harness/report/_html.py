"""One self-contained HTML page for a trace: the supervision tree and the swimlanes, with
a zoomable time axis.

Everything is inline (CSS, JS, SVG) and derived from the records alone, so the same
trace always gives the same bytes, and the page opens from a file with no network.
"""

from __future__ import annotations

from html import escape
from typing import Any

from ._actors import ActorInfo, actors_of, tree_rows
from ._axis import Axis
from ._source import load
from ._states import States
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
li.hl>details>summary,li.hl>.leaf{background:#fff3bf}
.controls{display:flex;flex-wrap:wrap;align-items:center;gap:.4em 1.4em;margin:.4em 0}
.controls input[type=range]{width:16em;vertical-align:middle}#zoom-level{display:inline-block;min-width:3.5em}
.timeline{display:flex;border:1px solid #ddd}.scroll{overflow-x:auto;flex:1}
svg.names{flex:none;border-right:1px solid #ddd}
svg.lanes text,svg.names text{font:12px system-ui,sans-serif}
.axis line{stroke:#e5e5e5}.axis text{fill:#777;text-anchor:middle;font-size:11px}
.bg{fill:#000;fill-opacity:0}.alt .bg{fill-opacity:.03}.hl .bg{fill:#ffd43b;fill-opacity:.3}
.name{fill:#222;cursor:pointer}[data-lane=outside] .name{fill:#666;font-style:italic}
[data-lane=world] .name,[data-lane=rpc] .name{fill:#1d4e89;font-style:italic;cursor:default}
.band{fill:#c9ebd2}.span{fill:#cfe2ff}
.m{cursor:pointer}.m.spawn{fill:#fff;stroke:#333;stroke-width:1.5}.m.restart{fill:#2a9d4a}
.m.failed{stroke:#d62828;stroke-width:2.5;fill:none}.m.stopped{fill:#7a7a7a}
.m.fault{fill:#b5179e}.m.escalate{fill:#f77f00}.m.lost{fill:#fff;stroke:#d62828;stroke-width:1.5}
.m.missed{fill:#fff;stroke:#b5179e;stroke-width:1.5;stroke-dasharray:2 1.5}
.m.log{stroke:#1d70b8;stroke-width:1.5}.m.end{fill:#000}.m.msg{fill:#34495e}.m.other{fill:#aaa}
.m.world{fill:#1d70b8}.m.rpc{fill:#6f42c1}.m.world-err,.m.rpc-err{fill:#fff;stroke:#d62828;stroke-width:1.5}
.link{stroke:#5a6b7b;stroke-width:1.2;opacity:.6}.link.lost{stroke:#d62828;stroke-dasharray:3 2;opacity:.8}
.link.reply{stroke-dasharray:2 2}.link.call{stroke-dasharray:1 2}marker path{fill:#5a6b7b}
.agg{fill:#7f8c8d;opacity:.7}
body.no-links .links{display:none}
ul.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3em 1.2em;margin:.4em 0}
ul.legend svg{vertical-align:middle;margin-right:.3em}
#detail{white-space:pre-wrap;min-height:3em;margin-top:.6em}
pre{background:#f7f7f9;padding:.6em;overflow-x:auto;font-size:12px}
"""

# Highlight an actor in the tree and the lanes on click; zoom the time axis (the range
# control, Ctrl + wheel, or #zoom=N in the address, #zoom=N&at=MS to centre a time) by
# the rules of _axis.py; show a clicked mark's record below the lanes; check every tree
# actor has a visible lane.
_JS = """
(function () {
  function toggle(id) {
    document.querySelectorAll('[data-actor-id], [data-name-of]').forEach(function (el) {
      var of = el.getAttribute('data-actor-id') || el.getAttribute('data-name-of');
      if (of === id) el.classList.toggle('hl');
    });
  }
  document.querySelectorAll('#tree [data-actor-id], #lanes [data-name-of]').forEach(function (el) {
    var name = el.querySelector('.name');  // its own: the first in document order
    var id = el.getAttribute('data-actor-id') || el.getAttribute('data-name-of');
    if (name) name.addEventListener('click', function (event) {
      event.preventDefault();  // a name in a <summary> highlights; the marker folds
      toggle(id);
    });
  });
  var box = document.getElementById('show-links');
  box.addEventListener('change', function () {
    document.body.classList.toggle('no-links', !box.checked);
  });

  var svg = document.querySelector('svg.lanes');
  if (svg) {
    var num = function (a) { return String(Math.round(a * 10) / 10); };
    var attr = function (el, name) { return Number(el.getAttribute(name) || 0); };
    var x0 = attr(svg, 'data-x0'), scale = attr(svg, 'data-scale'), end = attr(svg, 'data-end'),
        tail = attr(svg, 'data-tail'), maxZoom = attr(svg, 'data-max-zoom'), gap = attr(svg, 'data-tick-gap');
    var scroller = document.getElementById('scroll'), range = document.getElementById('zoom'),
        level = document.getElementById('zoom-level'), axis = svg.querySelector('.axis');
    var zoom = 1;
    var X = function (t, dx) { return x0 + t * scale * zoom + dx; };
    var tickStep = function (pxPerMs) {
      var want = gap / pxPerMs;
      for (var base = 1; ; base *= 10) {
        for (var i = 0, m = [1, 2, 5]; i < 3; i++) if (base * m[i] >= want) return base * m[i];
      }
    };
    var tickLabel = function (t, step) { return step % 1000 === 0 ? (t / 1000) + ' s' : t + ' ms'; };
    var layout = function () {
      svg.querySelectorAll('[data-t]').forEach(function (el) {
        var x = X(attr(el, 'data-t'), attr(el, 'data-dx'));
        var x2 = el.hasAttribute('data-t2') ? X(attr(el, 'data-t2'), attr(el, 'data-dx2')) : x;
        if (el.tagName === 'g') {
          var y = el.transform.baseVal.getItem(0).matrix.f;
          el.setAttribute('transform', 'translate(' + num(x) + ',' + num(y) + ')');
        } else if (el.tagName === 'line') {
          el.setAttribute('x1', num(x));
          el.setAttribute('x2', num(x2));
        } else {
          el.setAttribute('x', num(x));
          el.setAttribute('width', num(Math.max(1, x2 - x)));
        }
      });
      svg.setAttribute('width', num(X(end, tail)));
      var top = attr(axis, 'data-top'), bottom = attr(axis, 'data-bottom'), step = tickStep(scale * zoom);
      while (axis.firstChild) axis.removeChild(axis.firstChild);
      for (var t = 0; t <= end; t += step) {
        var line = document.createElementNS(svg.namespaceURI, 'line'), x = num(X(t, 0));
        line.setAttribute('x1', x); line.setAttribute('x2', x);
        line.setAttribute('y1', String(top - 6)); line.setAttribute('y2', String(bottom));
        var text = document.createElementNS(svg.namespaceURI, 'text');
        text.setAttribute('x', x); text.setAttribute('y', String(top - 10));
        text.setAttribute('data-tick', String(t));
        text.textContent = tickLabel(t, step);
        axis.appendChild(line);
        axis.appendChild(text);
      }
    };
    var setZoom = function (z, anchor) {  // anchor: px from the scroller's left edge that keeps its time
      z = Math.min(maxZoom, Math.max(1, z));
      var t = (scroller.scrollLeft + anchor - x0) / (scale * zoom);
      zoom = z;
      layout();
      scroller.scrollLeft = x0 + t * scale * zoom - anchor;
      range.value = maxZoom > 1 ? String(Math.round(1000 * Math.log(zoom) / Math.log(maxZoom))) : '0';
      level.textContent = '\\u00d7' + (zoom < 10 ? zoom.toFixed(1) : String(Math.round(zoom)));
      svg.setAttribute('data-zoom', String(zoom));
    };
    range.addEventListener('input', function () {
      setZoom(Math.pow(maxZoom, Number(range.value) / 1000), scroller.clientWidth / 2);
    });
    scroller.addEventListener('wheel', function (event) {
      if (!event.ctrlKey) return;  // a plain wheel scrolls the page
      event.preventDefault();
      setZoom(zoom * Math.exp(-event.deltaY / 400), event.clientX - scroller.getBoundingClientRect().left);
    }, {passive: false});
    var asked = /zoom=([0-9.]+)/.exec(location.hash), around = /at=([0-9]+)/.exec(location.hash);
    if (asked) setZoom(Number(asked[1]), 0);
    if (around) scroller.scrollLeft = X(Number(around[1]), 0) - scroller.clientWidth / 2;
    var detail = document.getElementById('detail');
    svg.addEventListener('click', function (event) {
      var el = event.target.closest('[data-t]');
      var title = el && el.querySelector('title');
      if (title) detail.textContent = title.textContent;
    });
  }

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
             "an incarnation, from its start to its exit</li>",
             '<li><svg width="22" height="14"><rect class="span" x="0" y="3" width="22" height="8"/></svg>'
             "the time a world or rpc call took to answer</li>"]
    for glyph, (shape, text) in GLYPHS.items():
        items.append(f'<li><svg width="14" height="20"><g class="m {glyph}" transform="translate(7,10)">'
                     f"{shape}</g></svg>{escape(text)}</li>")
    items.append('<li><svg width="24" height="14"><line class="link" x1="1" y1="7" x2="22" y2="7" '
                 'marker-end="url(#arrow)"/></svg>message, from its send to its delivery (red dashed: lost; '
                 "dotted: a reply; finely dotted: a world or rpc call, up to its caller)</li>")
    return '<ul class="legend">' + "".join(items) + "</ul>"


SEPARATOR = " \u00b7 "


def render_html(records: Any, *, title: str) -> str:
    """The page: header (title, seed, scenario), the supervision tree, the swimlanes with
    a zoom control and a legend, and the text timeline. Deterministic: the same trace
    gives the same bytes."""
    data = load(records)
    actors = actors_of(data.records)
    rows = tree_rows(actors)
    lanes, notes = render_swimlanes(data.records, rows, States(data.records))
    events = sum(1 for r in data.records if r["kind"] == "event")
    end_ms = max((r["t"] for r in data.records), default=0)
    zoomable = Axis(end_ms).max_zoom > 1
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
        '<p class="meta">One lane per actor, in tree order, and one for messages from outside (the test), '
        "drawn when they were meant to leave; below them, a lane per interface of the outside world the run "
        "used (world: filesystem, environment, http-client, store) and one for rpc calls. Virtual time runs left to right, to scale; the records one "
        "lane has in one millisecond are set a few pixels apart, in the order they happened. Hover or "
        "click a mark for its record (states with a preview of their bytes); click a name to highlight "
        "the actor.</p>",
        '<p class="controls"><label>zoom <input type="range" id="zoom" min="0" max="1000" value="0"'
        f'{"" if zoomable else " disabled"}></label> <span id="zoom-level">\u00d71.0</span> '
        "<span>(or Ctrl + mouse wheel over the lanes)</span> "
        '<label><input type="checkbox" id="show-links" checked> message arrows</label></p>',
        *(f'<p class="note">{escape(note)}</p>' for note in notes),
        _legend(),
        lanes,
        '<pre id="detail">(click a mark, a band or an arrow for its record)</pre>',
        "</section>",
        '<section id="text"><details><summary>Notable records, as text</summary>',
        f"<pre>{escape(render_timeline(data.records))}</pre></details></section>",
        f"<script>{_JS}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
