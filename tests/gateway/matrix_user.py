"""A real Matrix user (matrix-nio) who talks to the bot through the test Synapse."""

from __future__ import annotations

import asyncio
import time

from nio import (
    AsyncClient,
    ErrorResponse,
    JoinedMembersResponse,
    LoginResponse,
    RoomCreateResponse,
    RoomMessageNotice,
    RoomMessageText,
    SyncResponse,
)


class MatrixUser:
    def __init__(self, homeserver: str, user_id: str, password: str) -> None:
        self.client = AsyncClient(homeserver, user_id)
        self.password = password
        self.next_batch: str | None = None
        self.seen: list[tuple[str, str, str]] = []  # (room, sender, body)

    async def login(self) -> None:
        response = await self.client.login(self.password)
        assert isinstance(response, LoginResponse), response
        await self.sync(0)  # read past what happened before

    async def close(self) -> None:
        await self.client.close()

    async def create_room(self, invite: list[str] | None = None) -> str:
        response = await self.client.room_create(invite=invite or [])
        assert isinstance(response, RoomCreateResponse), response
        return response.room_id

    async def invite(self, room_id: str, user_id: str) -> None:
        response = await self.client.room_invite(room_id, user_id)
        assert not isinstance(response, ErrorResponse), response

    async def say(self, room_id: str, text: str) -> None:
        response = await self.client.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": text}
        )
        assert not isinstance(response, ErrorResponse), response

    async def sync(self, timeout_ms: int = 1000) -> None:
        response = await self.client.sync(timeout=timeout_ms, since=self.next_batch)
        assert isinstance(response, SyncResponse), response
        self.next_batch = response.next_batch
        for room_id, info in response.rooms.join.items():
            for event in info.timeline.events:
                if isinstance(event, RoomMessageText | RoomMessageNotice):
                    self.seen.append((room_id, event.sender, event.body))

    def messages_from(self, room_id: str, sender: str) -> list[str]:
        return [body for room, who, body in self.seen if room == room_id and who == sender]

    async def wait_messages(
        self, room_id: str, sender: str, count: int, within: float = 60
    ) -> list[str]:
        deadline = time.monotonic() + within
        while len(self.messages_from(room_id, sender)) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{count} messages from {sender} expected, got "
                    f"{self.messages_from(room_id, sender)}"
                )
            await self.sync(1000)
        return self.messages_from(room_id, sender)

    async def wait_text(
        self, room_id: str, sender: str, wanted: str, after: int, within: float = 60
    ) -> str:
        """The first message from ``sender`` after its first ``after`` ones that contains
        ``wanted``."""
        deadline = time.monotonic() + within
        while True:
            new = self.messages_from(room_id, sender)[after:]
            found = next((m for m in new if wanted in m), None)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"no message with {wanted!r} from {sender}: {new}")
            await self.sync(1000)

    async def membership(self, room_id: str, user_id: str) -> str | None:
        response = await self.client.room_get_state_event(room_id, "m.room.member", user_id)
        if isinstance(response, ErrorResponse):
            return None
        return response.content.get("membership")

    async def wait_membership(
        self, room_id: str, user_id: str, membership: str, within: float = 30
    ) -> None:
        deadline = time.monotonic() + within
        while (current := await self.membership(room_id, user_id)) != membership:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{user_id} is {current!r} in {room_id}, not {membership!r}")
            await asyncio.sleep(0.2)

    async def members(self, room_id: str) -> list[str]:
        response = await self.client.joined_members(room_id)
        assert isinstance(response, JoinedMembersResponse), response
        return [m.user_id for m in response.members]
