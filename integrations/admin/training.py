"""Retraining: train a model version, evaluate it on the held-out split, decide.

One job = ``rasa train`` in a child process (niced, so the gateway and Rasa stay
responsive), then the evaluation of the new model with ``rasa_ext.evaluation`` (the
benchmark's evaluator), then the comparison with the active model and, when it is
not worse, its activation. The job runs in the CLI process (``python -m
integrations.admin retrain``), which the console starts in the background; it writes
its progress — read from Rasa's output: component names and the "Epochs: x/y" lines
— into the job's database row, so every console page and the CLI can show it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.config import PROJECT_ROOT
from integrations.admin.activation import ActivationError, Activator
from integrations.admin.audit import AuditLog
from integrations.admin.compare import Comparison
from integrations.admin.project import Project
from integrations.admin.registry import ModelStatus, ModelVersion, Registry, Scores
from rasa_ext.evaluation import evaluate, load_examples, model_parser

log = logging.getLogger(__name__)

RASA = Path(sys.executable).parent / "rasa"
TRAIN_TIMEOUT_S = 3 * 3600
PROGRESS_EVERY_S = 1.0
NICE = 10
_EPOCHS = re.compile(r"Epochs:\s*\d+%\|[^|]*\|\s*(\d+)/(\d+)")
_COMPONENT = re.compile(r"(Starting to train|Restored) component '(\w+)'")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

Progress = Callable[[dict[str, Any]], None]


class TrainingError(RuntimeError):
    """``rasa train`` failed; the message is the end of its output."""


@dataclass
class ProgressParser:
    """Follows Rasa's training output: which component, which epoch."""

    component: str | None = None
    epoch: int | None = None
    epochs: int | None = None
    done: list[str] = field(default_factory=list)

    def feed(self, line: str) -> bool:
        """Read one output line; True when the progress changed."""
        line = _ANSI.sub("", line)
        component = _COMPONENT.search(line)
        if component:
            if self.component and self.component not in self.done:
                self.done.append(self.component)
            self.component = component.group(2)
            self.epoch = self.epochs = None
            if component.group(1) == "Restored":
                self.done.append(self.component)
            return True
        epochs = _EPOCHS.search(line)
        if epochs:
            epoch, total = int(epochs.group(1)), int(epochs.group(2))
            if (epoch, total) != (self.epoch, self.epochs):
                self.epoch, self.epochs = epoch, total
                return True
        return False

    def as_dict(self) -> dict[str, Any]:
        return {
            "phase": "training",
            "component": self.component,
            "epoch": self.epoch,
            "epochs": self.epochs,
            "done": list(self.done),
        }


def train_model(project: Project, name: str, on_progress: Progress, log_path: Path) -> Path:
    """Train ``project`` into ``<models>/<name>.tar.gz``; returns that file."""
    project.models_dir.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(RASA),
        "train",
        "--config",
        str(project.config),
        "--domain",
        str(project.domain_dir),
        "--data",
        *(str(path) for path in project.training_data),
        "--out",
        str(project.models_dir),
        "--fixed-model-name",
        name,
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
        "PYTHONUNBUFFERED": "1",  # progress lines as they come, not by the pipe buffer
        "TZ": os.environ.get("TZ", "Europe/Paris"),
    }
    parser = ProgressParser()
    tail: list[str] = []
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            command,
            cwd=project.root,  # Rasa's training cache (.rasa/) lives beside the project
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: os.nice(NICE),
        )
        assert process.stdout is not None
        try:
            buffer = b""
            last = 0.0
            deadline = time.monotonic() + TRAIN_TIMEOUT_S
            while chunk := process.stdout.read1(4096):
                log_file.write(chunk)
                buffer += chunk
                *lines, buffer = re.split(rb"[\r\n]", buffer)
                changed = False
                for raw in lines:
                    line = raw.decode("utf-8", "replace").strip()
                    if line:
                        tail = [*tail[-29:], _ANSI.sub("", line)]
                        changed |= parser.feed(line)
                now = time.monotonic()
                if changed and now - last >= PROGRESS_EVERY_S:
                    on_progress(parser.as_dict())
                    last = now
                if now > deadline:
                    raise TrainingError("Entraînement trop long : arrêté.")
            code = process.wait()
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    path = project.models_dir / f"{name}.tar.gz"
    if code != 0 or not path.exists():
        raise TrainingError("\n".join(tail[-15:]) or f"rasa train exited with {code}")
    on_progress({**parser.as_dict(), "component": None, "epoch": None, "epochs": None})
    return path


def evaluate_model(path: Path, project: Project) -> Scores:
    """Scores of the model in ``path`` on the project's held-out split (``nlu_data/test``)."""
    fingerprint = project.held_out_fingerprint()
    examples = load_examples(project.held_out_files())
    report = asyncio.run(evaluate(model_parser(path), examples))
    return Scores(
        held_out=fingerprint,
        examples=len(examples),
        accuracy=report.accuracy,
        macro_f1=report.macro_f1,
        per_intent={k: dict(v) for k, v in report.per_intent.items()},
    )


@dataclass
class Retraining:
    """One training job, from ``rasa train`` to the activation decision."""

    project: Project
    registry: Registry
    activator: Activator
    audit: AuditLog
    tolerance: float
    log_dir: Path

    def run(self, job_id: int, actor: str) -> ModelVersion:
        def progress(values: dict[str, Any]) -> None:
            self.registry.update(job_id, progress=values)

        def stop(signum: int, _frame: Any) -> None:
            raise SystemExit(f"signal {signum}")

        previous = signal.signal(signal.SIGTERM, stop)
        name = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-admin-{job_id}"
        log_path = self.log_dir / f"{name}.log"
        self.registry.update(
            job_id,
            status=ModelStatus.TRAINING,
            pid=os.getpid(),
            log_path=log_path,
            progress={"phase": "training"},
        )
        self.audit.record(actor, "model.train", model=job_id)
        try:
            path = train_model(self.project, name, progress, log_path)
            self.registry.update(
                job_id,
                name=path.name,
                path=path,
                status=ModelStatus.EVALUATING,
                progress={"phase": "evaluating"},
            )
            scores = evaluate_model(path, self.project)
            self.registry.set_scores(job_id, scores)
            comparison = Comparison(scores, self._active_scores(scores, job_id), self.tolerance)
            result = self.activator.decide(job_id, comparison, actor)
            self.registry.update(job_id, progress={"phase": "done"})
            return result
        except ActivationError as err:
            log.warning("training job %s: not activated: %s", job_id, err.reason)
            self.registry.update(
                job_id,
                status=ModelStatus.REFUSED,
                progress={"phase": "done"},
                decision={"verdict": "refused", "reason": err.reason},
            )
            self.audit.record(actor, "model.refused", model=job_id, reason=err.reason)
            return self.registry.get(job_id)  # type: ignore[return-value]
        except BaseException as err:
            log.exception("training job %s failed", job_id)
            reason = (
                "Entraînement interrompu."
                if isinstance(err, SystemExit | KeyboardInterrupt)
                else f"Échec : {err}"[:4000]
            )
            self.registry.update(
                job_id, status=ModelStatus.FAILED, error=reason, progress={"phase": "failed"}
            )
            self.audit.record(actor, "model.failed", model=job_id)
            if isinstance(err, Exception):
                return self.registry.get(job_id)  # type: ignore[return-value]
            raise
        finally:
            signal.signal(signal.SIGTERM, previous)

    def _active_scores(self, scores: Scores, job_id: int) -> Scores | None:
        """The active model's scores on the same held-out split (evaluated again if needed)."""
        active = self.registry.active()
        if active is None or active.name != Path(self.activator.rasa.loaded()).name:
            # Rasa runs a model this registry did not put there (first use, hand start):
            # that model is the one to beat.
            active = self.activator.adopt_running("système")
        if active.scores is not None and active.scores.held_out == scores.held_out:
            return active.scores
        if active.path is None or not active.path.exists():
            return None
        self.registry.update(job_id, progress={"phase": "evaluating_active"})
        fresh = evaluate_model(active.path, self.project)
        self.registry.set_scores(active.id, fresh)
        return fresh
