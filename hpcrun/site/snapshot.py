"""A site config as recorded with a run: the validated ``Site`` as canonical JSON.

What a run needs after its submission (the scheduler kind, the login, ``remote_root``) is
all inside the model, so a run keeps working when its YAML moves or changes. Values are
kept as written: ``~`` in ``login.identity_file``/``known_hosts`` expands when used, and
``templates:`` (relative to the YAML) only matters when a script is rendered, before the
submission.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from hpcrun.errors import UsageError

if TYPE_CHECKING:
    from hpcrun.site.models import Site


def site_snapshot(site: Site) -> str:
    """Canonical JSON (sorted keys): equal configs give equal text."""
    return json.dumps(site.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def site_from_snapshot(text: str) -> Site:
    """The ``Site`` a snapshot describes, validated again; a UsageError if it does not
    validate (written by another hpcrun version, or damaged)."""
    from pydantic import ValidationError

    from hpcrun.site.models import Site

    try:
        return Site.model_validate(json.loads(text))
    except (ValueError, ValidationError) as exc:  # json's and pydantic's errors
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise UsageError(f"the recorded site config does not validate: {detail}") from None
