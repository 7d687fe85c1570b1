"""The admin console pages (admin role), and the two feedback endpoints of the others.

    GET  /console/admin/                     NLU inbox (collects Rasa's unsure messages first)
    POST /console/admin/inbox/{id}           annotate: intent | new_intent | out_of_scope | ignore
    GET  /console/admin/models               training, model versions, activation, rollback
    GET  /console/admin/models/{id}          a version against the active model, per intent
    POST /console/admin/train                start a training in the background
    GET  /console/admin/training             its progress (JSON, polled by admin.js)
    POST /console/admin/models/{id}/activate activate (``force`` = override a refusal)
    POST /console/admin/rollback             back to the previous active model
    GET  /console/admin/audit                who did what, when
    GET|POST /console/admin/privacy[/export|/erase]  one person's data (integrations/privacy/)
    POST /console/inbox/flag                 a mediator flags a user message (form or JSON)
    POST /webhooks/rest/feedback             a user's thumbs-down on a bot answer (JSON)

Pages and forms follow the console's rules: ``require_page`` for pages,
``check_csrf`` on every POST, errors as French pages or ``ApiError`` JSON.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from common.config import PROJECT_ROOT
from integrations import keys
from integrations.admin.activation import ActivationError
from integrations.admin.annotate import Action, AnnotationError
from integrations.admin.compare import Comparison
from integrations.admin.inbox import MessageNotFound, Status
from integrations.admin.registry import ModelStatus, TrainingBusy
from integrations.admin.service import Admin, child_env
from integrations.admin.views import (
    AUDIT_LABELS,
    INBOX_STATUS_LABELS,
    TEMPLATE_HELPERS,
    progress_json,
    status_label,
)
from integrations.console.auth import StaffRole, check_csrf, require_api, require_page
from integrations.console.pages import read_form, render
from integrations.errors import ApiError, bad_request, bounded_int, read_json_object

log = logging.getLogger(__name__)

NOTICES = {
    "annotated": "Annotation enregistrée.",
    "training": "Entraînement lancé en arrière-plan.",
    "activated": "Modèle activé.",
    "rolled_back": "Retour au modèle précédent effectué.",
}
STOP_JOB_S = 30.0


def _render(request: web.Request, template: str, **context: Any) -> web.Response:
    return render(request, template, **TEMPLATE_HELPERS, **context)


def _admin(request: web.Request) -> Admin:
    return request.app[keys.ADMIN]


async def admin_ctx(app: web.Application) -> AsyncIterator[None]:
    """The admin service on the gateway's database; stops its training jobs on shutdown."""
    engine = app[keys.STORE].engine
    app[keys.ADMIN] = Admin.build(app[keys.SETTINGS], engine)
    app[keys.JOBS] = {}
    yield
    jobs = dict(app[keys.JOBS])
    for process in jobs:
        if process.returncode is None:
            process.terminate()  # the job marks itself as interrupted
            try:
                await asyncio.wait_for(process.wait(), STOP_JOB_S)
            except TimeoutError:
                process.kill()
                await process.wait()
    await asyncio.gather(*jobs.values(), return_exceptions=True)  # their reapers end too


def _notice(request: web.Request) -> str | None:
    return NOTICES.get(request.query.get("ok", ""))


async def _form(request: web.Request) -> dict[str, str]:
    """The posted form (after the CSRF check): every field as a string."""
    form = await request.post()
    await check_csrf(request, str(form.get("csrf") or ""))
    return {name: str(value) for name, value in form.items() if isinstance(value, str)}


# --- inbox ---------------------------------------------------------------------------


async def inbox_page(
    request: web.Request, error: str | None = None, status: int = 200
) -> web.Response:
    """The inbox; ``annotate`` shows it again with ``error`` when it refuses a form."""
    await require_page(request, StaffRole.ADMIN)
    admin = _admin(request)
    try:
        await asyncio.to_thread(admin.inbox.collect)
    except Exception:  # the inbox still shows what was collected before
        log.exception("inbox: collecting Rasa's events failed")
        error = error or "Les derniers messages n'ont pas pu être collectés ; réessayez plus tard."
    show = request.query.get("statut", Status.OPEN.value)
    known = {s.value: s for s in Status}
    status_filter = None if show == "tous" else known.get(show, Status.OPEN)
    items = await asyncio.to_thread(admin.inbox.items, status_filter)
    intents = await asyncio.to_thread(admin.data.intents)
    return _render(
        request,
        "admin_inbox.html",
        status=status,
        items=items,
        intents=intents,
        show=show,
        status_labels=INBOX_STATUS_LABELS,
        notice=_notice(request),
        error=error,
    )


async def annotate(request: web.Request) -> web.StreamResponse:
    user = await require_page(request, StaffRole.ADMIN)
    form = await _form(request)
    item_id = _int(request.match_info["item_id"])
    try:
        action = Action(form.get("action", ""))
    except ValueError:
        return await inbox_page(request, "Choisissez une action.", status=400)
    intent = form.get("new_intent") if action is Action.NEW_INTENT else form.get("intent")
    try:
        await asyncio.to_thread(
            _admin(request).annotator.annotate,
            item_id,
            action,
            user.username,
            intent=(intent or "").strip() or None,
            response=form.get("response"),
            split=form.get("split", "train"),
        )
    except AnnotationError as err:
        status = 404 if err.code == "item_not_found" else 409 if "exist" in err.code else 400
        return await inbox_page(request, err.reason, status=status)
    raise web.HTTPSeeOther("/console/admin/?ok=annotated")


# --- models --------------------------------------------------------------------------


async def models_page(
    request: web.Request, error: str | None = None, status: int = 200
) -> web.Response:
    """Training and versions; the model actions show it again with ``error`` when refused."""
    await require_page(request, StaffRole.ADMIN)
    admin = _admin(request)
    versions = await asyncio.to_thread(admin.registry.versions)
    running = await asyncio.to_thread(admin.registry.running)
    rollback = await asyncio.to_thread(admin.registry.rollback_target)
    active = next((v for v in versions if v.active), None)
    tolerance = admin.settings.admin.tolerance
    comparisons = {
        v.id: Comparison(v.scores, active.scores, tolerance)
        for v in versions
        if v.scores is not None and active is not None and active.scores is not None
    }
    return _render(
        request,
        "admin_models.html",
        status=status,
        versions=versions,
        active=active,
        running=running,
        progress=progress_json(running),
        comparisons=comparisons,
        can_roll_back=rollback is not None,
        status_label=status_label,
        notice=_notice(request),
        error=error,
    )


async def model_page(request: web.Request) -> web.Response:
    await require_page(request, StaffRole.ADMIN)
    admin = _admin(request)
    model = await asyncio.to_thread(admin.registry.get, _int(request.match_info["model_id"]))
    if model is None:
        raise ApiError(404, "not_found", "Modèle introuvable.")
    active = await asyncio.to_thread(admin.registry.active)
    comparison = (
        Comparison(model.scores, active.scores if active else None, admin.settings.admin.tolerance)
        if model.scores is not None
        else None
    )
    return _render(
        request,
        "admin_model.html",
        model=model,
        active=active,
        comparison=comparison,
        status_label=status_label,
    )


async def start_training(request: web.Request) -> web.StreamResponse:
    user = await require_page(request, StaffRole.ADMIN)
    await _form(request)
    admin = _admin(request)
    try:
        job = await asyncio.to_thread(admin.registry.start_job, user.username)
    except TrainingBusy:
        return await models_page(
            request, "Un entraînement est déjà en cours : attendez qu'il se termine.", status=409
        )
    await _spawn(request.app, job.id, user.username)
    raise web.HTTPSeeOther("/console/admin/models?ok=training")


async def _spawn(app: web.Application, job_id: int, actor: str) -> None:
    """``python -m integrations.admin retrain --job <id>`` in the background."""
    admin = app[keys.ADMIN]
    log_dir = admin.retraining.log_dir
    await asyncio.to_thread(log_dir.mkdir, parents=True, exist_ok=True)
    output = await asyncio.to_thread(open, log_dir / f"job-{job_id}.log", "ab")
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "integrations.admin",
            "retrain",
            "--job",
            str(job_id),
            "--by",
            actor,
            cwd=PROJECT_ROOT,
            env=child_env(admin.settings),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )
    finally:
        output.close()
    jobs = app[keys.JOBS]

    async def reap() -> None:
        """Wait for the job so that it never lingers as a zombie."""
        try:
            code = await process.wait()
            if code:
                log.warning("training job %s exited with %s", job_id, code)
                job = await asyncio.to_thread(admin.registry.get, job_id)
                if job is not None and job.running:  # died before it could say so
                    await asyncio.to_thread(
                        admin.registry.update,
                        job_id,
                        status=ModelStatus.FAILED,
                        error=f"Le processus d'entraînement s'est arrêté (code {code}).",
                    )
        finally:
            jobs.pop(process, None)

    jobs[process] = asyncio.get_running_loop().create_task(reap(), name=f"admin-job-{job_id}")


async def training_status(request: web.Request) -> web.Response:
    await require_api(request, StaffRole.ADMIN)
    admin = _admin(request)
    running = await asyncio.to_thread(admin.registry.running)
    return web.json_response(progress_json(running), headers={"Cache-Control": "no-store"})


async def activate(request: web.Request) -> web.StreamResponse:
    user = await require_page(request, StaffRole.ADMIN)
    form = await _form(request)
    model_id = _int(request.match_info["model_id"])
    try:
        await asyncio.to_thread(
            _admin(request).activator.activate,
            model_id,
            user.username,
            force=form.get("force") == "1",
        )
    except ActivationError as err:
        return await models_page(request, err.reason, status=err.status)
    raise web.HTTPSeeOther("/console/admin/models?ok=activated")


async def rollback(request: web.Request) -> web.StreamResponse:
    user = await require_page(request, StaffRole.ADMIN)
    await _form(request)
    try:
        await asyncio.to_thread(_admin(request).activator.rollback, user.username)
    except ActivationError as err:
        return await models_page(request, err.reason, status=err.status)
    raise web.HTTPSeeOther("/console/admin/models?ok=rolled_back")


async def audit_page(request: web.Request) -> web.Response:
    await require_page(request, StaffRole.ADMIN)
    entries = await asyncio.to_thread(_admin(request).audit.latest, 300)
    return _render(request, "admin_audit.html", entries=entries, labels=AUDIT_LABELS)


# --- feedback from the other areas ---------------------------------------------------


async def flag(request: web.Request) -> web.StreamResponse:
    """A mediator flags a user message: ``{"message_id": <id>}`` as a form or JSON."""
    user = await require_api(request, StaffRole.MEDIATOR)
    is_json = request.content_type == "application/json"
    body: dict[str, Any]
    if is_json:
        body = await read_json_object(request)
        await check_csrf(request, request.headers.get("X-CSRF-Token"))
    else:
        body = dict(await read_form(request))
        await check_csrf(request, body.get("csrf") or "")
    message_id = bounded_int(body.get("message_id"), "message_id", minimum=1)
    admin = _admin(request)
    try:
        item = await asyncio.to_thread(admin.inbox.flag_user_message, message_id)
    except MessageNotFound as err:
        raise ApiError(404, "message_not_found", "Message de l'usager introuvable.") from err
    await asyncio.to_thread(
        admin.audit.record, user.username, "inbox.flag", message=message_id, item=item.id
    )
    if is_json:
        return web.json_response({"flagged": True, "item_id": item.id})
    back = request.headers.get("Referer", "")
    path = back.split(request.host, 1)[-1] if request.host in back else ""
    raise web.HTTPSeeOther(path if path.startswith("/console/") else "/console/")


async def feedback(request: web.Request) -> web.StreamResponse:
    """``{"sender"?, "message_id", "rating": "down"}`` with the conversation's key in
    ``X-Conversation-Key``: the user disliked that bot answer."""
    body = await read_json_object(request)
    sender = await request.app[keys.WEB].conversation_of(request, body.get("sender"))
    message_id = bounded_int(body.get("message_id"), "message_id", minimum=1)
    if body.get("rating") != "down":
        raise bad_request("invalid_rating", "« rating » doit valoir « down ».")
    try:
        await asyncio.to_thread(_admin(request).inbox.user_feedback, f"web:{sender}", message_id)
    except MessageNotFound as err:
        raise ApiError(
            404, "message_not_found", "Cette réponse n'appartient pas à cette conversation."
        ) from err
    return web.Response(status=204)


def _int(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise ApiError(404, "not_found", "Ressource introuvable.")
    return int(value)


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/console/admin/", inbox_page)
    app.router.add_post("/console/admin/inbox/{item_id}", annotate)
    app.router.add_get("/console/admin/models", models_page)
    app.router.add_get("/console/admin/models/{model_id}", model_page)
    app.router.add_post("/console/admin/models/{model_id}/activate", activate)
    app.router.add_post("/console/admin/train", start_training)
    app.router.add_get("/console/admin/training", training_status)
    app.router.add_post("/console/admin/rollback", rollback)
    app.router.add_get("/console/admin/audit", audit_page)
    app.router.add_post("/console/inbox/flag", flag)
    app.router.add_post("/webhooks/rest/feedback", feedback)
