"""NLU names the gateway and the Rasa side both use."""

from __future__ import annotations

# The intent Rasa's FallbackClassifier predicts under its confidence threshold.
FALLBACK_INTENT = "nlu_fallback"
