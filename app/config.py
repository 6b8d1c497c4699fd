"""One settings object, read from the environment and `.env` (see contract.md)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path("data")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "please-change-me"})


class Settings(BaseSettings):
    """Service settings. Every field can be set as an upper-case environment variable."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(
        default="",
        description="SQLAlchemy async URL; empty means an SQLite file under ./data/.",
    )
    redis_url: str | None = Field(default=None, description="Redis URL; unset = in-process broker.")
    redis_prefix: str = Field(
        default="lcr:", description="Prefix of every Redis key and channel this app uses."
    )
    secret_key: str = Field(default="", description="Signs access tokens; generated if unset.")
    admin_password: str | None = Field(default=None, description="Password of the first admin.")
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = DATA_DIR
    access_token_minutes: int = 12 * 60
    viewer_token_hours: int = 24
    # --- security (issue #19) ---
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="Wrong passwords for one username from one address before each "
        "further attempt must wait (1 s, 2 s, 4 s … doubling)",
    )
    login_address_max_failures: int = Field(
        default=30,
        ge=1,
        description="Wrong passwords from one address (any usernames) before delays start",
    )
    login_delay_base_seconds: float = Field(
        default=1.0, gt=0, description="The first login delay; each further miss doubles it"
    )
    login_max_delay_seconds: float = Field(
        default=300.0, gt=0, description="The longest login delay"
    )
    login_failure_window_seconds: int = Field(
        default=900, ge=1, description="Login misses are forgotten after this long without one"
    )
    trusted_proxy_header: str = Field(
        default="",
        description="Header holding the client address set by your load balancer (e.g. "
        "X-Forwarded-For; its last entry is used). Empty: the TCP peer address. Only set it "
        "when every request comes through that proxy, or clients can pick their address.",
    )
    max_body_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=1024,
        description="Largest request body accepted (413 above it), except ingest batches",
    )
    ingest_max_body_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="Largest ingest batch body: 1,000 events of 2,000-character comments, "
        "escaped, fit",
    )
    viewer_tokens_per_minute: int = Field(
        default=120,
        ge=0,
        description="Viewer tokens one client address may mint per minute (0 = no limit); "
        "mobile carriers put many viewers behind one address, so keep it generous",
    )
    comments_per_minute: int = Field(
        default=20,
        ge=0,
        description="Watch-page comments one viewer may post per minute (0 = no limit)",
    )
    metrics_hz: float = 4.0
    console_opens_at_once: int = Field(
        default=16,
        ge=1,
        description="Websocket consoles that may be opening at the same time per server; "
        "the others wait their turn in arrival order, so a reconnect storm does not "
        "starve other requests (app/realtime/opening.py)",
    )
    gc_freeze: bool = Field(
        default=True,
        description=(
            "After start-up, collect once and freeze what exists (gc.freeze): the "
            "modules, the text model and the routes then stay out of every later full "
            "collection, which otherwise scanned ~200k start-up objects in the middle of "
            "intake batches (~25 % of the comment intake's Python CPU)"
        ),
    )
    log_level: str = "INFO"
    log_json: bool = True
    db_pool_size: int = 20
    db_pool_timeout: float | None = Field(
        default=None,
        gt=0,
        description=(
            "Seconds a request waits for a database connection before a 503 busy; "
            "default 30 on PostgreSQL, 120 on SQLite (one writer: a burst queues)"
        ),
    )
    order_units_per_viewer: int = Field(
        default=10,
        ge=0,
        description="Units of one product one viewer may hold at the live price (0 = no limit)",
    )
    stock_resync_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How often each server compares the Redis stock mirrors with the "
        "database; a mirror that disagreed the same way at two looks is re-synced "
        "(app/services/stock_resync.py). 0 turns it off.",
    )
    flash_sale_tick_seconds: float = Field(
        default=0.5, gt=0, description="How often due flash sales are started and ended"
    )
    # --- connecting a platform (issue 18): outbound webhooks
    webhook_allow_private: bool = Field(
        default=False,
        description="Allow webhook URLs on loopback/private addresses (SSRF guard off); "
        "for tests and closed networks only",
    )
    webhook_timeout_seconds: float = Field(
        default=5.0, gt=0, description="A delivery that takes longer counts as failed"
    )
    webhook_max_tries: int = Field(
        default=8, ge=1, description="Tries before a delivery is dead (dead letter)"
    )
    webhook_backoff_seconds: float = Field(
        default=5.0, gt=0, description="Wait before the 2nd try; doubles each try, ≤ 10 min"
    )
    webhook_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often each server looks for due deliveries"
    )
    replay_lease_seconds: float = Field(
        default=15.0,
        gt=0,
        description="A server working on a rehearsal's replay renews its claim this often "
        "(÷ 3); another server resumes a replay whose claim ran out (its server died)",
    )
    replay_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often each server looks for replays to resume"
    )
    static_dir: Path = Field(
        default=PROJECT_ROOT / "frontend" / "dist", description="The built consoles."
    )
    team_timezone: str = Field(
        default="Asia/Shanghai",
        description="The team's time zone (IANA name): per-minute series, exports and "
        "the consoles show times in it, ISO times carry its offset.",
    )
    environment: str = Field(
        default="development", description="`production` enforces safe settings."
    )

    @field_validator("team_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"TEAM_TIMEZONE: unknown time zone {value!r}") from exc
        return value

    @field_validator("redis_url", "admin_password", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'controlroom.db').as_posix()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        """PostgreSQL or an explicit production environment counts as production."""
        return self.environment == "production" or not self.is_sqlite

    def ensure_secret_key(self) -> str:
        """Return the signing key, generating and keeping one under data_dir on first start.

        A production configuration with a placeholder key is refused: tokens signed with a
        known key could be forged by anyone.
        """
        if self.secret_key:
            weak = self.secret_key.lower() in PLACEHOLDER_SECRETS or len(self.secret_key) < 16
            if weak and self.is_production:
                raise RuntimeError(
                    "SECRET_KEY is a placeholder or shorter than 16 characters; "
                    "set a long random value (e.g. `openssl rand -hex 32`)."
                )
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            self.secret_key = path.read_text().strip()
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.secret_key = secrets.token_urlsafe(48)
            path.write_text(self.secret_key)
            path.chmod(0o600)
        return self.secret_key


@lru_cache
def get_settings() -> Settings:
    return Settings()
