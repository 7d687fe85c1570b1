"""Annotate, retrain, evaluate, activate, refuse, override, roll back — for real.

A real Rasa server and action server run the repository's trained model (a copy);
the gateway edits a copy of the project with fewer training epochs, so that each of
the two trainings of this module takes a couple of minutes.

The tests do not depend on their order: each asks for the models it needs
(:func:`retrained`, :func:`refused`), trained the first time one is asked for and kept for
the module, and a test that changes the active model puts it back (:func:`restored`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from aiohttp.test_utils import TestClient

from common.config import PROJECT_ROOT
from integrations.admin.registry import ModelStatus, ModelVersion
from integrations.admin.service import child_env
from integrations.keys import ADMIN
from integrations.settings import AdminSettings, Settings
from tests.admin.conftest import TEST_DIET_EPOCHS, copy_project, set_epochs, without_component
from tests.gateway.conftest import GatewayClient, console_login, staff_user
from tools.stack import Stack, newest_model, running_stack

MISUNDERSTOOD = "eskerrik asko"  # "thank you very much" in Basque: no French word in it
INTENT = "thank"
TRAINING_WITHIN_S = 1500.0
# A test that trains is given the training's own bound and a margin for the rest.
pytestmark = [
    pytest.mark.model,
    pytest.mark.stack,
    pytest.mark.long,
    pytest.mark.timeout(TRAINING_WITHIN_S + 300),
]
PASSWORD = "mot-de-passe-solide"
T = TypeVar("T")


@dataclasses.dataclass
class Retrained:
    """The annotation and training done in the console, and what the console showed."""

    second_start: tuple[int, str]  # a second "train" while the first runs: status, page
    models_page: str  # the models page during the training
    progress: list[dict[str, Any]]  # every distinct progress the console's script showed
    model: str  # file name of the new model


@dataclasses.dataclass
class Refused:
    """The retraining by the CLI of a deliberately worse configuration."""

    result: subprocess.CompletedProcess[str]
    model: str


@dataclasses.dataclass
class World:
    settings: Settings
    stack: Stack
    project: Path
    models: Path
    baseline: str  # file name of the repository's model Rasa started with
    done: dict[str, Any] = dataclasses.field(default_factory=dict)  # trainings made once


@pytest.fixture(scope="module")
def baseline_model(request: pytest.FixtureRequest) -> Path:
    """The model Rasa starts with: the newest of MODEL_DIR, trained only when there is none."""
    try:
        return newest_model(Path(os.environ.get("MODEL_DIR", PROJECT_ROOT / "models")))
    except FileNotFoundError:
        return request.getfixturevalue("trained_model")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, baseline_model: Path) -> Iterator[World]:
    root = tmp_path_factory.mktemp("retrain")
    project = copy_project(root / "project", diet_epochs=TEST_DIET_EPOCHS)
    models = root / "models"
    models.mkdir()
    baseline = shutil.copy2(baseline_model, models / baseline_model.name)
    database_url = f"sqlite:///{root / 'assistant.db'}"
    with running_stack(Path(baseline), database_url, root / "logs") as stack:
        settings = Settings(
            database_url=database_url,
            rasa_url=stack.rasa_url,
            rasa_token=stack.token,
            gateway_channel_secret=stack.gateway_secret,
            action_server_url=f"{stack.actions_url}/webhook",
            rasa_timeout_s=60,
            admin=AdminSettings(project_dir=project, models_dir=models, tolerance=0.02),
        )
        staff_user(settings, "camille", PASSWORD, "admin", "Camille")
        yield World(settings, stack, project, models, baseline_model.name)


def running_model(world: World) -> str:
    return Path(
        requests.get(
            f"{world.stack.rasa_url}/status", params={"token": world.stack.token}, timeout=10
        ).json()["model_file"]
    ).name


async def admin_client(gateway_client: GatewayClient, world: World) -> tuple[TestClient, str]:
    client = await gateway_client(world.settings)
    return client, await console_login(client, "camille", PASSWORD)


async def versions(client: TestClient) -> list[ModelVersion]:
    return await asyncio.to_thread(client.app[ADMIN].registry.versions)


async def admin_cli(
    world: World, command: str, within_s: float
) -> subprocess.CompletedProcess[str]:
    """``python -m integrations.admin <command> --by cli:test`` on the world's settings."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "integrations.admin", command, "--by", "cli:test"],
        cwd=PROJECT_ROOT,
        env=child_env(world.settings),
        capture_output=True,
        text=True,
        timeout=within_s,
    )


async def follow_training(client: TestClient) -> list[dict[str, Any]]:
    """Every distinct progress the console's script would have shown, until the end."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + TRAINING_WITHIN_S
    while True:
        response = await client.get("/console/admin/training")
        assert response.status == 200
        progress = await response.json()
        if not seen or progress != seen[-1]:
            seen.append(progress)
        if not progress["running"]:
            return seen
        if time.monotonic() > deadline:
            raise TimeoutError(f"training still running after {TRAINING_WITHIN_S:.0f}s")
        await asyncio.sleep(0.5)  # the console polls the same way


async def version_named(client: TestClient, name: str) -> ModelVersion:
    [version] = [v for v in await versions(client) if v.name == name]
    return version


async def once(world: World, name: str, make: Coroutine[Any, Any, T]) -> T:
    """``make``'s result, computed by the first test that asks for it; a failure is the
    failure of every later test that needs it, said as such."""
    if name not in world.done:
        try:
            world.done[name] = await make
        except BaseException as err:
            world.done[name] = err
            raise
    else:
        make.close()  # not needed: never awaited
    done = world.done[name]
    if isinstance(done, BaseException):
        pytest.fail(f"{name}: failed in an earlier test ({done!r})")
    return done


async def retrained(world: World, client: TestClient, csrf: str) -> Retrained:
    """The misunderstood message annotated in the console and the model retrained there
    (once per module)."""
    return await once(world, "retrained", _retrain_in_console(world, client, csrf))


async def _retrain_in_console(world: World, client: TestClient, csrf: str) -> Retrained:
    response = await client.post(
        "/webhooks/rest/webhook", json={"sender": "visiteur-1", "message": MISUNDERSTOOD}
    )
    assert response.status == 200
    page = await (await client.get("/console/admin/")).text()
    assert MISUNDERSTOOD in page
    [item] = [
        i for i in await asyncio.to_thread(client.app[ADMIN].inbox.items) if i.text == MISUNDERSTOOD
    ]
    response = await client.post(
        f"/console/admin/inbox/{item.id}",
        data={"csrf": csrf, "action": "intent", "intent": INTENT},
        allow_redirects=False,
    )
    assert response.status == 303
    before = {v.name for v in await versions(client)}

    response = await client.post("/console/admin/train", data={"csrf": csrf}, allow_redirects=False)
    assert response.status == 303
    second = await client.post("/console/admin/train", data={"csrf": csrf})
    second_start = (second.status, await second.text())
    models_page = await (await client.get("/console/admin/models")).text()
    assert (await client.get("/console/admin/")).status == 200  # still usable meanwhile
    progress = await follow_training(client)
    [model] = {v.name for v in await versions(client) if v.source == "trained"} - before
    return Retrained(second_start, models_page, progress, model)


async def refused(world: World, client: TestClient, csrf: str) -> Refused:
    """A worse configuration retrained by the CLI (once per module), after
    :func:`retrained` so that it is compared with a retrained active model."""
    await retrained(world, client, csrf)
    return await once(world, "refused", _retrain_worse_by_cli(world, client))


async def _retrain_worse_by_cli(world: World, client: TestClient) -> Refused:
    before = {v.name for v in await versions(client)}
    config = world.project / "config.yml"
    good = config.read_text()
    # Deliberately bad: DIET trained one epoch, and no linear classifier to make up for it.
    bad = set_epochs(good, "DIETClassifier", 1)
    config.write_text(without_component(bad, "rasa_ext.linear_intent.LinearIntentEnsemble"))
    try:
        result = await admin_cli(world, "retrain", within_s=TRAINING_WITHIN_S)
    finally:
        config.write_text(good)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    [model] = {v.name for v in await versions(client) if v.source == "trained"} - before
    return Refused(result, model)


async def test_the_console_shows_the_training_and_refuses_a_second_one(
    gateway_client: GatewayClient, world: World
) -> None:
    client, csrf = await admin_client(gateway_client, world)
    done = await retrained(world, client, csrf)

    status, page = done.second_start
    assert status == 409 and "déjà en cours" in page
    assert 'id="training-status" role="status"' in done.models_page
    texts = [p["text"] for p in done.progress]
    assert any("DIETClassifier" in t and f"/{TEST_DIET_EPOCHS}" in t for t in texts), texts
    assert any(p.get("epoch") for p in done.progress), texts
    assert not done.progress[-1]["running"]


async def test_an_annotated_message_is_understood_after_retraining(
    gateway_client: GatewayClient, world: World
) -> None:
    before = world.stack.parse(MISUNDERSTOOD)["intent"]
    if "retrained" not in world.done:  # the repository's model, before any retraining
        assert before["name"] == "nlu_fallback" or before["confidence"] < 0.6, before
    client, csrf = await admin_client(gateway_client, world)
    done = await retrained(world, client, csrf)

    new = await version_named(client, done.model)
    baseline = await version_named(client, world.baseline)
    assert new.source == "trained" and baseline.source == "adopted"
    assert new.status is ModelStatus.READY, new
    assert new.active and new.decision and new.decision["verdict"] == "activated"
    assert new.scores is not None and new.scores.examples > 300
    assert baseline.scores is not None
    assert new.scores.held_out == baseline.scores.held_out
    assert running_model(world) == new.name
    assert (world.models / "active").read_text().strip() == new.name

    after = world.stack.parse(MISUNDERSTOOD)["intent"]
    assert after["name"] == INTENT and after["confidence"] >= 0.6, after
    replies = world.stack.send("visiteur-2", MISUNDERSTOOD)
    assert "Avec plaisir" in " ".join(r.get("text", "") for r in replies)

    page = await (await client.get(f"/console/admin/models/{new.id}")).text()
    assert "Comparaison avec le modèle actif" in page and "Par intention" in page
    assert '<th scope="row">thank</th>' in page


async def test_a_worse_model_is_refused(gateway_client: GatewayClient, world: World) -> None:
    client, csrf = await admin_client(gateway_client, world)
    done = await refused(world, client, csrf)
    assert "moins bon" in done.result.stdout

    worse = await version_named(client, done.model)
    active = await version_named(client, (await retrained(world, client, csrf)).model)
    assert worse.status is ModelStatus.REFUSED and not worse.active
    assert worse.scores and active.scores
    assert worse.scores.accuracy < active.scores.accuracy - 0.02
    assert active.active
    assert running_model(world) == active.name

    response = await client.post(f"/console/admin/models/{worse.id}/activate", data={"csrf": csrf})
    assert response.status == 409
    assert "moins bon que le modèle actif" in await response.text()
    assert running_model(world) == active.name


@contextlib.asynccontextmanager
async def restored(client: TestClient, csrf: str, model: str) -> AsyncIterator[None]:
    """Puts ``model`` back as the active one on exit, for the other tests."""
    try:
        yield
    finally:
        version = await version_named(client, model)
        response = await client.post(
            f"/console/admin/models/{version.id}/activate",
            data={"csrf": csrf, "force": "1"},
            allow_redirects=False,
        )
        assert response.status == 303


async def test_override_then_rollback(gateway_client: GatewayClient, world: World) -> None:
    client, csrf = await admin_client(gateway_client, world)
    good = await version_named(client, (await retrained(world, client, csrf)).model)
    worse = await version_named(client, (await refused(world, client, csrf)).model)
    baseline = await version_named(client, world.baseline)

    async with restored(client, csrf, good.name):
        response = await client.post(
            f"/console/admin/models/{worse.id}/activate",
            data={"csrf": csrf, "force": "1"},
            allow_redirects=False,
        )
        assert response.status == 303
        assert running_model(world) == worse.name

        response = await client.post(
            "/console/admin/rollback", data={"csrf": csrf}, allow_redirects=False
        )
        assert response.status == 303
        assert running_model(world) == good.name
        assert (world.models / "active").read_text().strip() == good.name
        assert world.stack.parse(MISUNDERSTOOD)["intent"]["name"] == INTENT

        # The CLI rolls back one step further: the model Rasa was started with.
        result = await admin_cli(world, "rollback", within_s=600)
        assert result.returncode == 0, result.stderr[-3000:]
        assert running_model(world) == baseline.name

    audit = await (await client.get("/console/admin/audit")).text()
    for label in (
        "Annotation (intention existante)",
        "Entraînement lancé",
        "Modèle activé (automatiquement)",
        "Modèle refusé",
        "Modèle activé malgré un score inférieur",
        "Retour au modèle précédent",
    ):
        assert label in audit, label
    assert "camille" in audit and "cli:test" in audit
