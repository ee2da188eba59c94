"""The trace viewers: the supervision tree and the timeline as text, and the HTML page."""

from __future__ import annotations

import html
import json
import re
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import manifest
from test_supervision import supervisor
from theater_harness import Runtime, report
from theater_harness.report._axis import tick_label, tick_step

CHROMIUM = Path("/usr/bin/chromium")

ROOT_POLICY = '''strategy = "one_for_one"
intensity = 5

[supervision.children.k]
restart = "temporary"
'''


def small_run(tmp_path) -> Runtime:
    """root (one_for_one) over a, a temporary k, and a team (intensity 0) with a member.
    a traps at 100 ms and is restarted; the member fails at 200 ms, the team gives up and
    root restarts it; k fails at 300 ms and stays failed; late is spawned at 400 ms."""
    rt = Runtime(seed=1)
    root = rt.spawn(supervisor(tmp_path, ROOT_POLICY, name="root"))
    a = rt.spawn(manifest("crasher"), name="a", parent=root)
    k = rt.spawn(manifest("crasher"), name="k", parent=root)
    team = rt.spawn(supervisor(tmp_path, "intensity = 0\n", name="team"), parent=root)
    member = rt.spawn(manifest("crasher"), name="member", parent=team)
    rt.send(a, "trap", delay_ms=100)
    rt.send(member, "err", delay_ms=200)
    rt.send(k, "err", delay_ms=300)
    rt.run(until=400)
    rt.spawn(manifest("counter"), name="late", parent=root)
    rt.run_until_idle()
    return rt


@pytest.fixture
def run(tmp_path) -> Runtime:
    return small_run(tmp_path)


SEND_TRAP = "theater:simple/message-server-client.handle-send"


def test_the_tree_shows_every_actor_under_its_parent_with_status_and_incarnations(run):
    assert report.render_tree(run).splitlines() == [
        "root        8dc4e8e3  running      inc 1  supervisor one_for_one",
        "  a         6ace3ec9  running      inc 2",
        "  k         aa00f094  failed: err  inc 1",
        "  team      012bb21b  running      inc 2  supervisor one_for_one",
        "    member  937de15c  running      inc 2",
        "  late      2f9b6266  running      inc 1",
    ]


def test_the_tree_at_a_time_shows_the_actors_spawned_by_then_as_they_were(run):
    assert report.render_tree(run, at_ms=250).splitlines() == [
        "root        8dc4e8e3  running  inc 1  supervisor one_for_one",
        "  a         6ace3ec9  running  inc 2",
        "  k         aa00f094  running  inc 1",
        "  team      012bb21b  running  inc 2  supervisor one_for_one",
        "    member  937de15c  running  inc 2",
    ]


def test_a_parent_without_a_declared_policy_is_a_guest_supervisor():
    records = [
        {"seq": 0, "t": 0, "kind": "spawn", "actor": "p" * 36, "name": "sup", "parent": None},
        {"seq": 1, "t": 0, "kind": "spawn", "actor": "c" * 36, "name": "child", "parent": "p" * 36},
        {"seq": 2, "t": 5, "kind": "start", "actor": "c" * 36, "incarnation": 1},
    ]
    assert report.render_tree(records).splitlines() == [
        "sup      pppppppp  starting  inc 0  supervisor guest",
        "  child  cccccccc  running   inc 1",
    ]


def test_the_timeline_has_a_line_per_notable_record(run):
    assert report.render_timeline(run).splitlines() == [
        "     0 ms  spawn          root    8dc4e8e3 from manifest 'root'",
        "     0 ms  start          root    incarnation 1",
        "     0 ms  spawn          a       6ace3ec9 from manifest 'crasher' under root",
        "     0 ms  start          a       incarnation 1",
        "     0 ms  spawn          k       aa00f094 from manifest 'crasher' under root",
        "     0 ms  start          k       incarnation 1",
        "     0 ms  spawn          team    012bb21b from manifest 'team' under root",
        "     0 ms  start          team    incarnation 1",
        "     0 ms  spawn          member  937de15c from manifest 'crasher' under team",
        "     0 ms  start          member  incarnation 1",
        "   100 ms  log            a       crasher: trap on request",
        f"   100 ms  exit           a       failed: trap in {SEND_TRAP}: wasm trap: wasm `unreachable` "
        "instruction executed",
        "   100 ms  restart-plan   root    one_for_one after a ended: restart a",
        "   100 ms  restart        a       incarnation 2 (init) by root",
        "   100 ms  start          a       incarnation 2",
        f"   200 ms  exit           member  failed: err in {SEND_TRAP}: crasher: error on request",
        "   200 ms  escalate       team    1 restarts > intensity 0 in 5000 ms: gives up",
        "   200 ms  exit           team    failed: shutdown: reached max restart intensity: 1 restarts "
        "within 5000 ms (intensity 0)",
        "   200 ms  restart-plan   root    one_for_one after team ended: restart team",
        "   200 ms  restart        team    incarnation 2 (init) by root",
        "   200 ms  start          team    incarnation 2",
        "   200 ms  restart        member  incarnation 2 (init) by team",
        "   200 ms  start          member  incarnation 2",
        f"   300 ms  exit           k       failed: err in {SEND_TRAP}: crasher: error on request",
        "   300 ms  not-restarted  k       temporary child, abnormal exit",
        "   400 ms  spawn          late    2f9b6266 from manifest 'counter' under root",
        "   400 ms  start          late    incarnation 1",
    ]


def test_around_ms_keeps_the_window_of_records_nearest_that_time(run):
    assert report.render_timeline(run, around_ms=200, window=4).splitlines() == [
        "   ...     15 earlier lines not shown",
        f"   200 ms  exit          member  failed: err in {SEND_TRAP}: crasher: error on request",
        "   200 ms  escalate      team    1 restarts > intensity 0 in 5000 ms: gives up",
        "   200 ms  exit          team    failed: shutdown: reached max restart intensity: 1 restarts "
        "within 5000 ms (intensity 0)",
        "   200 ms  restart-plan  root    one_for_one after team ended: restart team",
        "   ...     8 later lines not shown",
    ]


def test_around_ms_between_records_takes_the_nearest_on_both_sides(run):
    assert report.render_timeline(run, around_ms=250, window=3).splitlines() == [
        "   ...     22 earlier lines not shown",
        "   200 ms  start          member  incarnation 2",
        f"   300 ms  exit           k       failed: err in {SEND_TRAP}: crasher: error on request",
        "   300 ms  not-restarted  k       temporary child, abnormal exit",
        "   ...     2 later lines not shown",
    ]


def test_kinds_chooses_the_records_shown(run):
    assert report.render_timeline(run, kinds=["send", "deliver"]).splitlines() == [
        "     0 ms  send     (outside)  msg #1 to a (4 bytes), delayed to 100 ms",
        "     0 ms  send     (outside)  msg #2 to member (3 bytes), delayed to 200 ms",
        "     0 ms  send     (outside)  msg #3 to k (3 bytes), delayed to 300 ms",
        "   100 ms  deliver  a          msg #1",
        "   200 ms  deliver  member     msg #2",
        "   300 ms  deliver  k          msg #3",
    ]


def test_a_window_must_hold_a_line(run):
    with pytest.raises(ValueError, match="window must be at least 1, got 0"):
        report.render_timeline(run, around_ms=0, window=0)


def test_every_form_of_a_trace_gives_the_same_views(run, tmp_path):
    text = run.trace.to_json(indent=1)
    path = tmp_path / "run.trace.json"
    path.write_text(text)
    forms = [run.trace, text, text.encode(), json.loads(text), json.loads(text)["records"], path,
             run.trace.records]
    expected = (report.render_tree(run), report.render_timeline(run))
    for form in forms:
        assert (report.render_tree(form), report.render_timeline(form)) == expected


def test_what_is_not_a_trace_is_refused_with_what_to_pass():
    with pytest.raises(TypeError, match="cannot read a trace from a int: pass a Runtime"):
        report.render_tree(42)
    with pytest.raises(ValueError, match="expected a dict with format 'theater-harness-trace/1'"):
        report.render_tree({"format": "other", "records": []})
    with pytest.raises(ValueError, match="record 0 is not a trace record"):
        report.render_tree([{"kind": "spawn"}])


def test_the_summary_keeps_its_format(run):
    lines = report.summary(run, "== small").splitlines()
    assert lines[:3] == [
        "== small",
        "         0 ms  spawn           root           8dc4e8e3 from manifest 'root'",
        "         0 ms  start           root           incarnation 1",
    ]
    assert "    k       aa00f094  failed   1    err: crasher: error on request" in lines


# --- the HTML page -------------------------------------------------------------------

class PageParser(HTMLParser):
    """Checks every element is closed in order, and collects the actors of each section."""

    VOID = {"meta", "input", "br", "img", "hr", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.section: str | None = None
        self.actors: dict[str, list[tuple[str, str]]] = {"tree": [], "lanes": []}
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.section = attrs.get("id")
        if "data-actor-id" in attrs and self.section in self.actors:
            self.actors[self.section].append((attrs["data-actor-id"], attrs.get("data-actor-name")))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()
        if tag == "section":
            self.section = None


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    return parser


def test_the_page_is_well_formed_and_shows_every_actor_in_the_tree_and_the_lanes(run):
    page = parse(report.render_html(run, title="small run"))
    assert page.problems == [] and page.stack == []
    actors = [(a.id, a.name) for a in run.actors]
    assert page.actors["tree"] == [(i, n) for i, n in actors]  # tree order is spawn order here
    assert sorted(page.actors["lanes"]) == sorted(actors)


def test_the_page_is_the_same_bytes_for_the_same_trace(run, tmp_path):
    page = report.render_html(run, title="t")
    assert report.render_html(run.trace.to_json(), title="t") == page
    (tmp_path / "again").mkdir()
    assert report.render_html(small_run(tmp_path / "again"), title="t") == page


def test_the_page_needs_nothing_from_outside(run):
    page = report.render_html(run, title="t")
    assert re.findall(r"https?://[^\"' ]+", page) == ["http://www.w3.org/2000/svg"]  # the SVG namespace
    assert not re.search(r"<link|<img|\bsrc=|@import|url\((?!#)", page)


def test_the_page_header_names_the_seed_and_the_scenario(run):
    run.trace.meta["scenario"] = "small <run>"
    page = report.render_html(run, title="a & b")
    assert "<h1>a &amp; b</h1>" in page
    assert "seed 1 \u00b7 scenario \u201csmall &lt;run&gt;\u201d" in page


def test_marks_carry_their_record_as_a_tooltip(run):
    page = report.render_html(run, title="t")
    assert '<g class="m failed"' in page and '<g class="m restart"' in page and '<g class="m escalate"' in page
    assert "100 ms  exit  a\nfailed: trap in theater:simple/message-server-client.handle-send" in page


def many_messages(n: int) -> list[dict]:
    records = [{"seq": 0, "t": 0, "kind": "spawn", "actor": "a" * 36, "name": "a", "parent": None},
               {"seq": 1, "t": 0, "kind": "start", "actor": "a" * 36, "incarnation": 1}]
    for i in range(n):
        records.append({"seq": len(records), "t": i, "kind": "send", "msg": i, "to": "a" * 36, "size": 1})
        records.append({"seq": len(records), "t": i + 1, "kind": "deliver", "actor": "a" * 36, "msg": i})
    return records


def test_a_page_of_many_messages_counts_them_in_bins_and_says_so():
    page = report.render_html(many_messages(3000), title="busy")
    assert "3000 messages and requests (more than 400): their records are counted per lane" in page
    assert page.count('class="agg"') <= 2 * 80 and 'class="link' not in page.split('<g class="links">')[1]
    assert len(page) < 200_000
    assert parse(page).problems == []


def test_a_page_of_few_messages_draws_an_arrow_per_delivery():
    page = report.render_html(many_messages(5), title="calm")
    links = page.split('<g class="links">')[1]
    assert links.count('<line class="link"') == 5 and 'class="agg"' not in page


# --- the timeline: a linear axis, messages at their times, states decoded ----------------

def lanes_of(page: str) -> str:
    """The lanes' SVG (the names column left out)."""
    return page[page.index('<svg xmlns'):page.index("</svg>", page.index('<svg xmlns'))]


def ticks_of(svg: str) -> list[tuple[float, str]]:
    """(x, label) of each tick, whatever order its attributes are in."""
    return [(float(re.search(r' x="([-\d.]+)"', attrs).group(1)), text)
            for attrs, text in re.findall(r"<text([^>]*data-tick=[^>]*)>([^<]*)</text>", svg)]


def marks_of(svg: str, lane: str) -> list[tuple[str, int, float, float]]:
    """(glyph, data-t, data-dx, x) of the marks in a lane (``outside``, or an actor's name)."""
    attr = 'data-lane="outside"' if lane == "outside" else f'data-actor-name="{lane}"'
    body = svg[svg.index(attr):]
    body = body[:body.index('<g class="lane')] if '<g class="lane' in body else body
    return [(glyph, int(t), float(dx), float(x)) for glyph, t, dx, x in re.findall(
        r'<g class="m (\w+)" data-t="(\d+)" data-dx="([\d.]+)" transform="translate\(([\d.]+),', body)]


def test_the_axis_has_a_tick_every_round_interval_evenly_spaced(run):
    svg = lanes_of(report.render_html(run, title="t"))
    assert ticks_of(svg) == [(16 + 125 * i, f"{50 * i} ms") for i in range(9)]  # 400 ms over 1000 px


def test_every_mark_is_at_its_time_on_the_axis(run):
    svg = lanes_of(report.render_html(run, title="t"))
    lanes = ["outside", "root", "a", "k", "team", "member", "late"]
    placed = [(t, x - dx) for lane in lanes for _, t, dx, x in marks_of(svg, lane)]
    assert len(placed) == svg.count('<g class="m ') == 28 and all(x == 16 + 2.5 * t for t, x in placed)


def test_a_send_from_outside_is_drawn_when_it_was_meant_to_leave(run):
    svg = lanes_of(report.render_html(run, title="t"))
    assert marks_of(svg, "outside") == [("msg", 100, 0, 266), ("msg", 200, 0, 516), ("msg", 300, 0, 766)]
    assert dict((label, x) for x, label in ticks_of(svg))["100 ms"] == 266


def test_an_arrow_runs_from_the_outside_lane_at_the_send_to_the_receiver_at_the_delivery(run):
    links = lanes_of(report.render_html(run, title="t")).split('<g class="links">')[1]
    # lane centres: outside 43, a 95, k 121, member 173
    assert re.findall(r'<line class="link" data-t="(\d+)" data-dx="0" data-t2="(\d+)" data-dx2="0" '
                      r'x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="([\d.]+)"', links) == [
        ("100", "100", "266", "43", "266", "95"), ("200", "200", "516", "43", "516", "173"),
        ("300", "300", "766", "43", "766", "121")]


def test_an_arrow_between_actors_slants_from_the_send_to_a_later_delivery():
    records = [{"seq": 0, "t": 0, "kind": "spawn", "actor": "a" * 36, "name": "a", "parent": None},
               {"seq": 1, "t": 0, "kind": "spawn", "actor": "b" * 36, "name": "b", "parent": None},
               {"seq": 2, "t": 100, "kind": "send", "actor": "a" * 36, "msg": 1, "to": "b" * 36, "size": 1},
               {"seq": 3, "t": 300, "kind": "deliver", "actor": "b" * 36, "msg": 1}]
    links = lanes_of(report.render_html(records, title="t")).split('<g class="links">')[1]
    assert re.findall(r'x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="([\d.]+)"', links) == [
        ("349.3", "43", "1016", "69")]  # 16 + 100 / 300 * 1000 px, lane a -> 16 + 1000 px, lane b


def test_the_records_one_lane_has_in_one_millisecond_are_a_step_apart_in_order(run):
    svg = lanes_of(report.render_html(run, title="t"))
    assert [(glyph, dx) for glyph, t, dx, _ in marks_of(svg, "a") if t == 100] == [
        ("msg", 0), ("log", 12), ("failed", 24), ("restart", 36)]  # deliver, log, exit, restart; start at 48


def test_a_send_from_outside_records_its_delay_only_when_it_has_one():
    rt = Runtime(seed=1)
    counter = rt.spawn(manifest("counter"))
    rt.send(counter, "inc")
    rt.send(counter, "inc", delay_ms=500)
    rt.request(counter, "get", delay_ms=700)
    rt.run_until_idle()
    assert [(r.time_ms, r.fields.get("delay_ms")) for r in rt.trace.of_kind("send", "request")] == [
        (0, None), (0, 500), (0, 700)]


def test_the_zoom_control_goes_up_to_50_px_per_millisecond(run):
    page = report.render_html(run, title="t")
    assert 'data-scale="2.5" data-end="400"' in page and 'data-max-zoom="20.0"' in page
    assert '<input type="range" id="zoom" min="0" max="1000" value="0">' in page


def test_a_run_of_one_instant_cannot_be_zoomed():
    page = report.render_html([{"seq": 0, "t": 0, "kind": "spawn", "actor": "a" * 36, "name": "a"}], title="t")
    assert 'data-max-zoom="1.0"' in page and 'id="zoom" min="0" max="1000" value="0" disabled>' in page


@pytest.mark.parametrize("px_per_ms, step", [(2.5, 50), (10, 10), (0.5, 200), (0.05, 2000), (0.02, 5000), (100, 1)])
def test_ticks_are_1_2_or_5_times_a_power_of_ten_ms_at_least_80_px_apart(px_per_ms, step):
    assert tick_step(px_per_ms) == step


def test_ticks_whole_seconds_apart_are_labelled_in_seconds():
    assert [tick_label(t, 2000) for t in (0, 2000, 4000)] == ["0 s", "2 s", "4 s"]
    assert [tick_label(t, 500) for t in (0, 500, 1000)] == ["0 ms", "500 ms", "1000 ms"]


def test_a_tooltip_shows_a_state_beside_its_digest(run):
    page = html.unescape(report.render_html(run, title="t"))
    assert '100 ms  exit  a\nfailed: trap' in page
    assert '\nstate: 0ed34a20327df7ef {"fail_at":0,"mode":"trap","seen":0}\nstatus: failed\nseq 29' in page


def test_a_band_says_which_state_its_incarnation_started_from(run):
    page = html.unescape(report.render_html(run, title="t"))
    assert ('late incarnation 1: from 400 ms to the end; its state at start 618de7d9f46f3f69 {"count":0}'
            in page)


def test_a_state_the_trace_holds_only_as_a_digest_says_so():
    records = [{"seq": 0, "t": 0, "kind": "spawn", "actor": "a" * 36, "name": "a", "init_state": "0123456789abcdef"}]
    assert "init_state: 0123456789abcdef (bytes not in the trace)" in report.render_html(records, title="t")


def chromium_dom(tmp_path, url: str) -> str:
    """The page's DOM after its script ran, in headless Chromium."""
    started = time.monotonic()
    result = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert time.monotonic() - started < 60
    assert re.search(r'<body[^>]* data-rendered="1"', result.stdout), "the page's script did not run"
    return result.stdout


NEEDS_CHROMIUM = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                    "(apt-get install -y chromium)")


@NEEDS_CHROMIUM
def test_the_page_shows_every_actor_in_headless_chromium(run, tmp_path):
    page = tmp_path / "run.html"
    page.write_text(report.render_html(run, title="small run"), encoding="utf-8")
    dom = chromium_dom(tmp_path, page.as_uri())
    total = len(run.actors)
    assert f'data-actors-total="{total}" data-actors-shown="{total}"' in dom
    assert f"{total} of {total} actors shown in the tree and the lanes." in dom


@NEEDS_CHROMIUM
def test_zoomed_in_chromium_the_ticks_stay_even_and_a_send_stays_at_its_time(run, tmp_path):
    page = tmp_path / "run.html"
    page.write_text(report.render_html(run, title="small run"), encoding="utf-8")
    svg = lanes_of(chromium_dom(tmp_path, page.as_uri() + "#zoom=4"))  # 10 px per ms
    assert 'data-zoom="4"' in svg
    assert ticks_of(svg) == [(16 + 100 * i, f"{10 * i} ms") for i in range(41)]
    assert [x for _, t, _, x in marks_of(svg, "outside")] == [1016, 2016, 3016]  # 100, 200, 300 ms
