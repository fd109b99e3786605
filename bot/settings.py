"""The one settings object of Trợ lý HCC, read from the environment (prefix ``HCC_``)."""
from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.origins import parse_origins

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/hcc.db"
    redis_url: str | None = None
    shared_data_dir: Path = PROJECT_ROOT.parent / "shared" / "data"
    var_dir: Path = PROJECT_ROOT / "var"
    host: str = "127.0.0.1"
    port: int = 8000
    rasa_port: int = 5005
    action_port: int = 5055
    rasa_timeout: float = 10.0  # seconds a turn may take in Rasa (actions included) before the apology
    # Idle connections to Rasa and to the action server are closed before their Sanic servers close them
    # (keep-alive 5 s for the action server, 120 s for Rasa), so a request never goes out on one being shut.
    client_keepalive: float = 4.0
    max_message_chars: int = 2000
    max_body_bytes: int = 16384
    turn_threads: int = 4  # worker threads of the citizens' turns (database, Redis); see bot/turn_threads.py
    rate_limit_per_minute: int = 20  # inbound messages per (channel, sender); 0: no limit
    rate_limit_per_ip_per_minute: int = 120  # per client address (web channels); a lobby Wi-Fi shares one
    redis_prefix: str = "hcc:"  # keys of this deployment in a shared Redis
    redis_timeout: float = 0.5  # seconds a rate-limit call may take before Redis counts as unavailable
    # A Rasa lock call waits longer: a turn locked in-process while Redis is merely slow loses the order of
    # one conversation's messages across instances, whereas a Redis that is down refuses at once.
    redis_lock_timeout: float = 3.0
    redis_retry_seconds: float = 1.0  # pause before the console's Redis relay subscribes again after losing Redis
    log_level: str = "INFO"
    shutdown_timeout: int = 15  # seconds in-flight requests get on SIGTERM; above rasa_timeout
    hotline: str = "1900 558 826"
    center_name: str = "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh"
    phone_hash_salt: str | None = None  # None: a random salt kept in var_dir
    office_hours: str = "mon-fri 07:30-11:30,13:30-17:00"  # groups joined by ";", e.g. "; sat 07:30-11:30"
    timezone: str = "Asia/Ho_Chi_Minh"
    # Days the center is closed besides weekends: "MM-DD" every year, "ALMM-DD" every lunar year (âm lịch),
    # "YYYY-MM-DD" once (days the year's decision adds or moves), ranges with "..", comma-separated; "none"
    # for none. By default the Labor Code's holidays: the fixed ones, Tết from New Year's Eve to the 4th
    # (the year's decision may add more) and Giỗ Tổ Hùng Vương (10/3 âm lịch); one falling on a weekend is made up
    # on the next working day.
    holidays: str = "01-01, 04-30, 05-01, 09-02, AL12-30..AL01-04, AL03-10"
    complaint_response_days: int = 10  # working days to answer a complaint
    lookup_limit: int = 5  # failed dossier lookups allowed per sender …
    lookup_window_minutes: int = 10  # … within this many minutes
    average_handle_minutes: int = 5  # one hotline conversation, for the expected wait
    operator_grace_seconds: int = 120  # a held conversation whose console dropped returns to the queue after this
    console_tick_seconds: float = 1.0  # how often the gateway checks the queue for changes and abandoned holds
    telegram_bot_token: str | None = None  # None: the Telegram channel is off
    telegram_webhook_url: str | None = None  # public URL of POST /webhooks/telegram; None: long polling
    telegram_secret: str | None = None  # None: derived from the token (telegram_webhook_secret)
    telegram_api_url: str = "https://api.telegram.org"
    telegram_poll_timeout: int = 30  # seconds one getUpdates long poll may wait
    telegram_send_attempts: int = 4  # tries per outgoing call on network errors and 429
    telegram_max_retry_after: float = 60.0  # a 429 asking to wait longer than this is not retried
    zalo_app_id: str | None = None  # the Zalo app linked to the Official Account; None (or no OA secret): Zalo off
    zalo_app_secret: str | None = None  # the app's secret key, sent when refreshing the OA access token
    zalo_oa_secret: str | None = None  # the OA secret key: signs the webhook events (X-ZEvent-Signature)
    zalo_access_token: str | None = None  # first OA access token; the rotated pair is kept in var_dir/zalo_tokens.json
    zalo_refresh_token: str | None = None  # first refresh token (single use: Zalo returns a new one each refresh)
    zalo_api_url: str = "https://openapi.zalo.me"
    zalo_oauth_url: str = "https://oauth.zaloapp.com"
    zalo_event_max_age: int = 7200  # seconds an event stays acceptable; Zalo retries a failed webhook for ~1.8 h
    zalo_send_attempts: int = 4  # tries per message on network errors and Zalo's rate limit (-32)
    zalo_token_margin: int = 3600  # refresh the access token this many seconds before it expires
    zalo_ack_seconds: float = 1.5  # Zalo wants the webhook's 200 within 2 s; the turn goes on after it
    widget_history: int = 100  # messages a widget gets when it opens (and per catch-up page)
    widget_origins: tuple[str, ...] = ()  # sites whose pages may embed the widget besides ours; "*": any
    cookie_secure: bool = False  # staff session cookies only over HTTPS; set HCC_COOKIE_SECURE=1 behind TLS
    session_hours: int = 12  # a staff session ends this long after its last request
    login_limit: int = 5  # failed logins allowed per username …
    login_ip_limit: int = 20  # … and per client address …
    login_window_minutes: int = 15  # … within this many minutes
    dossier_sync_seconds: float = 60.0  # how often the gateway polls the dossier adapter for status changes; 0: never
    notify_tick_seconds: float = 2.0  # how often the gateway sends due dossier notifications
    notify_attempts: int = 6  # tries per dossier notification before it is marked failed
    notify_retry_seconds: float = 30.0  # wait before the second try; doubles with each further try (at most 1 h)
    live_check_seconds: float = 0.5  # how often each process checks for published FAQ/catalogue changes
    admin_upload_max_bytes: int = 20_000_000  # a catalogue file uploaded at /admin
    nlu_inbox_file: Path = PROJECT_ROOT / "data" / "nlu_inbox.yml"  # training examples added from the learning inbox

    @property
    def sqlite_path(self) -> Path | None:
        if not self.database_url.startswith("sqlite:///"):
            return None
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def telegram_webhook_secret(self) -> str:
        """The X-Telegram-Bot-Api-Secret-Token: the configured one, else stable per bot token (survives restarts)."""
        if self.telegram_secret:
            return self.telegram_secret
        token = (self.telegram_bot_token or "").encode()
        return hmac.new(token, b"hcc-telegram-webhook", hashlib.sha256).hexdigest()

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.action_port}"

    @property
    def resolved_database_url(self) -> str:
        """SQLite paths are relative to the project root, so every process finds one file."""
        path = self.sqlite_path
        if path is None or path.is_absolute() or str(path) == ":memory:":
            return self.database_url
        return f"sqlite:///{PROJECT_ROOT / path}"


def from_environ() -> Settings:
    return Settings(
        database_url=_env("HCC_DATABASE_URL", Settings.database_url),
        redis_url=_env("HCC_REDIS_URL"),
        shared_data_dir=Path(_env("HCC_SHARED_DATA", str(Settings.shared_data_dir))),
        var_dir=Path(_env("HCC_VAR_DIR", str(Settings.var_dir))),
        host=_env("HCC_HOST", Settings.host),
        port=int(_env("HCC_PORT", str(Settings.port))),
        rasa_port=int(_env("HCC_RASA_PORT", str(Settings.rasa_port))),
        action_port=int(_env("HCC_ACTION_PORT", str(Settings.action_port))),
        rasa_timeout=float(_env("HCC_RASA_TIMEOUT", str(Settings.rasa_timeout))),
        max_message_chars=int(_env("HCC_MAX_MESSAGE_CHARS", str(Settings.max_message_chars))),
        max_body_bytes=int(_env("HCC_MAX_BODY_BYTES", str(Settings.max_body_bytes))),
        turn_threads=max(1, int(_env("HCC_TURN_THREADS", str(Settings.turn_threads)))),
        rate_limit_per_minute=int(_env("HCC_RATE_LIMIT_PER_MINUTE", str(Settings.rate_limit_per_minute))),
        rate_limit_per_ip_per_minute=int(_env("HCC_RATE_LIMIT_PER_IP_PER_MINUTE", str(Settings.rate_limit_per_ip_per_minute))),
        redis_prefix=_env("HCC_REDIS_PREFIX", Settings.redis_prefix),
        redis_timeout=float(_env("HCC_REDIS_TIMEOUT", str(Settings.redis_timeout))),
        redis_lock_timeout=float(_env("HCC_REDIS_LOCK_TIMEOUT", str(Settings.redis_lock_timeout))),
        redis_retry_seconds=float(_env("HCC_REDIS_RETRY_SECONDS", str(Settings.redis_retry_seconds))),
        log_level=_env("HCC_LOG_LEVEL", Settings.log_level).upper(),
        shutdown_timeout=int(_env("HCC_SHUTDOWN_TIMEOUT", str(Settings.shutdown_timeout))),
        hotline=_env("HCC_HOTLINE", Settings.hotline),
        center_name=_env("HCC_CENTER_NAME", Settings.center_name),
        phone_hash_salt=_env("HCC_PHONE_SALT"),
        office_hours=_env("HCC_OFFICE_HOURS", Settings.office_hours),
        timezone=_env("HCC_TIMEZONE", Settings.timezone),
        holidays=_env("HCC_HOLIDAYS", Settings.holidays),
        complaint_response_days=int(_env("HCC_COMPLAINT_RESPONSE_DAYS", str(Settings.complaint_response_days))),
        lookup_limit=int(_env("HCC_LOOKUP_LIMIT", str(Settings.lookup_limit))),
        lookup_window_minutes=int(_env("HCC_LOOKUP_WINDOW_MINUTES", str(Settings.lookup_window_minutes))),
        average_handle_minutes=int(_env("HCC_AVERAGE_HANDLE_MINUTES", str(Settings.average_handle_minutes))),
        operator_grace_seconds=int(_env("HCC_OPERATOR_GRACE_SECONDS", str(Settings.operator_grace_seconds))),
        console_tick_seconds=float(_env("HCC_CONSOLE_TICK_SECONDS", str(Settings.console_tick_seconds))),
        # Telegram's own variable names are accepted too, as the bot's deployment guides use them.
        telegram_bot_token=_env("HCC_TELEGRAM_BOT_TOKEN", _env("TELEGRAM_BOT_TOKEN")),
        telegram_webhook_url=_env("HCC_TELEGRAM_WEBHOOK_URL", _env("TELEGRAM_WEBHOOK_URL")),
        telegram_secret=_env("HCC_TELEGRAM_SECRET"),
        telegram_api_url=_env("HCC_TELEGRAM_API_URL", Settings.telegram_api_url).rstrip("/"),
        telegram_poll_timeout=int(_env("HCC_TELEGRAM_POLL_TIMEOUT", str(Settings.telegram_poll_timeout))),
        telegram_send_attempts=int(_env("HCC_TELEGRAM_SEND_ATTEMPTS", str(Settings.telegram_send_attempts))),
        telegram_max_retry_after=float(_env("HCC_TELEGRAM_MAX_RETRY_AFTER", str(Settings.telegram_max_retry_after))),
        # Zalo's own names (ZALO_APP_ID …) are accepted too, as for Telegram.
        zalo_app_id=_env("HCC_ZALO_APP_ID", _env("ZALO_APP_ID")),
        zalo_app_secret=_env("HCC_ZALO_APP_SECRET", _env("ZALO_APP_SECRET")),
        zalo_oa_secret=_env("HCC_ZALO_OA_SECRET", _env("ZALO_OA_SECRET")),
        zalo_access_token=_env("HCC_ZALO_ACCESS_TOKEN", _env("ZALO_ACCESS_TOKEN")),
        zalo_refresh_token=_env("HCC_ZALO_REFRESH_TOKEN", _env("ZALO_REFRESH_TOKEN")),
        zalo_api_url=_env("HCC_ZALO_API_URL", Settings.zalo_api_url).rstrip("/"),
        zalo_oauth_url=_env("HCC_ZALO_OAUTH_URL", Settings.zalo_oauth_url).rstrip("/"),
        zalo_event_max_age=int(_env("HCC_ZALO_EVENT_MAX_AGE", str(Settings.zalo_event_max_age))),
        zalo_send_attempts=int(_env("HCC_ZALO_SEND_ATTEMPTS", str(Settings.zalo_send_attempts))),
        zalo_token_margin=int(_env("HCC_ZALO_TOKEN_MARGIN", str(Settings.zalo_token_margin))),
        zalo_ack_seconds=float(_env("HCC_ZALO_ACK_SECONDS", str(Settings.zalo_ack_seconds))),
        widget_history=int(_env("HCC_WIDGET_HISTORY", str(Settings.widget_history))),
        widget_origins=parse_origins(_env("HCC_WIDGET_ORIGINS", "")),
        cookie_secure=_env("HCC_COOKIE_SECURE", "0").lower() in ("1", "true", "yes"),
        session_hours=int(_env("HCC_SESSION_HOURS", str(Settings.session_hours))),
        login_limit=int(_env("HCC_LOGIN_LIMIT", str(Settings.login_limit))),
        login_ip_limit=int(_env("HCC_LOGIN_IP_LIMIT", str(Settings.login_ip_limit))),
        login_window_minutes=int(_env("HCC_LOGIN_WINDOW_MINUTES", str(Settings.login_window_minutes))),
        dossier_sync_seconds=float(_env("HCC_DOSSIER_SYNC_SECONDS", str(Settings.dossier_sync_seconds))),
        notify_tick_seconds=float(_env("HCC_NOTIFY_TICK_SECONDS", str(Settings.notify_tick_seconds))),
        notify_attempts=int(_env("HCC_NOTIFY_ATTEMPTS", str(Settings.notify_attempts))),
        notify_retry_seconds=float(_env("HCC_NOTIFY_RETRY_SECONDS", str(Settings.notify_retry_seconds))),
        live_check_seconds=float(_env("HCC_LIVE_CHECK_SECONDS", str(Settings.live_check_seconds))),
        admin_upload_max_bytes=int(_env("HCC_ADMIN_UPLOAD_MAX_BYTES", str(Settings.admin_upload_max_bytes))),
        nlu_inbox_file=Path(_env("HCC_NLU_INBOX_FILE", str(Settings.nlu_inbox_file))),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return from_environ()
