"""Retraining: train a model version, evaluate it on the held-out split, decide.

One job = ``rasa train`` in a child process (niced, so the gateway and Rasa stay
responsive), then the evaluation of the new model by the benchmark's evaluator, run in
Rasa's environment (``RASA_VENV``: ``python -m rasa_ext.evaluation MODEL FILES --json``,
whose JSON line is read back; the gateway's own environment has no Rasa), then the
comparison with the active model and, when it is not worse, its activation. The job
runs in the CLI process (``python -m integrations.admin retrain``), which the console
starts in the background; it writes
its progress — read from Rasa's output: component names and the "Epochs: x/y" lines
— into the job's database row, so every console page and the CLI can show it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
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

log = logging.getLogger(__name__)

TRAIN_TIMEOUT_S = 3 * 3600
EVALUATE_TIMEOUT_S = 3600
PROGRESS_EVERY_S = 1.0
NICE = 10
_EPOCHS = re.compile(r"Epochs:\s*\d+%\|[^|]*\|\s*(\d+)/(\d+)")
_COMPONENT = re.compile(r"(Starting to train|Restored) component '(\w+)'")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

Progress = Callable[[dict[str, Any]], None]


class TrainingError(RuntimeError):
    """``rasa train`` or the evaluation failed; the message is the end of its output."""


def _child_env() -> dict[str, str]:
    """The environment of Rasa's commands: this project on the path, no telemetry."""
    return {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
        "PYTHONUNBUFFERED": "1",  # progress lines as they come, not by the pipe buffer
        "TZ": os.environ.get("TZ", "Europe/Paris"),
    }


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


def train_model(
    project: Project, name: str, on_progress: Progress, log_path: Path, rasa_venv: Path
) -> Path:
    """Train ``project`` into ``<models>/<name>.tar.gz`` with ``rasa_venv``'s ``rasa``;
    returns that file."""
    project.models_dir.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(rasa_venv / "bin" / "rasa"),
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
    parser = ProgressParser()
    tail: list[str] = []
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            command,
            cwd=project.root,  # Rasa's training cache (.rasa/) lives beside the project
            env=_child_env(),
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


def evaluate_model(path: Path, project: Project, rasa_venv: Path) -> Scores:
    """Scores of the model in ``path`` on the project's held-out split (``nlu_data/test``),
    computed by ``rasa_ext.evaluation`` in Rasa's environment ``rasa_venv``."""
    fingerprint = project.held_out_fingerprint()
    command = [
        str(rasa_venv / "bin" / "python"),
        "-m",
        "rasa_ext.evaluation",
        str(path),
        *(str(file) for file in project.held_out_files()),
        "--json",
    ]
    try:
        done = subprocess.run(
            command,
            cwd=PROJECT_ROOT,
            env=_child_env(),
            capture_output=True,
            timeout=EVALUATE_TIMEOUT_S,
            preexec_fn=lambda: os.nice(NICE),
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise TrainingError(f"évaluation impossible : {err}") from err
    output = done.stdout.decode("utf-8", "replace").strip().splitlines()
    if done.returncode != 0 or not output:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-15:]
        raise TrainingError("\n".join(tail) or f"evaluation exited with {done.returncode}")
    try:  # the scores are the last line; libraries may print before it
        scores = json.loads(output[-1])
        return Scores(
            held_out=fingerprint,
            examples=int(scores["examples"]),
            accuracy=float(scores["accuracy"]),
            macro_f1=float(scores["macro_f1"]),
            per_intent={k: dict(v) for k, v in scores["per_intent"].items()},
        )
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise TrainingError(f"unreadable evaluation output: {output[-1][:200]!r}") from err


@dataclass
class Retraining:
    """One training job, from ``rasa train`` to the activation decision."""

    project: Project
    registry: Registry
    activator: Activator
    audit: AuditLog
    tolerance: float
    log_dir: Path
    rasa_venv: Path

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
            path = train_model(self.project, name, progress, log_path, self.rasa_venv)
            self.registry.update(
                job_id,
                name=path.name,
                path=path,
                status=ModelStatus.EVALUATING,
                progress={"phase": "evaluating"},
            )
            scores = evaluate_model(path, self.project, self.rasa_venv)
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
        fresh = evaluate_model(active.path, self.project, self.rasa_venv)
        self.registry.set_scores(active.id, fresh)
        return fresh
