"""The options the pytest plugin and the command line share, declared once: each takes `add(parser.add_argument, ...)`
or `add(group.addoption, ...)`, which have the same signature."""

from __future__ import annotations

import os
from typing import Any, Callable

from harness.specs import PROJECT_ROOT

OPTIONS: dict[str, dict[str, Any]] = {
    "--profile": dict(default="quick", help="profile name in profiles/ or a YAML path (default: quick)"),
    "--model": dict(default=None, help="model alias, local directory or hub id (default: the profile's)"),
    "--seeds": dict(default=None, help="comma-separated seeds (default: the profile's)"),
    "--data-dir": dict(
        default=os.environ.get("HARNESS_DATA_DIR"),
        help="local mirror <task>/<split>.jsonl.gz (default: $HARNESS_DATA_DIR, else the hub)",
    ),
    "--results-dir": dict(
        default=os.environ.get("HARNESS_RESULTS_DIR", str(PROJECT_ROOT / ".harness")),
        help="results store (default: $HARNESS_RESULTS_DIR, else .harness/)",
    ),
}


def add(add_option: Callable[..., Any], *names: str, **changes: dict[str, Any]) -> None:
    """Declares the shared options `names` with `add_option`; `changes` maps an option's dest (`profile`) to what
    differs for this command (`default="full"`, `required=True`)."""
    for name in names:
        settings = OPTIONS[name] | changes.get(name.lstrip("-").replace("-", "_"), {})
        if settings.get("required"):
            settings.pop("default", None)
        add_option(name, **settings)
