"""Our trained components tell Rasa's cache about their code and data files, so that a
change to either trains them anew instead of restoring the old ones."""

from __future__ import annotations

import sys
from pathlib import Path

import rasa_ext.linear_intent
from rasa_ext.gazetteer import GazetteerEntityExtractor
from rasa_ext.linear_intent import LinearIntentEnsemble
from rasa_ext.postcode import PostcodeExtractor
from rasa_ext.storage import project_modules
from rasa_ext.unknown_words import UnknownWordsFallback

HEADER = "code_insee,nom,codes_postaux\n"


def test_the_fingerprint_covers_the_project_modules_a_component_uses_and_no_other():
    used = {m.__name__ for m in project_modules({rasa_ext.linear_intent})}
    assert {"rasa_ext.linear_intent", "rasa_ext.storage", "common.text"} <= used
    assert not {name for name in used if not name.startswith(("rasa_ext.", "common."))}
    assert "rasa_ext.gazetteer" not in used  # not imported by the linear model


def test_a_changed_communes_file_changes_the_postcode_fingerprint(tmp_path: Path):
    communes = tmp_path / "communes.csv"
    communes.write_text(HEADER + "29019,Brest,29200\n", encoding="utf-8")
    config = {"communes_file": str(communes)}
    before = PostcodeExtractor.fingerprint_addon(config)
    assert PostcodeExtractor.fingerprint_addon(config) == before  # stable
    communes.write_text(HEADER + "29019,Brest,29200|29240\n", encoding="utf-8")
    assert PostcodeExtractor.fingerprint_addon(config) != before


def test_a_changed_helper_module_changes_the_fingerprint(monkeypatch):
    """common/text.py read as if edited: every component built on it gets a new fingerprint,
    the one that does not import it keeps its own."""
    components = (LinearIntentEnsemble, GazetteerEntityExtractor, UnknownWordsFallback)
    before = {c: c.fingerprint_addon({}) for c in components}
    postcode = PostcodeExtractor.fingerprint_addon({})
    edited = Path(sys.modules["common.text"].__file__)
    read_bytes = Path.read_bytes
    monkeypatch.setattr(
        Path, "read_bytes", lambda p: read_bytes(p) + (b"\n# edited" if p == edited else b"")
    )
    assert all(c.fingerprint_addon({}) != before[c] for c in components)
    assert PostcodeExtractor.fingerprint_addon({}) == postcode
