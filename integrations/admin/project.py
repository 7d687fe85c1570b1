"""Where the Rasa project the admin area edits and trains lives.

The folders are settings (``ADMIN_PROJECT_DIR``, ``ADMIN_MODELS_DIR``) so that tests
work on a copy and never touch the repository's ``nlu_data/``, ``bot/`` or ``models/``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from integrations.settings import Settings

# The files this area writes, one per kind, apart from the hand-written ones.
ANNOTATIONS_FILE = "annotations.yml"


@dataclass(frozen=True)
class Project:
    root: Path  # holds config.yml, bot/, nlu_data/
    models_dir: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> Project:
        return cls(root=settings.admin.project_dir, models_dir=settings.admin.models_dir)

    @property
    def config(self) -> Path:
        return self.root / "config.yml"

    @property
    def domain_dir(self) -> Path:
        return self.root / "bot" / "domain"

    @property
    def rules_dir(self) -> Path:
        return self.root / "bot" / "rules"

    @property
    def stories_dir(self) -> Path:
        return self.root / "bot" / "stories"

    def nlu_dir(self, split: str) -> Path:
        """``train`` (what the model learns) or ``test`` (the held-out split)."""
        return self.root / "nlu_data" / split

    @property
    def lookups_dir(self) -> Path:
        return self.root / "nlu_data" / "lookups"

    @property
    def training_data(self) -> list[Path]:
        return [self.rules_dir, self.stories_dir, self.nlu_dir("train"), self.lookups_dir]

    def held_out_files(self) -> list[Path]:
        return sorted(self.nlu_dir("test").glob("*.yml"))

    def held_out_fingerprint(self) -> str:
        """Changes whenever the held-out split does: scores are comparable only within one."""
        digest = hashlib.sha256()
        for path in self.held_out_files():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()[:16]

    @property
    def active_pointer(self) -> Path:
        """File naming the active model, read by ``scripts/run.sh`` at start."""
        return self.models_dir / "active"
