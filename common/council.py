"""The council's own contact points (``DATA_DIR/council.yml``), read one way by everyone.

    load_council() -> the file's mapping, checked

The gateway (the widget's switchboard, the privacy notice's placeholders) and the action
server (``action_contact``, the nearest social-service desk) read it here. One rule for
names: a key the schema below does not know, or a required key that is missing, is a
:class:`ContentError` naming the key and the file — a typo never silently hides a field.
The file is reloaded when it changes (``common.content.load_yaml``).
"""

from __future__ import annotations

from typing import Any

from common.content import ContentError, load_yaml

COUNCIL_FILE = "council.yml"

# Each mapping's keys: required, then optional.
_TOP = (("name", "switchboard", "main_desk"), ("owner", "last_reviewed", "source", "desks"))
_SWITCHBOARD = (("phone", "hours", "email"), ())
_MAIN_DESK = (("name", "address", "hours"), ())
# ``hours`` is said to people, ``horaires`` is OSM opening_hours (« ouvert samedi ? »).
_DESK = (
    ("name", "commune", "address", "phone", "hours"),
    ("departement", "horaires", "appointment"),
)


def _check(value: Any, where: str, schema: tuple[tuple[str, ...], tuple[str, ...]]) -> None:
    required, optional = schema
    if not isinstance(value, dict):
        raise ContentError(f"{COUNCIL_FILE}: {where or 'the file'} must be a mapping")
    prefix = f"{where}." if where else ""
    unknown = sorted(set(map(str, value)) - set(required) - set(optional))
    if unknown:
        raise ContentError(f"{COUNCIL_FILE}: unknown key {prefix}{unknown[0]}")
    for name in required:
        if value.get(name) in (None, ""):
            raise ContentError(f"{COUNCIL_FILE}: {prefix}{name} is missing")


def load_council() -> dict[str, Any]:
    """The content of ``council.yml``, checked (see the module's rule); do not modify it."""
    content = load_yaml(COUNCIL_FILE)
    _check(content, "", _TOP)
    _check(content["switchboard"], "switchboard", _SWITCHBOARD)
    _check(content["main_desk"], "main_desk", _MAIN_DESK)
    desks = content.get("desks") or []
    if not isinstance(desks, list):
        raise ContentError(f"{COUNCIL_FILE}: desks must be a list")
    for number, desk in enumerate(desks):
        _check(desk, f"desks[{number}]", _DESK)
    return content
