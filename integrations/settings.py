"""Gateway settings: read once from the environment, validated, frozen.

Every variable is documented in ``.env.example`` (section "Gateway"). A wrong value
fails at start with the variable's name (``common.config.ConfigError``).
"""

from __future__ import annotations

import os
from dataclasses import MISSING, dataclass, field, fields
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal
from urllib.parse import urlsplit

from common.config import (
    PROJECT_ROOT,
    ConfigError,
    database_url,
    env_bool,
    env_int,
    env_list,
    env_str,
)
from common.hours import is_valid as valid_hours
from integrations.forwarded import parse_networks

TelegramMode = Literal["webhook", "polling"]
DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"
TELEGRAM_WEBHOOK_PATH = "/webhooks/telegram"


def _http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


@dataclass(frozen=True)
class TelegramSettings:
    token: str
    mode: TelegramMode = "webhook"
    # Shared secret Telegram sends in X-Telegram-Bot-Api-Secret-Token (webhook mode).
    webhook_secret: str | None = None
    # Public URL registered with setWebhook at start; None leaves the webhook as it is.
    webhook_url: str | None = None
    api_url: str = DEFAULT_TELEGRAM_API_URL
    # Connect, write and read timeout of each Bot API request; a request that times out
    # is tried again (integrations.channels.telegram.bot_call).
    request_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.mode not in ("webhook", "polling"):
            raise ConfigError(f"TELEGRAM_MODE must be webhook or polling, got {self.mode!r}")
        if self.mode == "webhook" and not self.webhook_secret:
            raise ConfigError("TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_MODE=webhook")
        if self.webhook_secret is not None and not _valid_secret(self.webhook_secret):
            raise ConfigError(
                "TELEGRAM_WEBHOOK_SECRET must be 1-256 characters among A-Z a-z 0-9 _ -"
            )


def _valid_secret(secret: str) -> bool:
    return 0 < len(secret) <= 256 and all(
        c.isascii() and (c.isalnum() or c in "_-") for c in secret
    )


@dataclass(frozen=True)
class MatrixSettings:
    homeserver: str
    user_id: str
    password: str | None = None
    access_token: str | None = None
    device_id: str = "ASSISTANT_GATEWAY"
    store_path: Path = PROJECT_ROOT / "var" / "matrix"
    # Invitations (and messages) are accepted only from these servers / users when set.
    allowed_servers: tuple[str, ...] = ()
    allowed_users: tuple[str, ...] = ()
    sync_timeout_ms: int = 30_000
    max_backoff_s: float = 30.0

    def __post_init__(self) -> None:
        if not self.password and not self.access_token:
            raise ConfigError("MATRIX_PASSWORD or MATRIX_ACCESS_TOKEN is required")
        if not (self.user_id.startswith("@") and ":" in self.user_id):
            raise ConfigError(f"MATRIX_USER_ID must look like @name:server, got {self.user_id!r}")


# --- console ---
@dataclass(frozen=True)
class OidcSettings:
    """Agents' single sign-on over OpenID Connect (ProConnect, a council's Keycloak…)."""

    issuer: str
    client_id: str
    client_secret: str
    # Where the provider sends the browser back; None = <this gateway>/console/login/oidc/callback
    # (it must be registered with the provider as it is).
    redirect_url: str | None = None
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    # Shown on the login page's button: « Se connecter avec <label> ».
    provider_label: str = "l'authentification unique"

    def __post_init__(self) -> None:
        if "openid" not in self.scopes:
            raise ConfigError("OIDC_SCOPES must contain openid")
        if not self.client_id or not self.client_secret:
            raise ConfigError("OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are required with OIDC_ISSUER")


# --- retention ---
@dataclass(frozen=True)
class RetentionSettings:
    """How many days each kind of personal data is kept (``integrations/retention.py``).

    Gateway messages and Rasa's tracker events default to ``GATEWAY_RETENTION_DAYS``
    (``Settings.retention_days``) when their own variable is not set.
    """

    messages_days: int | None = None
    tracker_days: int | None = None
    # Messages left for a call back (contact and text), counted from their closing,
    # or from their creation while still open.
    tickets_days: int = 90
    # Redacted NLU inbox items, counted from their last sighting.
    inbox_days: int = 365
    # Free text of the audit log; who, when and the kind of action are kept.
    audit_days: int = 365

    def __post_init__(self) -> None:
        for name in ("messages_days", "tracker_days", "tickets_days", "inbox_days", "audit_days"):
            value = getattr(self, name)
            if value is not None and value < 1:
                variable = f"RETENTION_{name.removesuffix('_days').upper()}_DAYS"
                raise ConfigError(f"{variable} must be at least 1, got {value}")


@dataclass(frozen=True)
class RetentionPeriods:
    """The retention of every data type in days, defaults resolved."""

    messages: int
    tracker: int
    tickets: int
    inbox: int
    audit: int


# --- admin ---
@dataclass(frozen=True)
class AdminSettings:
    """NLU inbox, annotation, retraining (integrations/admin/)."""

    # The Rasa project edited and trained: config.yml, bot/, nlu_data/.
    project_dir: Path = PROJECT_ROOT
    # Trained model versions, and the "active" pointer file read at start.
    models_dir: Path = PROJECT_ROOT / "models"
    # User messages under this confidence (or nlu_fallback) go to the inbox.
    inbox_threshold: float = 0.6
    # A new model is activated when its accuracy and macro-F1 drop by at most this much.
    tolerance: float = 0.01
    # Rasa's environment: ``rasa train`` and the evaluation run with its interpreter
    # (the gateway's own environment has no Rasa).
    rasa_venv: Path = PROJECT_ROOT / ".venv"

    def __post_init__(self) -> None:
        if not 0.0 <= self.inbox_threshold <= 1.0:
            raise ConfigError("ADMIN_INBOX_THRESHOLD must be between 0 and 1")
        if not 0.0 <= self.tolerance <= 1.0:
            raise ConfigError("ADMIN_TOLERANCE must be between 0 and 1")


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = field(default_factory=database_url)
    rasa_url: str = "http://127.0.0.1:5005"
    # Optional: with it /health asks Rasa's /status (model loaded), without it Rasa's "/".
    rasa_token: str | None = None
    action_server_url: str = "http://127.0.0.1:5055/webhook"
    # Sent in X-Action-Secret to the action server's own routes (the .ics of a booking).
    actions_secret: str = ""
    # Sent in X-Gateway-Secret to Rasa's gateway channel (rasa_ext/gateway_channel.py);
    # required by from_env (GATEWAY_CHANNEL_SECRET).
    gateway_channel_secret: str = ""
    rasa_timeout_s: float = 30.0
    # Rasa processes on consecutive ports from rasa_url's (rasa_ext/serve.py starts them);
    # each conversation always goes to the same one.
    rasa_workers: int = 1
    # Tries of a queued message before the person is asked to write it again
    # (integrations/outbox.py; about one a minute once Rasa has been down a while).
    outbox_max_attempts: int = 60
    health_timeout_s: float = 3.0
    # Redis shared by several gateway replicas (pub/sub, conversations' lock); None: one
    # gateway, in memory (integrations/bus.py).
    redis_url: str | None = None
    # Bearer token of GET /metrics from another address than loopback; None: loopback only.
    metrics_token: str | None = None
    max_message_chars: int = 2000
    max_body_bytes: int = 64 * 1024
    cors_origins: tuple[str, ...] = ()
    # --- web ---
    # The gateway's own public origins ("https://assistant.departement.example"): the
    # Origin of its pages' WebSockets and forms must be one of them. Empty: derived from
    # host and port (see ``web_origins``).
    public_origins: tuple[str, ...] = ()
    # The public address of the gateway (GATEWAY_PUBLIC_URL, also used in .ics links).
    public_url: str | None = None
    # Token buckets of the public web endpoints: requests per minute per client address,
    # and messages per minute per conversation (bursts up to the same number).
    rate_per_address: int = 120
    rate_per_conversation: int = 20
    # Simultaneous WebSockets of one conversation (tabs of one person).
    max_sockets_per_conversation: int = 5
    # Messages older than this are deleted (personal data kept only as long as needed);
    # the default of the messages' and tracker events' periods of ``retention``.
    retention_days: int = 90
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    telegram: TelegramSettings | None = None
    matrix: MatrixSettings | None = None
    # --- console ---
    # Idle lifetime of a console session (mediators, admins).
    console_session_hours: int = 8
    # Secure cookie flag: None = on, except for plain HTTP on the loopback interface.
    console_cookie_secure: bool | None = None
    # Creates the account "admin" with this password when no staff account exists.
    console_admin_password: str | None = None
    # Agents' sign-in with the council's SSO; None = local accounts only.
    oidc: OidcSettings | None = None
    # Reverse proxies whose Forwarded / X-Forwarded-* headers are believed (integrations/
    # forwarded.py): IPv4/IPv6 networks; none by default (the TCP peer is the client).
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()
    # --- widget ---
    # Title of the web chat window when the page's script tag has no data-title.
    widget_title: str = "Assistant du Département"
    # Serve the demo page of a fictional council site at /demo/ (off in production).
    widget_demo: bool = True
    # --- admin ---
    admin: AdminSettings = field(default_factory=AdminSettings)
    # --- handoff ---
    # When mediators answer: OSM opening_hours in Europe/Paris (PH = French public holidays).
    mediator_hours: str = "Mo-Fr 09:00-17:00; PH off"
    # Replies a mediator can insert in one click (YAML list of {title, text}).
    canned_replies_path: Path = PROJECT_ROOT / "data" / "canned_replies.yml"
    # Seconds a mediator may have no console open before their conversations go back to
    # the head of the queue (a reload or a short network loss is not a departure).
    handoff_presence_timeout_s: int = 120

    def __post_init__(self) -> None:
        if not valid_hours(self.mediator_hours):
            raise ConfigError(
                f"MEDIATOR_HOURS must be an OSM opening_hours value, got {self.mediator_hours!r}"
            )

    @property
    def retention_periods(self) -> RetentionPeriods:
        r = self.retention
        return RetentionPeriods(
            messages=r.messages_days or self.retention_days,
            tracker=r.tracker_days or self.retention_days,
            tickets=r.tickets_days,
            inbox=r.inbox_days,
            audit=r.audit_days,
        )

    @property
    def web_origins(self) -> tuple[str, ...]:
        """The configured public origins, else ``http://<host>:<port>`` (loopback under
        both names; every loopback name for 0.0.0.0) and the origin of ``public_url``."""
        if self.public_origins:
            return self.public_origins
        hosts = [self.host]
        if self.host in {"0.0.0.0", "::", "", "127.0.0.1", "localhost", "::1"}:
            hosts = ["127.0.0.1", "localhost", "[::1]"]
        derived = [f"http://{host}:{self.port}" for host in hosts]
        if self.public_url:
            parts = urlsplit(self.public_url)
            derived.append(f"{parts.scheme}://{parts.netloc}")
        return tuple(derived)

    @property
    def actions_base_url(self) -> str:
        """The action server's root, from ``ACTION_SERVER_URL`` (its ``/webhook``)."""
        return self.action_server_url.rstrip("/").removesuffix("/webhook")

    @property
    def actions_health_url(self) -> str:
        return f"{self.actions_base_url}/health"

    @classmethod
    def from_env(cls) -> Settings:
        d = defaults(cls)
        return cls(
            host=env_str("GATEWAY_HOST", d.host),
            port=env_int("GATEWAY_PORT", d.port, minimum=1),
            database_url=d.database_url,
            rasa_url=_http_url("RASA_URL", env_str("RASA_URL", d.rasa_url)),
            rasa_token=env_str("RASA_TOKEN", "") or None,
            gateway_channel_secret=env_str("GATEWAY_CHANNEL_SECRET"),
            action_server_url=_http_url(
                "ACTION_SERVER_URL", env_str("ACTION_SERVER_URL", d.action_server_url)
            ),
            actions_secret=env_str("ACTIONS_SECRET", d.actions_secret),
            rasa_timeout_s=float(env_int("GATEWAY_RASA_TIMEOUT", int(d.rasa_timeout_s), minimum=1)),
            redis_url=_redis_url(),
            metrics_token=env_str("METRICS_TOKEN", "") or None,
            rasa_workers=env_int("RASA_WORKERS", os.cpu_count() or 1, minimum=1),
            outbox_max_attempts=env_int("OUTBOX_MAX_ATTEMPTS", d.outbox_max_attempts, minimum=1),
            max_message_chars=env_int("GATEWAY_MAX_MESSAGE_CHARS", d.max_message_chars, minimum=1),
            max_body_bytes=env_int("GATEWAY_MAX_BODY_BYTES", d.max_body_bytes, minimum=1024),
            cors_origins=env_list("GATEWAY_CORS_ORIGINS"),
            # --- web ---
            public_origins=_origins("GATEWAY_PUBLIC_ORIGINS"),
            public_url=_public_url(),
            rate_per_address=env_int("GATEWAY_RATE_PER_ADDRESS", d.rate_per_address, minimum=1),
            rate_per_conversation=env_int(
                "GATEWAY_RATE_PER_CONVERSATION", d.rate_per_conversation, minimum=1
            ),
            max_sockets_per_conversation=env_int(
                "GATEWAY_MAX_SOCKETS_PER_CONVERSATION", d.max_sockets_per_conversation, minimum=1
            ),
            retention_days=env_int("GATEWAY_RETENTION_DAYS", d.retention_days, minimum=1),
            retention=_retention_from_env(),
            telegram=_telegram_from_env(),
            matrix=_matrix_from_env(),
            console_session_hours=env_int(
                "CONSOLE_SESSION_HOURS", d.console_session_hours, minimum=1
            ),
            console_cookie_secure=_optional_bool("CONSOLE_COOKIE_SECURE"),
            console_admin_password=env_str("CONSOLE_ADMIN_PASSWORD", "") or None,
            oidc=_oidc_from_env(),
            trusted_proxies=_networks_from_env("GATEWAY_TRUSTED_PROXIES"),
            # --- widget ---
            widget_title=env_str("WIDGET_TITLE", d.widget_title),
            widget_demo=env_bool("WIDGET_DEMO", d.widget_demo),
            # --- admin ---
            admin=_admin_from_env(),
            # --- handoff ---
            mediator_hours=env_str("MEDIATOR_HOURS", d.mediator_hours),
            canned_replies_path=Path(env_str("HANDOFF_CANNED_REPLIES", str(d.canned_replies_path))),
            handoff_presence_timeout_s=env_int(
                "HANDOFF_PRESENCE_TIMEOUT", d.handoff_presence_timeout_s, minimum=1
            ),
        )


def defaults(cls: type) -> Any:
    """The defaults of a settings dataclass, as written in it (attributes by field name):
    ``from_env`` falls back on them, so that each default is written once."""
    values: dict[str, Any] = {}
    for item in fields(cls):
        if item.default is not MISSING:
            values[item.name] = item.default
        elif item.default_factory is not MISSING:
            values[item.name] = item.default_factory()
    return SimpleNamespace(**values)


def _optional_days(name: str) -> int | None:
    return env_int(name, 1, minimum=1) if env_str(name, "") else None


def _retention_from_env() -> RetentionSettings:
    d = defaults(RetentionSettings)
    return RetentionSettings(
        messages_days=_optional_days("RETENTION_MESSAGES_DAYS"),
        tracker_days=_optional_days("RETENTION_TRACKER_DAYS"),
        tickets_days=env_int("RETENTION_TICKETS_DAYS", d.tickets_days, minimum=1),
        inbox_days=env_int("RETENTION_INBOX_DAYS", d.inbox_days, minimum=1),
        audit_days=env_int("RETENTION_AUDIT_DAYS", d.audit_days, minimum=1),
    )


def _redis_url() -> str | None:
    value = env_str("REDIS_URL", "")
    if value and urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError(f"REDIS_URL must be a redis://, rediss:// or unix:// URL, got {value!r}")
    return value or None


# --- web ---
def _origins(name: str) -> tuple[str, ...]:
    """Origins as ``scheme://host[:port]``: no path, no "*" (the gateway's own pages)."""
    origins = env_list(name)
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path:
            raise ConfigError(f"{name} must list origins like https://host[:port], got {origin!r}")
    return origins


def _public_url() -> str | None:
    value = env_str("GATEWAY_PUBLIC_URL", "")
    return _http_url("GATEWAY_PUBLIC_URL", value) if value else None


def _optional_bool(name: str) -> bool | None:
    return env_bool(name, False) if env_str(name, "") else None


# --- console ---
def _oidc_from_env() -> OidcSettings | None:
    issuer = env_str("OIDC_ISSUER", "")
    if not issuer:
        return None
    redirect = env_str("OIDC_REDIRECT_URL", "") or None
    d = defaults(OidcSettings)
    return OidcSettings(
        issuer=_http_url("OIDC_ISSUER", issuer),
        client_id=env_str("OIDC_CLIENT_ID", ""),
        client_secret=env_str("OIDC_CLIENT_SECRET", ""),
        redirect_url=_http_url("OIDC_REDIRECT_URL", redirect) if redirect else None,
        scopes=tuple(env_str("OIDC_SCOPES", " ".join(d.scopes)).replace(",", " ").split()),
        provider_label=env_str("OIDC_PROVIDER_LABEL", d.provider_label),
    )


def _networks_from_env(name: str) -> tuple[IPv4Network | IPv6Network, ...]:
    try:
        return parse_networks(env_list(name))
    except ValueError as err:
        raise ConfigError(f"{name}: {err}") from err


def _telegram_from_env() -> TelegramSettings | None:
    token = env_str("TELEGRAM_BOT_TOKEN", "")
    if not token:
        return None
    d = defaults(TelegramSettings)
    mode = env_str("TELEGRAM_MODE", d.mode)
    webhook_url = env_str("TELEGRAM_WEBHOOK_URL", "") or None
    return TelegramSettings(
        token=token,
        mode=mode,  # type: ignore[arg-type]  # checked in __post_init__
        webhook_secret=env_str("TELEGRAM_WEBHOOK_SECRET", "") or None,
        webhook_url=_http_url("TELEGRAM_WEBHOOK_URL", webhook_url) if webhook_url else None,
        api_url=env_str("TELEGRAM_API_URL", d.api_url),
        request_timeout_s=float(env_int("TELEGRAM_TIMEOUT", int(d.request_timeout_s), minimum=1)),
    )


def _matrix_from_env() -> MatrixSettings | None:
    homeserver = env_str("MATRIX_HOMESERVER", "")
    if not homeserver:
        return None
    d = defaults(MatrixSettings)
    return MatrixSettings(
        homeserver=_http_url("MATRIX_HOMESERVER", homeserver),
        user_id=env_str("MATRIX_USER_ID"),
        password=env_str("MATRIX_PASSWORD", "") or None,
        access_token=env_str("MATRIX_ACCESS_TOKEN", "") or None,
        device_id=env_str("MATRIX_DEVICE_ID", d.device_id),
        store_path=Path(env_str("MATRIX_STORE_PATH", str(d.store_path))),
        allowed_servers=env_list("MATRIX_ALLOWED_SERVERS"),
        allowed_users=env_list("MATRIX_ALLOWED_USERS"),
    )


# --- admin ---
def _env_fraction(name: str, default: float) -> float:
    raw = env_str(name, "")
    try:
        return float(raw) if raw else default
    except ValueError as err:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from err


def _admin_from_env() -> AdminSettings:
    d = defaults(AdminSettings)
    project = Path(env_str("ADMIN_PROJECT_DIR", str(d.project_dir)))
    return AdminSettings(
        project_dir=project,
        # The models of another project live beside it.
        models_dir=Path(env_str("ADMIN_MODELS_DIR", str(project / d.models_dir.name))),
        inbox_threshold=_env_fraction("ADMIN_INBOX_THRESHOLD", d.inbox_threshold),
        tolerance=_env_fraction("ADMIN_TOLERANCE", d.tolerance),
        rasa_venv=Path(env_str("RASA_VENV", str(d.rasa_venv))),
    )
