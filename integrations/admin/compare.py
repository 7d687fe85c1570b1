"""A candidate model against the active one on the held-out split, and the verdict.

"Not worse" means neither the intent accuracy nor the macro-F1 drops by more than the
tolerance (``ADMIN_TOLERANCE``, 0.01: about three held-out examples out of 320, the
noise of one retraining). Scores from different versions of the held-out split are
not comparable: the training job evaluates the active model again in that case.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.admin.registry import Scores


@dataclass(frozen=True)
class IntentChange:
    intent: str
    active_f1: float | None  # None: the intent is new
    candidate_f1: float | None  # None: the intent is gone
    support: int

    @property
    def delta(self) -> float | None:
        if self.active_f1 is None or self.candidate_f1 is None:
            return None
        return self.candidate_f1 - self.active_f1


@dataclass(frozen=True)
class Comparison:
    candidate: Scores
    active: Scores | None
    tolerance: float

    @property
    def comparable(self) -> bool:
        return self.active is not None and self.active.held_out == self.candidate.held_out

    @property
    def accuracy_delta(self) -> float | None:
        return self.candidate.accuracy - self.active.accuracy if self.active else None

    @property
    def macro_f1_delta(self) -> float | None:
        return self.candidate.macro_f1 - self.active.macro_f1 if self.active else None

    @property
    def not_worse(self) -> bool:
        """True when the candidate may replace the active model without an override."""
        if self.active is None:
            return True  # nothing to compare with: the first model
        if not self.comparable:
            return False
        return (
            self.candidate.accuracy >= self.active.accuracy - self.tolerance
            and self.candidate.macro_f1 >= self.active.macro_f1 - self.tolerance
        )

    def reason(self) -> str:
        """The verdict in French, for the console, the CLI and the audit log."""
        if self.active is None:
            return "Aucun modèle actif à comparer."
        if not self.comparable:
            return "Scores obtenus sur des jeux d'évaluation différents : comparaison impossible."
        verdict = "n'est pas moins bon" if self.not_worse else "est moins bon"
        return (
            f"Le nouveau modèle {verdict} que le modèle actif "
            f"(exactitude {self.candidate.accuracy:.3f} contre {self.active.accuracy:.3f}, "
            f"F1 macro {self.candidate.macro_f1:.3f} contre {self.active.macro_f1:.3f}, "
            f"tolérance {self.tolerance:.3f})."
        )

    def changes(self) -> list[IntentChange]:
        """Every intent, the biggest losses first, then new and removed intents."""
        before = self.active.per_intent if self.active else {}
        after = self.candidate.per_intent
        rows = []
        for intent in sorted(set(before) | set(after)):
            old, new = before.get(intent), after.get(intent)
            support = int((new or old or {}).get("support", 0))
            rows.append(
                IntentChange(
                    intent=intent,
                    active_f1=old["f1"] if old else None,
                    candidate_f1=new["f1"] if new else None,
                    support=support,
                )
            )
        return sorted(
            rows, key=lambda c: (c.delta is None, c.delta if c.delta is not None else 0, c.intent)
        )
