"""`theater:simple/http-client`: requests answered by the world (routes or a callable),
latency in virtual time, Theater's error texts, and no network."""

from __future__ import annotations

import socket

import pytest

from conftest import ACTORS, manifest
from theater_harness import Runtime
from theater_harness.exit import HOST_ERROR
from theater_harness.host import HOST_FUNCTIONS
from theater_harness.host import http_client as http_host
from theater_harness.world import Request, Response, World

F = http_host.FUNCTIONS
ROUTES = {"GET https://api.example.com/items/*": {"status": 200, "body": "[1]", "headers": {"X-Count": "1"}},
          "GET https://api.example.com/items/7": 404,  # after the wildcard: never answers
          "* https://api.example.com/echo": {"body": "echo", "latency_ms": 25}}


def request(method: str = "GET", uri: str = "https://api.example.com/items/1", body: bytes | None = None) -> dict:
    return {"method": method, "uri": uri, "headers": [("accept", "text/plain")], "body": body}


def actor_of(rt: Runtime):
    text = (f'name = "h"\ncomponent = "{ACTORS / "counter.wasm"}"\n[[handler]]\ntype = "runtime"\n'
            f'[[handler]]\ntype = "http-client"\n')
    return rt._resolve(rt.spawn(text))


@pytest.fixture
def rt() -> Runtime:
    return Runtime(seed=1, world=World(http=ROUTES))


def test_registered_with_the_host():
    assert HOST_FUNCTIONS["http-client"] is F and list(F) == ["send-http"]


def test_the_first_matching_route_answers(rt):
    a = actor_of(rt)
    assert F["send-http"](rt, a, request(uri="https://api.example.com/items/7")) == (
        True, {"status": 200, "headers": [("x-count", "1")], "body": b"[1]"})  # header names lowercase
    assert F["send-http"](rt, a, request("DELETE", "https://api.example.com/echo")) == (
        True, {"status": 200, "headers": [], "body": b"echo"})  # a caller that cannot wait: at once


@pytest.mark.parametrize("req, error", [
    (request("GET", "https://api.example.com/other"),
     "error sending request for url (https://api.example.com/other): the world has no route for GET"),
    (request("POST", "https://api.example.com/items/1"),
     "error sending request for url (https://api.example.com/items/1): the world has no route for POST"),
    (request("GE T"), "Invalid HTTP method: invalid HTTP method"),
    (request(""), "Invalid HTTP method: invalid HTTP method"),
    (request(uri="api.example.com/items/1"), "builder error"),
    (request(uri="ftp://api.example.com/items/1"), "builder error for url (ftp://api.example.com/items/1)"),
])
def test_errors_are_theaters(rt, req, error):
    assert F["send-http"](rt, actor_of(rt), req) == (False, error)


def test_every_request_that_reached_the_world_is_kept(rt):
    a = actor_of(rt)
    F["send-http"](rt, a, request(body=b"x"))
    F["send-http"](rt, a, request(uri="https://elsewhere/"))
    F["send-http"](rt, a, request("GE T"))  # never left the actor's host
    assert [(e.actor, e.request, e.response and e.response.status) for e in rt.world.exchanges] == [
        (a.id, Request("GET", "https://api.example.com/items/1", (("accept", "text/plain"),), b"x"), 200),
        (a.id, Request("GET", "https://elsewhere/", (("accept", "text/plain"),)), None)]


def test_the_response_arrives_after_its_latency_in_virtual_time():
    rt = Runtime(seed=1, world=World(http={"POST https://api.example.com/sync": {"body": "done", "latency_ms": 250}},
                                     files={"srv/world_user/config.txt": "https://api.example.com/sync"}))
    actor = rt.spawn(manifest("world_user"))
    pending = rt.request(actor, "sync")
    rt.run(249)
    assert not pending.done
    rt.run(250)
    assert (pending.done, pending.reply) == (True, b"200 done")
    [sent] = [r for r in rt.trace.dicts() if r["kind"] == "world" and r["function"] == "send-http"]
    assert (sent["t"], sent["latency_ms"]) == (0, 250)


def test_a_callable_answers_with_any_response_form():
    answers = iter([Response(500), {"status": 201, "body": b"made"}, "plain", 204])
    rt = Runtime(seed=1, world=World(http=lambda req: next(answers)))
    a = actor_of(rt)
    assert [F["send-http"](rt, a, request())[1]["status"] for _ in range(4)] == [500, 201, 200, 204]


def test_a_callable_that_answers_nonsense_fails_the_actor_naming_why():
    rt = Runtime(seed=1, world=World(http=lambda req: 2.5, files={"srv/world_user/config.txt": "https://x/"}))
    actor = rt.spawn(manifest("world_user"))
    rt.request(actor, "sync")
    rt.run_until_idle()
    reason = rt.actor(actor).exit_reason
    assert reason.kind == HOST_ERROR
    assert reason.host_import == "theater:simple/http-client.send-http"
    assert reason.message.startswith("WorldError: field 'http (the answer to POST https://x/)': expected a response: "
                                     "a Response, a dict with status, headers, body, latency_ms, a status code or a "
                                     "body (str or bytes), got float")


def test_no_socket_is_opened(rt, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket, "socket", forbidden)
    monkeypatch.setattr(socket, "getaddrinfo", forbidden)
    assert F["send-http"](rt, actor_of(rt), request(uri="https://example.com/"))[0] is False
