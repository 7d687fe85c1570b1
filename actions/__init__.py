"""Custom actions of the assistant, run by the rasa_sdk action server."""
