"""The gateway: one aiohttp application for every channel (web, Telegram, Matrix)."""
