"""Extensions loaded by the Rasa server: NLU components, tracker store, input channel."""
