"""The Rasa project as data: NLU contract, coverage of every intent, validation, test stories."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from common.config import PROJECT_ROOT
from tests.nlu_data import CONTRACT_INTENTS, examples, load, normalised, yaml_files
from tools.stack import child_env

MIN_TRAIN_EXAMPLES = 25


def domain_intents() -> set[str]:
    return {
        i
        for path in yaml_files(PROJECT_ROOT / "bot" / "domain")
        for i in load(path).get("intents", [])
    }


def handled_intents() -> set[str]:
    intents = set()
    for folder in ("rules", "stories"):
        for path in yaml_files(PROJECT_ROOT / "bot" / folder):
            data = load(path)
            for flow in data.get("rules", []) + data.get("stories", []):
                intents.update(step["intent"] for step in flow.get("steps", []) if "intent" in step)
    return intents


def test_every_contract_intent_is_in_the_domain():
    assert CONTRACT_INTENTS <= domain_intents()


@pytest.mark.parametrize("intent", sorted(CONTRACT_INTENTS))
def test_contract_intent_has_enough_varied_training_examples(intent):
    train = examples("train").get(intent, [])
    assert len(normalised(train)) >= MIN_TRAIN_EXAMPLES, f"{intent}: {len(train)} examples"


def test_every_trained_intent_has_held_out_examples():
    train, test = examples("train"), examples("test")
    missing = sorted(i for i in train if len(test.get(i, [])) < 4)
    assert not missing, f"intents without a held-out split: {missing}"


def test_held_out_split_never_appears_in_training_data():
    train = set().union(*(normalised(v) for v in examples("train").values()))
    leaked = sorted(t for v in examples("test").values() for t in normalised(v) if t in train)
    assert not leaked, f"held-out examples found in training data: {leaked[:10]}"


def test_every_domain_intent_has_a_rule_or_story():
    unhandled = domain_intents() - handled_intents()
    assert not unhandled, f"intents with no rule or story: {sorted(unhandled)}"


def test_commune_lookup_covers_finistere_and_sarthe():
    lookup = load(PROJECT_ROOT / "nlu_data" / "lookups" / "communes.yml")
    [table] = [b for b in lookup["nlu"] if b.get("lookup") == "commune"]
    names = {line[2:].strip() for line in table["examples"].splitlines() if line.strip()}
    assert len(names) >= 277 + 352 - 10
    assert {"Brest", "Carhaix-Plouguer", "Le Mans", "Sablé-sur-Sarthe", "Pont-l'Abbé"} <= names


def test_rasa_data_validate_is_clean():
    result = subprocess.run(
        [str(PROJECT_ROOT / "scripts" / "validate.sh")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.model
def test_conversation_stories_pass_with_the_trained_model(trained_model: Path, tmp_path: Path):
    result = subprocess.run(
        [
            str(PROJECT_ROOT / ".venv" / "bin" / "python"),
            "-m",
            "rasa_ext.cli",  # Rasa's CLI, models loaded as the workers load them
            "test",
            "core",
            "--model",
            str(trained_model),
            "--stories",
            "tests/stories",
            "--endpoints",
            "bot/endpoints.yml",
            "--fail-on-prediction-errors",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=PROJECT_ROOT,
        # Only what `rasa test` needs: a developer's .env (DATA_DIR, VISIO_BASE_URL...)
        # must not change what the stories see.
        env=child_env(
            {
                "PYTHONPATH": str(PROJECT_ROOT),
                "DATABASE_URL": f"sqlite:///{tmp_path / 'stories.db'}",
                "ACTION_SERVER_URL": "http://127.0.0.1:9/webhook",
                "ACTIONS_SECRET": "unused: the stories never reach the action server",
                "TZ": "Europe/Paris",
                "RASA_TELEMETRY_ENABLED": "false",
                "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            }
        ),
    )
    failed = tmp_path / "failed_test_stories.yml"
    detail = failed.read_text(encoding="utf-8") if failed.exists() else result.stdout[-3000:]
    assert result.returncode == 0, detail + result.stderr[-2000:]


def test_setup_does_not_reinstall_an_up_to_date_environment():
    result = subprocess.run(
        [str(PROJECT_ROOT / "scripts" / "setup.sh")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "environment up to date" in result.stdout


def train_sh(out: Path) -> str:
    result = subprocess.run(
        [str(PROJECT_ROOT / "scripts" / "train.sh"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


@pytest.mark.model
def test_training_is_skipped_when_nothing_changed(trained_model: Path, tmp_path: Path):
    """Rasa's dry run vouches for a model once; then the inputs' checksum is enough."""
    shutil.copy2(trained_model, tmp_path / trained_model.name)
    first = train_sh(tmp_path)  # no checksum yet: Rasa's dry run
    assert f"Nothing changed; {tmp_path / trained_model.name} is up to date\n" in first
    stamp = (tmp_path / ".inputs.sha256").read_text()
    assert stamp.startswith(f"{trained_model.name} ")
    second = train_sh(tmp_path)
    assert "up to date (same inputs as when checked)" in second
    assert sorted(p.name for p in tmp_path.glob("*.tar.gz")) == [trained_model.name]
