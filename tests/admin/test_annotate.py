"""Annotations are written to the project's data files, validated by Rasa, and audited."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from common.config import PROJECT_ROOT
from common.db import make_engine
from common.migrate import upgrade
from integrations.admin.annotate import Action, AnnotationError, Annotator, ProjectData
from integrations.admin.audit import AuditLog
from integrations.admin.inbox import Inbox, Status
from integrations.admin.project import Project
from tests.admin.conftest import RasaEvents
from tools.validate import validate


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'admin.db'}"


@pytest.fixture
def annotator(project: Path, tmp_path: Path, database_url: str) -> Annotator:
    upgrade(database_url)
    engine = make_engine(database_url)
    data = ProjectData(Project(root=project, models_dir=tmp_path / "models"))
    return Annotator(Inbox(engine), data, AuditLog(engine))


@pytest.fixture
def rasa_events(database_url: str) -> RasaEvents:
    return RasaEvents(database_url)


async def add_item(annotator: Annotator, events: RasaEvents, text: str) -> int:
    """``text`` said to Rasa with a low confidence, then collected into the inbox."""
    await events.user_says("web:test", text, "greet", 0.31)
    assert annotator.inbox.collect() == 1
    [item] = [i for i in annotator.inbox.items(status=None) if i.text == text]
    return item.id


def assert_unseen(project: Path, *texts: str) -> None:
    """The test's sentences are new to the project's training data (an annotation of a
    sentence already there adds nothing, by design)."""
    known = "\n".join(p.read_text(encoding="utf-8") for p in (project / "nlu_data").rglob("*.yml"))
    for text in texts:
        assert f"- {text}\n" not in known, f"« {text} » is in the training data: pick another"


def examples_of(path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        found[block["intent"]] = [
            line.strip()[2:] for line in block["examples"].splitlines() if line.strip()
        ]
    return found


async def test_existing_intent_new_intent_out_of_scope_and_ignore(
    annotator: Annotator, rasa_events: RasaEvents, project: Path
) -> None:
    assert_unseen(
        project,
        "quand est-ce que la fibre arrive au bourg de Plouzané",
        "comment refaire ma carte grise perdue",
        "tu connais la recette du kouign-amann",
    )
    fibre = await add_item(
        annotator, rasa_events, "quand est-ce que la fibre arrive au bourg de Plouzané"
    )
    new = await add_item(annotator, rasa_events, "comment refaire ma carte grise perdue")
    away = await add_item(annotator, rasa_events, "tu connais la recette du kouign-amann")
    noise = await add_item(annotator, rasa_events, "azerty")

    annotator.annotate(fibre, Action.INTENT, "camille", intent="ask_fibre")
    annotator.annotate(
        new,
        Action.NEW_INTENT,
        "camille",
        intent="ask_carte_grise",
        response="La carte grise se demande sur le site de l'ANTS ou en France Services.",
    )
    annotator.annotate(away, Action.OUT_OF_SCOPE, "camille")
    annotator.annotate(noise, Action.IGNORE, "camille")

    train = examples_of(project / "nlu_data" / "train" / "annotations.yml")
    assert train == {
        "ask_fibre": ["quand est-ce que la fibre arrive au bourg de Plouzané"],
        "ask_carte_grise": ["comment refaire ma carte grise perdue"],
        "out_of_scope": ["tu connais la recette du kouign-amann"],
    }
    domain = yaml.safe_load((project / "bot" / "domain" / "annotations.yml").read_text())
    assert domain["intents"] == ["ask_carte_grise"]
    assert domain["responses"]["utter_ask_carte_grise"][0]["text"].startswith("La carte grise")
    rules = yaml.safe_load((project / "bot" / "rules" / "annotations.yml").read_text())
    assert rules["rules"][0]["steps"] == [
        {"intent": "ask_carte_grise"},
        {"action": "utter_ask_carte_grise"},
    ]
    assert "ask_carte_grise" in annotator.data.intents()

    statuses = {i.id: (i.status, i.resolution) for i in annotator.inbox.items(status=None)}
    assert statuses == {
        fibre: (Status.ANNOTATED, "ask_fibre"),
        new: (Status.ANNOTATED, "ask_carte_grise"),
        away: (Status.OUT_OF_SCOPE, "out_of_scope"),
        noise: (Status.IGNORED, None),
    }
    audit = annotator.audit.latest()
    assert [e.action for e in audit] == [
        "annotate.ignore",
        "annotate.out_of_scope",
        "annotate.new_intent",
        "annotate.intent",
    ]
    assert {e.actor for e in audit} == {"camille"}
    assert audit[-1].detail["intent"] == "ask_fibre"
    assert audit[-1].detail["text"] == "quand est-ce que la fibre arrive au bourg de Plouzané"

    # The repository's own files are untouched.
    assert not (PROJECT_ROOT / "nlu_data" / "train" / "annotations.yml").exists()

    # What Rasa's validator says about the edited project (as tools/validate.py judges it).
    result = await asyncio.to_thread(
        validate,
        project,
        env={
            "PATH": str(PROJECT_ROOT / ".venv" / "bin"),
            "PYTHONPATH": str(PROJECT_ROOT),
            "RASA_TELEMETRY_ENABLED": "false",
            "HOME": str(project),
        },
        timeout=900,
    )
    assert result.returncode == 0, result.output[-3000:]
    assert result.problems == []


async def test_a_second_annotation_of_the_same_intent_appends(
    annotator: Annotator, rasa_events: RasaEvents, project: Path
):
    assert_unseen(project, "kenavo ar c'hoaz", "kenavo d'an distro")
    first = await add_item(annotator, rasa_events, "kenavo ar c'hoaz")
    second = await add_item(annotator, rasa_events, "kenavo d'an distro")
    annotator.annotate(first, Action.INTENT, "camille", intent="goodbye")
    annotator.annotate(second, Action.INTENT, "camille", intent="goodbye")
    assert examples_of(project / "nlu_data" / "train" / "annotations.yml") == {
        "goodbye": ["kenavo ar c'hoaz", "kenavo d'an distro"]
    }


async def test_held_out_split_and_leak_protection(
    annotator: Annotator, rasa_events: RasaEvents, project: Path
) -> None:
    item = await add_item(annotator, rasa_events, "wifi gratuit dans ma commune")
    annotator.annotate(item, Action.INTENT, "camille", intent="find_digital_place", split="test")
    assert examples_of(project / "nlu_data" / "test" / "annotations.yml") == {
        "find_digital_place": ["wifi gratuit dans ma commune"]
    }
    # A held-out example must never become a training example, whatever its case.
    await rasa_events.user_says("web:other", "WIFI gratuit dans ma commune !", "greet", 0.2)
    assert annotator.inbox.collect() == 1
    [grouped] = annotator.inbox.items(status=None)
    assert (grouped.id, grouped.count) == (item, 2)  # same words: one item
    data = annotator.data
    with pytest.raises(AnnotationError) as err:
        data.add_example("Wifi gratuit dans ma commune", "find_digital_place", "train")
    assert err.value.code == "in_other_split"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"action": Action.INTENT, "intent": "does_not_exist"}, "unknown_intent"),
        ({"action": Action.INTENT, "intent": "nlu_fallback"}, "unknown_intent"),
        (
            {"action": Action.NEW_INTENT, "intent": "Carte Grise", "response": "x"},
            "invalid_intent_name",
        ),
        ({"action": Action.NEW_INTENT, "intent": "ask_fibre", "response": "x"}, "intent_exists"),
        (
            {"action": Action.NEW_INTENT, "intent": "ask_carte_grise", "response": " "},
            "response_required",
        ),
    ],
)
async def test_invalid_annotations_are_refused_and_nothing_is_written(
    annotator: Annotator, rasa_events: RasaEvents, project: Path, kwargs: dict, code: str
) -> None:
    item = await add_item(annotator, rasa_events, "comment refaire ma carte grise perdue")
    with pytest.raises(AnnotationError) as err:
        annotator.annotate(item, actor="camille", **kwargs)
    assert err.value.code == code
    assert not (project / "nlu_data" / "train" / "annotations.yml").exists()
    assert not (project / "bot" / "domain" / "annotations.yml").exists()
    assert annotator.inbox.get(item).status is Status.OPEN
    assert annotator.audit.latest() == []


async def test_an_example_of_another_intent_is_refused(
    annotator: Annotator, rasa_events: RasaEvents
) -> None:
    item = await add_item(annotator, rasa_events, "bonjour")  # a greet example of the training data
    with pytest.raises(AnnotationError) as err:
        annotator.annotate(item, Action.INTENT, "camille", intent="goodbye")
    assert err.value.code == "conflicting_example"
    # The same intent: nothing to write, the item is still resolved.
    result = annotator.annotate(item, Action.INTENT, "camille", intent="greet")
    assert result.written is False


async def test_rasa_markup_in_a_message_is_neutralised(
    annotator: Annotator, rasa_events: RasaEvents, project: Path
) -> None:
    item = await add_item(annotator, rasa_events, "je cherche [Brest](commune) et {truc}")
    annotator.annotate(item, Action.INTENT, "camille", intent="find_digital_place")
    [line] = examples_of(project / "nlu_data" / "train" / "annotations.yml")["find_digital_place"]
    assert "[" not in line and "]" not in line
