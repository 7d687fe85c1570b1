"""Channel adapters: each turns its platform's events into ``messages.Incoming`` and
renders ``messages.Reply`` back. Adding a channel touches one module here."""
