"""Code shared by the Rasa extensions, the action server and the gateway."""
