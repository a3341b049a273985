"""Settings, read once from the environment in one place.

Secrets (tokens, API keys, webhook secrets) are read here and nowhere else; they are
never printed: ``Settings.__repr__`` masks them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

_SECRET_FIELDS = {
    "apify_token",
    "linkedin_access_token",
    "millionverifier_api_key",
    "webhook_secret",
    "calendly_webhook_signing_key",
}


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def _flag(name: str) -> bool:
    return (_env(name, "") or "").lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    state_dir: Path = field(default_factory=lambda: PROJECT_ROOT / ".outreach")
    test_mode: bool = False
    apify_token: str | None = None
    apify_base_url: str = "https://api.apify.com"
    linkedin_access_token: str | None = None
    linkedin_base_url: str = "https://api.linkedin.com"
    linkedin_ad_accounts: tuple[str, ...] = ()
    millionverifier_api_key: str | None = None
    millionverifier_base_url: str = "https://api.millionverifier.com"
    ple_webhook_url: str | None = None
    alert_webhook_url: str | None = None
    webhook_secret: str | None = None
    # outbox deliveries (exports/): kept as given, parsed and checked by exports.config
    export_max_attempts: str | None = None  # answered failed attempts before a dead letter
    export_breaker_cooldown_s: str | None = None  # circuit breaker cool-down per target
    export_deadline_s: str | None = None  # total time one delivery attempt may take
    webhook_tolerance_s: str | None = None  # local receiver: signature timestamp tolerance
    ple_envelope: str | None = None  # unset: the payload as is; "heir_orbt": wrapped
    notify_channel: str | None = None  # pg_notify channel for each delivered outbox row
    # builds and loads: PostgreSQL durations ("15min", "90s"; "0" = none), see warehouse.py
    statement_timeout: str = "15min"
    client_check_interval: str = "5s"
    intake_companies: str | None = None  # default intake files for the Dagster intake asset
    intake_people: str | None = None
    # outreach serve (loaders/email_events): webhook verification keys and the listen address
    sendgrid_webhook_public_key: str | None = None  # base64 DER (the "Verification Key")
    calendly_webhook_signing_key: str | None = None
    serve_host: str = "127.0.0.1"
    serve_port: int = 8787

    def __repr__(self) -> str:  # never print secrets
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRET_FIELDS and value:
                value = "***"
            parts.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(parts)})"

    @property
    def embedded(self) -> bool:
        return self.database_url is None


def load_settings() -> Settings:
    """Read the environment now (tests change it between calls, so nothing is cached)."""
    accounts = tuple(
        a.strip() for a in (_env("LINKEDIN_AD_ACCOUNTS", "") or "").split(",") if a.strip()
    )
    return Settings(
        database_url=_env("OUTREACH_DATABASE_URL"),
        state_dir=Path(_env("OUTREACH_STATE_DIR", str(PROJECT_ROOT / ".outreach"))).resolve(),
        test_mode=_flag("OUTREACH_TEST_MODE"),
        apify_token=_env("APIFY_TOKEN"),
        apify_base_url=_env("APIFY_BASE_URL", "https://api.apify.com"),
        linkedin_access_token=_env("LINKEDIN_ACCESS_TOKEN"),
        linkedin_base_url=_env("LINKEDIN_BASE_URL", "https://api.linkedin.com"),
        linkedin_ad_accounts=accounts,
        millionverifier_api_key=_env("MILLIONVERIFIER_API_KEY"),
        millionverifier_base_url=_env(
            "MILLIONVERIFIER_BASE_URL", "https://api.millionverifier.com"
        ),
        ple_webhook_url=_env("PLE_WEBHOOK_URL"),
        alert_webhook_url=_env("ALERT_WEBHOOK_URL"),
        webhook_secret=_env("OUTREACH_WEBHOOK_SECRET"),
        export_max_attempts=_env("OUTREACH_EXPORT_MAX_ATTEMPTS"),
        export_breaker_cooldown_s=_env("OUTREACH_EXPORT_BREAKER_COOLDOWN_S"),
        export_deadline_s=_env("OUTREACH_EXPORT_DEADLINE_S"),
        webhook_tolerance_s=_env("OUTREACH_WEBHOOK_TOLERANCE_S"),
        ple_envelope=_env("OUTREACH_PLE_ENVELOPE"),
        notify_channel=_env("OUTREACH_NOTIFY_CHANNEL"),
        statement_timeout=_env("OUTREACH_STATEMENT_TIMEOUT", "15min"),
        client_check_interval=_env("OUTREACH_CLIENT_CHECK_INTERVAL", "5s"),
        intake_companies=_env("OUTREACH_INTAKE_COMPANIES"),
        intake_people=_env("OUTREACH_INTAKE_PEOPLE"),
        sendgrid_webhook_public_key=_env("SENDGRID_WEBHOOK_PUBLIC_KEY"),
        calendly_webhook_signing_key=_env("CALENDLY_WEBHOOK_SIGNING_KEY"),
        serve_host=_env("OUTREACH_SERVE_HOST", "127.0.0.1") or "127.0.0.1",
        serve_port=int(_env("OUTREACH_SERVE_PORT", "8787") or 8787),
    )
