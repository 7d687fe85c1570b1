"""« Cette réponse vous a-t-elle aidé ? »: the optional one-question survey (off by default).

    GET  /widget/survey          {"enabled": bool}: whether the widget asks (public,
                                 no key: the widget asks before any conversation)
    POST /webhooks/rest/survey   {"sender"?, "message_id", "helpful": bool} with the
                                 conversation's key in X-Conversation-Key → 204

One answer per bot message (a second one replaces the first); answers go with their
conversation (deleted by retention and erasure, foreign key ``ON DELETE CASCADE``).
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from integrations import keys
from integrations.errors import ApiError, bad_request, bounded_int, read_json_object
from integrations.indicators.models import SurveyAnswer
from integrations.messages import Author, utcnow
from integrations.store import Conversation, Message


def record_answer(engine: Engine, conversation_key: str, message_id: int, helpful: bool) -> bool:
    """Store the answer; False when ``message_id`` is not a bot answer of that conversation."""
    with engine.begin() as connection:
        found = connection.execute(
            select(Message.conversation_id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Message.id == message_id,
                Message.author == Author.BOT.value,
                Conversation.key == conversation_key,
            )
        ).scalar_one_or_none()
        if found is None:
            return False
        changed = connection.execute(
            update(SurveyAnswer)
            .where(SurveyAnswer.message_id == message_id)
            .values(helpful=helpful, created_at=utcnow())
        ).rowcount
        if not changed:
            connection.execute(
                SurveyAnswer.__table__.insert().values(
                    conversation_id=found,
                    message_id=message_id,
                    helpful=helpful,
                    created_at=utcnow(),
                )
            )
    return True


async def survey_state(request: web.Request) -> web.Response:
    return web.json_response({"enabled": request.app[keys.INDICATORS].survey_enabled})


async def survey_answer(request: web.Request) -> web.Response:
    if not request.app[keys.INDICATORS].survey_enabled:
        raise ApiError(404, "survey_disabled", "Le questionnaire n'est pas activé.")
    body = await read_json_object(request)
    sender = await request.app[keys.WEB].conversation_of(request, body.get("sender"))
    message_id = bounded_int(body.get("message_id"), "message_id", minimum=1)
    helpful = body.get("helpful")
    if not isinstance(helpful, bool):
        raise bad_request("invalid_helpful", "« helpful » doit valoir true ou false.")
    engine = request.app[keys.STORE].engine
    if not await asyncio.to_thread(record_answer, engine, f"web:{sender}", message_id, helpful):
        raise ApiError(
            404, "message_not_found", "Cette réponse n'appartient pas à cette conversation."
        )
    return web.Response(status=204)
