"""The retraining's evaluation: ``rasa_ext.evaluation``'s CLI run in Rasa's environment.

The gateway has no Rasa: ``evaluate_model`` runs ``RASA_VENV/bin/python -m
rasa_ext.evaluation MODEL FILES --json`` and reads its JSON line — here on the real model.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.admin.project import Project
from integrations.admin.training import TrainingError, evaluate_model
from integrations.settings import AdminSettings

pytestmark = [pytest.mark.model, pytest.mark.long]

HELD_OUT = """\
version: "3.1"
nlu:
- intent: book_room
  examples: |
    - je voudrais réserver une salle de visioconférence à [Brest](site) demain
    - il me faut une salle visio pour 4 personnes
"""


@pytest.fixture
def held_out_project(tmp_path: Path) -> Project:
    (tmp_path / "nlu_data" / "test").mkdir(parents=True)
    (tmp_path / "nlu_data" / "test" / "booking.yml").write_text(HELD_OUT, encoding="utf-8")
    return Project(root=tmp_path, models_dir=tmp_path / "models")


def test_the_model_is_scored_by_the_cli_of_the_rasa_environment(
    trained_model: Path, held_out_project: Project
) -> None:
    scores = evaluate_model(trained_model, held_out_project, AdminSettings().rasa_venv)
    assert scores.examples == 2
    assert scores.held_out == held_out_project.held_out_fingerprint()
    assert 0.0 <= scores.macro_f1 <= 1.0
    assert scores.accuracy == 1.0, scores
    assert scores.per_intent["book_room"]["support"] == 2


def test_a_broken_model_file_is_a_training_error(tmp_path: Path, held_out_project: Project) -> None:
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not a model")
    with pytest.raises(TrainingError):
        evaluate_model(broken, held_out_project, AdminSettings().rasa_venv)
