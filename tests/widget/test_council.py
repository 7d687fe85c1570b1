"""``council.yml`` is read one way (``common.council``): an unknown or missing key is
refused with an error naming the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from common.config import PROJECT_ROOT
from common.content import ContentError
from common.council import load_council
from integrations.widget.config import load_council as widget_council


@pytest.fixture
def council_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    return tmp_path


def write(folder: Path, content: dict) -> None:
    (folder / "council.yml").write_text(yaml.safe_dump(content, allow_unicode=True))


def real() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "data" / "council.yml").read_text(encoding="utf-8"))


def test_the_shipped_file_is_accepted_by_the_gateway_and_the_loader() -> None:
    council = load_council()
    assert council["switchboard"]["phone"] == widget_council().phone
    assert council["desks"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(switchbord=c["switchboard"]), "unknown key switchbord"),
        (lambda c: c["switchboard"].update(fax="02"), "unknown key switchboard.fax"),
        (lambda c: c["desks"][1].update(phnoe="02"), r"unknown key desks\[1\]\.phnoe"),
        (lambda c: c["switchboard"].pop("email"), "switchboard.email is missing"),
        (lambda c: c["main_desk"].pop("address"), "main_desk.address is missing"),
        (lambda c: c.pop("name"), "name is missing"),
    ],
)
def test_an_unknown_or_missing_key_is_refused_with_its_name_and_file(
    council_dir: Path, change, message: str
) -> None:
    content = real()
    change(content)
    write(council_dir, content)
    with pytest.raises(ContentError, match=rf"^council\.yml: {message}"):
        load_council()
    with pytest.raises(ContentError, match=rf"^council\.yml: {message}"):
        widget_council()
