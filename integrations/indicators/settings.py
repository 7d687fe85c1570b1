"""The indicators' settings, read once from the environment (``.env.example``)."""

from __future__ import annotations

from dataclasses import dataclass

from common.config import env_bool, env_int


@dataclass(frozen=True)
class IndicatorSettings:
    # Open data: a count below this is published empty (statistical confidentiality).
    small_cell: int = 5
    # Seconds between two incremental refreshes of the aggregates.
    refresh_s: int = 300
    # « Cette réponse vous a-t-elle aidé ? » under the bot's answers in the widget.
    survey_enabled: bool = False

    @classmethod
    def from_env(cls) -> IndicatorSettings:
        d = cls()
        return cls(
            small_cell=env_int("INDICATORS_SMALL_CELL", d.small_cell, minimum=1),
            refresh_s=env_int("INDICATORS_REFRESH_S", d.refresh_s, minimum=1),
            survey_enabled=env_bool("SURVEY_ENABLED", d.survey_enabled),
        )
