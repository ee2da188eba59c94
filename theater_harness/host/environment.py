"""`theater:simple/environment` (component era): environment variables, from the world.

Theater's environment handler (``crates/deprecated/theater-handler-environment`` @TH) reads
the variables of the Theater process, filtered by the handler's config; here the process
is the simulated world, so an actor sees:

- the variables its manifest gives, ``[[handler]] type = "environment"`` with
  ``vars = { NAME = "value", ... }`` (theater-harness's own key: Theater's config gives no
  values), overlaid by
- the test's, ``World(env={...})``: where both name a variable, the test's value wins (a
  test sets up the machine the actor runs on, and may override any actor's defaults
  without editing its manifest).

The filters are Theater's config keys, with Theater's semantics: ``get-var`` and
``exists`` refuse (``none``, ``false``) a variable in ``denied_vars``, one missing from
``allowed_vars`` when that is given, and one without any of ``allowed_prefixes`` when
those are given (``PermissionChecker::check_env_var_access``); ``list-vars`` is empty
unless ``allow_list_all = true``, and then lists the variables
``EnvironmentHandlerConfig::is_variable_allowed`` lets through (denied first; then
``allowed_vars`` alone decides when given, else ``allowed_prefixes``), sorted by name
(Theater lists them in the process's order).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .world_calls import world_functions


def _config(actor: Any) -> Mapping[str, Any]:
    handler = actor.manifest.handler("environment") if actor is not None else None
    return handler.config if handler is not None else {}


def _variables(rt: Any, actor: Any) -> dict[str, str]:
    """The actor's environment: its manifest's ``vars`` overlaid by the world's."""
    return {**_config(actor).get("vars", {}), **rt.world.env}


def _accessible(config: Mapping[str, Any], name: str) -> bool:
    """Theater's ``check_env_var_access``: every filter given must let ``name`` through."""
    if name in config.get("denied_vars", ()):
        return False
    if config.get("allowed_vars") is not None and name not in config["allowed_vars"]:
        return False
    prefixes = config.get("allowed_prefixes")
    return prefixes is None or any(name.startswith(p) for p in prefixes)


def _listed(config: Mapping[str, Any], name: str) -> bool:
    """Theater's ``is_variable_allowed`` (what ``list-vars`` shows)."""
    if name in config.get("denied_vars", ()):
        return False
    if config.get("allowed_vars") is not None:
        return name in config["allowed_vars"]
    if config.get("allowed_prefixes") is not None:
        return any(name.startswith(p) for p in config["allowed_prefixes"])
    return True


def get_var(rt: Any, actor: Any, name: str) -> str | None:
    if not _accessible(_config(actor), name):
        return None
    return _variables(rt, actor).get(name)


def exists(rt: Any, actor: Any, name: str) -> bool:
    return get_var(rt, actor, name) is not None


def list_vars(rt: Any, actor: Any) -> list[tuple[str, str]]:
    config = _config(actor)
    if not config.get("allow_list_all", False):
        return []
    return [(name, value) for name, value in sorted(_variables(rt, actor).items()) if _listed(config, name)]


FUNCTIONS = world_functions("environment", {"get-var": get_var, "list-vars": list_vars, "exists": exists})
