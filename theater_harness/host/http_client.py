"""`theater:simple/http-client` (component era): HTTP requests, answered by the world.

``send-http(http-request) -> result<http-response, string>`` goes to no network: the run's
``World`` answers it (its route table or its callable, ``theater_harness.world``), and the
response reaches the actor ``latency_ms`` of virtual time later (the actor's call waits
meanwhile; ``http-client.send-http`` is a blocking import). Every request, answered or
not, is kept in ``rt.world.exchanges``.

As Theater's handler (``crates/deprecated/theater-handler-http-client`` @TH, reqwest 0.12)
answers: a method that is not an HTTP token is ``Invalid HTTP method: invalid HTTP
method``; a URI that is not an absolute URL is ``builder error``, one whose scheme is not
http or https ``builder error for url (<uri>)``; a response's header names are lowercase
(as the ``http`` crate keeps them) and its body is always ``some`` (empty when the world
gives none). A request no route matches fails as an unreachable server does, ``error
sending request for url (<uri>)``, followed by ``: the world has no route for <METHOD>``
(Theater's text stops before the colon). Theater's permission policy for HTTP is not
applied.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from ..world import Exchange, Request
from .world_calls import Delayed, charge, world_functions

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token: what reqwest accepts as a method


def send_http(rt: Any, actor: Any, request: dict) -> Any:
    method, uri = request["method"], request["uri"]
    headers = tuple((str(name), str(value)) for name, value in request["headers"])
    body = request["body"]
    charge(rt, actor, "http-client", "send-http",
           len(uri) + sum(len(n) + len(v) for n, v in headers) + len(body or b""))
    if not _TOKEN.fullmatch(method):
        return (False, "Invalid HTTP method: invalid HTTP method")
    parts = urlsplit(uri)
    if not parts.scheme or not parts.netloc:
        return (False, "builder error")
    if parts.scheme not in ("http", "https"):
        return (False, f"builder error for url ({uri})")
    sent = Request(method, uri, headers, None if body is None else bytes(body))
    response = rt.world.answer(sent)
    rt.world.exchanges.append(Exchange(rt.now, actor.id, sent, response))
    if response is None:
        return (False, f"error sending request for url ({uri}): the world has no route for {method}")
    answer = {"status": response.status, "headers": [(n.lower(), v) for n, v in response.headers],
              "body": response.body}
    return Delayed((True, answer), response.latency_ms)


FUNCTIONS = world_functions("http-client", {"send-http": send_http})
