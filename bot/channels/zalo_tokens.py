"""The OA access token and its refresh token, kept in ``var_dir/zalo_tokens.json`` (mode 0600).

Zalo's refresh tokens are single use: every refresh returns a new pair, which must be stored before it is
used, or the next restart holds a dead refresh token. The file remembers which configured refresh token it
grew from, so setting new tokens in the environment (after re-authorising the app) replaces it."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from bot.settings import Settings

log = logging.getLogger(__name__)

FILE_NAME = "zalo_tokens.json"


class RefreshFailed(Exception):
    """Zalo did not renew the access token (refresh token expired or revoked, app secret wrong, network)."""


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: float | None  # epoch seconds; None for the configured token, whose age is unknown
    seed: str  # hash of the configured refresh token this pair descends from

    def expiring(self, margin: int, now: float | None = None) -> bool:
        return self.expires_at is not None and (time.time() if now is None else now) >= self.expires_at - margin


def _path(settings: Settings) -> Path:
    return Path(settings.var_dir) / FILE_NAME


def _seed(settings: Settings) -> str:
    return hashlib.sha256((settings.zalo_refresh_token or settings.zalo_access_token or "").encode()).hexdigest()[:16]


def load(settings: Settings) -> Tokens:
    """The stored pair when it descends from the configured tokens, else the configured tokens themselves."""
    path = _path(settings)
    try:
        stored = Tokens(**json.loads(path.read_text()))
        if stored.seed == _seed(settings):
            return stored
        log.info("Zalo: new tokens in the environment replace the stored pair")
    except FileNotFoundError:
        pass
    except (ValueError, TypeError) as error:
        log.error("Zalo: %s unreadable (%s); using the configured tokens", path, type(error).__name__)
    return Tokens(settings.zalo_access_token or "", settings.zalo_refresh_token or "", None, _seed(settings))


def save(settings: Settings, tokens: Tokens) -> None:
    """Write the pair atomically, readable by this user only."""
    path = _path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(asdict(tokens), handle)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


async def refresh(client: httpx.AsyncClient, settings: Settings, tokens: Tokens) -> Tokens:
    """A new pair from Zalo's OAuth v4 endpoint, already saved; RefreshFailed when Zalo refuses."""
    if not tokens.refresh_token:
        raise RefreshFailed("không có refresh token")
    try:
        response = await client.post(
            f"{settings.zalo_oauth_url}/v4/oa/access_token",
            headers={"secret_key": settings.zalo_app_secret or ""},
            data={"refresh_token": tokens.refresh_token, "app_id": settings.zalo_app_id or "", "grant_type": "refresh_token"})
        body = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise RefreshFailed(type(error).__name__) from error
    if not isinstance(body, dict) or not body.get("access_token") or not body.get("refresh_token"):
        reason = body.get("error_description") or body.get("error") if isinstance(body, dict) else "?"
        raise RefreshFailed(str(reason))
    lifetime = int(body.get("expires_in") or 0)  # Zalo sends it as a string ("90000": 25 h)
    renewed = Tokens(str(body["access_token"]), str(body["refresh_token"]),
                     time.time() + lifetime if lifetime > 0 else None, tokens.seed)
    save(settings, renewed)
    return renewed
