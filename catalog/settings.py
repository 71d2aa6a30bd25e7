"""Settings from the environment (prefix ``IOC_CATALOG_``) or a .env file, built on demand: no work at import."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import DEFAULT_TIMEZONE, msg, zone
from catalog.metamodel import Metamodel, load_metamodel
from catalog.store import DEFAULT_URL, CatalogStore, open_store

DEMO_SECRET = "demo-only-not-a-secret"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IOC_CATALOG_", env_file=".env", extra="ignore")

    store: str = Field(DEFAULT_URL, description="Store URL: sqlite:///file.db (default) or neo4j://host:7687")
    head_witness: str | None = Field(
        None,
        description="A file outside the store that receives every committed "
        "change-log head as an appended line; verify-log checks the "
        "log against it (docs/cli.md, verify-log)",
    )
    lang: Literal["vi", "en"] = Field("vi", description="Default language of messages and labels")
    timezone: str = Field(
        DEFAULT_TIMEZONE, description="Time zone (IANA name) on whose clock web pages show times; dates stay as given"
    )
    secret_key: SecretStr = Field(SecretStr(DEMO_SECRET), description="Signing key for sessions and tokens")
    demo: bool = Field(False, description="Demo mode: allows the built-in secret and prints ready-made tokens")
    metamodel_extensions: str | None = Field(None, description="YAML file declaring custom attributes per kind")
    rules_file: str | None = Field(
        None,
        description="YAML file of compliance rules added to the built-in ones (or "
        "replacing them: `builtin_rules: replace`); see "
        "docs/compliance-rules.md",
    )
    approval_policy: str | None = Field(
        None,
        description="YAML file of the approval policy: which changes by which roles become drafts for review "
        "(default: the built-in catalog/approval_policy.yaml); see docs/web.md",
    )
    host: str = Field("127.0.0.1", description="Address the server listens on")
    port: int = Field(8000, ge=1, le=65535, description="Port the server listens on")
    # running it as a city's IT department does (docs/deploy.md)
    workers: int | None = Field(
        None, ge=1, le=64, description="Server processes of `ioc-catalog serve` (default: one per CPU core)"
    )
    threads: int = Field(
        4,
        ge=1,
        le=256,
        description="Requests one server process works on at once (its thread pool; the rest wait their turn): "
        "a Python process serves more under load with a few than with many (bench/README.md, Workers under load)",
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        max_length=2000,
        description="Addresses of the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed "
        "(comma-separated addresses or networks; * trusts every peer: only when nothing else can reach the port)",
    )
    root_path: str = Field(
        "",
        max_length=200,
        pattern=r"^(/[A-Za-z0-9._~-]+)*$",
        description="Path prefix the reverse proxy serves the catalog under, e.g. /ioc-catalog (the proxy strips it; "
        "every link and redirect of the web UI carries it)",
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="Server log lines: text, or json (one JSON object per line, one line per request)"
    )
    run_dir: str | None = Field(
        None,
        max_length=500,
        description="Folder for what the workers of one server share at run time (metrics of every worker, the "
        "sign-in throttle's counters when there are several workers); emptied at start (default: a new temporary "
        "folder)",
    )
    worker_pid_header: bool = Field(
        False, description="Answer each request with the serving worker's process id in X-Worker-Pid (tests, diagnosis)"
    )
    anonymous_role: Literal["viewer", "none"] = Field(
        "viewer",
        description="Role of requests without a token or session: viewer (read-only browsing) or none "
        "(sign-in required)",
    )
    signin_failures_per_account: int = Field(
        5, ge=1, description="Failed sign-ins one user name may have within the window before sign-in is refused (429)"
    )
    signin_failures_per_address: int = Field(
        50,
        ge=1,
        description="Failed sign-ins and bad API tokens one client address may send within the window "
        "before it is refused (429)",
    )
    signin_token_failures_per_address: int = Field(
        10,
        ge=1,
        description="Bad API tokens one client address may send within the window before it is refused "
        "(429); they also count towards signin_failures_per_address",
    )
    signin_window_seconds: int = Field(900, ge=1, description="The moving window the sign-in limits count over")
    signin_throttle_storage: str = Field(
        "memory://",
        description="Where the sign-in failure counters live (a `limits` storage URI): memory:// "
        "(this process; `ioc-catalog serve` with several workers then uses a file every worker opens, "
        "sqlite:////<run_dir>/signin-throttle.db), sqlite:////path/file.db, or one shared by several servers, "
        "e.g. redis://host:6379",
    )
    # OpenID Connect sign-in (docs/security.md, "Signing in with the city's identity provider")
    oidc_issuer: str | None = Field(
        None,
        max_length=500,
        description="Issuer URL of the OpenID Connect provider (its /.well-known/openid-configuration is read); "
        "unset: no single sign-on",
    )
    oidc_client_id: str | None = Field(None, max_length=500, description="The catalog's client id at the provider")
    oidc_client_secret: SecretStr | None = Field(
        None, description="The catalog's client secret at the provider (from the environment; never logged)"
    )
    oidc_scopes: str = Field(
        "openid profile email", max_length=500, description="Scopes asked of the provider (openid is always asked)"
    )
    oidc_claims_mapping: str | None = Field(
        None,
        description="YAML file mapping the provider's claims (groups, roles, department) to the catalog's role and "
        "organisation (example: docs/oidc-claims.example.yaml); required with oidc_issuer",
    )
    oidc_redirect_url: str | None = Field(
        None,
        max_length=500,
        description="The catalog's callback URL as registered at the provider (default: this server's "
        "/signin/oidc/callback as the browser reached it)",
    )
    oidc_clock_skew_seconds: int = Field(
        60, ge=0, le=300, description="Clock difference tolerated in an ID token's exp and iat (at most 300)"
    )
    oidc_timeout_seconds: float = Field(
        10, gt=0, le=60, description="Longest wait for the provider (discovery, keys, token exchange)"
    )
    oidc_allow_http_loopback: bool = Field(
        False,
        description="Accept a provider at http://127.0.0.1 or http://localhost (tests and demos); otherwise every "
        "provider URL must be https (demo mode accepts loopback http too)",
    )
    local_signin: Literal["all", "admins", "none"] = Field(
        "all",
        description="Sign-in with the catalog's own passwords: all (local accounts), admins (local administrators "
        "only, for when the provider is down) or none",
    )
    max_body_bytes: int = Field(5_000_000, description="Largest request body the API accepts")
    max_import_bytes: int = Field(200_000_000, description="Largest file an import accepts")
    # what one import may hold (docs/spreadsheets.md, "Limits"): checked while reading, before anything is kept
    import_max_cell_chars: int = Field(
        32_767, ge=1, description="Longest text of one spreadsheet cell, in characters (Excel's own limit)"
    )
    import_max_row_chars: int = Field(1_000_000, ge=1, description="Most characters one spreadsheet row may hold")
    import_max_columns: int = Field(1_024, ge=1, description="Last column a spreadsheet row may use (XFD is 16,384)")
    import_max_rows: int = Field(
        1_048_576, ge=1, description="Last row a sheet or CSV file may use (Excel's own limit)"
    )
    import_max_sheet_bytes: int = Field(
        100_000_000,
        ge=1,
        description="Largest unpacked worksheet (XML) or CSV file in a zip, refused before it is unpacked",
    )
    import_max_strings_bytes: int = Field(
        32_000_000,
        ge=1,
        description="Largest unpacked shared-strings part of an "
        "XLSX (the text of Excel's cells), which "
        "the reader holds in memory whole",
    )
    import_max_part_bytes: int = Field(
        5_000_000,
        ge=1,
        description="Largest unpacked XML part of an XLSX other than "
        "worksheets and shared strings (styles, "
        "workbook...), which the reader parses whole",
    )
    import_max_report_items: int = Field(
        1_000, ge=1, description="Rejected or unmapped items an import report lists (the rest are counted)"
    )
    import_stale_hours: float = Field(
        24, gt=0, description="A run another host left running is marked failed after this many hours without news"
    )
    archimate_mapping: str | None = Field(
        None, description="YAML file mapping ArchiMate types to kinds and relationships (default: the built-in mapping)"
    )
    archimate_reference_dir: str | None = Field(
        None,
        description="Folder with the ArchiMate XSDs and Archi's "
        "relationships.xml (default: the copies shipped "
        "in the package, importers/reference/archimate)",
    )
    search_home: str | None = Field(
        None,
        max_length=200,
        description="An organisation (kind:code, e.g. organization:hcm-ubnd) whose province or city ranks first in "
        "searches of people without an organisation of their own (architects, auditors, visitors); department "
        "editors get their own",
    )
    # national scale (docs/web.md, "Long lists and large diagrams")
    page_size: int = Field(50, ge=1, le=10_000, description="Items per page of a long list in the web UI and the API")
    max_page_size: int = Field(
        500, ge=1, le=100_000, description="Largest page a client may ask for (a larger limit is read as this)"
    )
    diagram_max_nodes: int = Field(
        400, ge=1, description="A diagram with more nodes than this is drawn collapsed by organisation"
    )
    diagram_max_edges: int = Field(
        800, ge=1, description="A diagram with more edges than this is drawn collapsed by organisation"
    )
    render_timeout_seconds: float = Field(
        20, gt=0, le=3600, description="Longest time Graphviz may take to draw one diagram for the web UI or the API"
    )
    render_cache_bytes: int = Field(
        64_000_000, ge=0, description="Memory the cache of drawn diagrams may hold (0: no cache)"
    )
    # notices and webhooks (docs/web.md, "Notices"; docs/api.md, "Webhooks")
    notify_worker: bool = Field(
        True, description="Run notices and webhook deliveries in a background thread of the server"
    )
    notify_interval_seconds: float = Field(
        5, gt=0, le=3600, description="Pause between two passes of the notices and webhooks worker"
    )
    notify_batch: int = Field(
        1000, ge=1, le=100_000, description="Change-log entries one pass reads per consumer (notices, each webhook)"
    )
    notices_keep: int = Field(200, ge=1, le=10_000, description="Newest notices kept per user")
    freshness_days: int = Field(
        365,
        ge=1,
        le=3650,
        description="Freshness (compliance rule CR006): an entry whose last confirmation (last_reviewed, set by an "
        "inventory campaign's confirmation) is older than this many days, or missing, is flagged",
    )
    webhook_attempts: int = Field(
        8, ge=1, le=100, description="Attempts to deliver one event to one webhook before it is given up"
    )
    webhook_base_delay_seconds: float = Field(
        10, gt=0, le=86_400, description="Wait after a webhook's first failed attempt; doubled after each further one"
    )
    webhook_max_delay_seconds: float = Field(
        3600, gt=0, le=604_800, description="Longest wait between two attempts of one webhook delivery"
    )
    webhook_timeout_seconds: float = Field(
        10, gt=0, le=120, description="Longest wait for a webhook receiver's answer to one attempt"
    )
    webhook_log_keep: int = Field(
        10_000, ge=10, le=10_000_000, description="Webhook delivery-log entries kept (the oldest are removed first)"
    )
    smtp_host: str | None = Field(
        None, max_length=255, description="SMTP server notices are e-mailed through (unset: notices are in-app only)"
    )
    smtp_port: int = Field(587, ge=1, le=65535, description="Port of the SMTP server")
    smtp_from: str = Field("ioc-catalog@localhost", max_length=255, description="Sender address of notice e-mails")
    smtp_starttls: bool = Field(True, description="Switch the SMTP connection to TLS (STARTTLS) before anything else")
    smtp_user: str | None = Field(None, max_length=255, description="User name at the SMTP server (unset: no login)")
    smtp_password: SecretStr | None = Field(
        None, description="Password at the SMTP server (from the environment; never logged)"
    )
    smtp_timeout_seconds: float = Field(10, gt=0, le=120, description="Longest wait for the SMTP server")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)  # ValueError names it
        return value

    def metamodel(self) -> Metamodel:
        """The built-in metamodel plus the custom attributes declared in ``metamodel_extensions``."""
        return load_metamodel(self.metamodel_extensions)

    def open_store(self, create: bool = False) -> CatalogStore:
        return open_store(self.store, metamodel=self.metamodel(), create=create, head_witness=self.head_witness)

    def check_secrets(self) -> None:
        """Refuse to serve with the built-in secret outside demo mode, or with a single sign-on set up halfway
        (:meth:`check_oidc`)."""
        if not self.demo and self.secret_key.get_secret_value() == DEMO_SECRET:
            raise ValidationFailed([FieldError("IOC_CATALOG_SECRET_KEY", msg("secret-key-not-set"))])
        self.check_oidc()

    def provider_url_allowed(self, url: object) -> bool:
        """Whether an identity provider's URL may be used: https, or http to the loopback (127.0.0.1, localhost)
        when ``oidc_allow_http_loopback`` or demo mode allows it."""
        from urllib.parse import urlsplit

        if not isinstance(url, str) or len(url) > 2000:
            return False
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
        except ValueError:
            return False
        if parts.scheme == "https" and host:
            return True
        loopback = host in ("127.0.0.1", "localhost", "::1")
        return parts.scheme == "http" and loopback and (self.oidc_allow_http_loopback or self.demo)

    def check_oidc(self) -> None:
        """With ``oidc_issuer`` set: a client id, a provider URL that is https (or an allowed loopback), and a claim
        mapping that loads; every fault named."""
        if not self.oidc_issuer:
            return
        from catalog.claims import load_mapping

        errors = []
        if not self.provider_url_allowed(self.oidc_issuer):
            errors.append(FieldError("IOC_CATALOG_OIDC_ISSUER", msg("oidc-issuer-not-https")))
        if self.oidc_redirect_url and not self.provider_url_allowed(self.oidc_redirect_url):
            errors.append(FieldError("IOC_CATALOG_OIDC_REDIRECT_URL", msg("oidc-issuer-not-https")))
        if not self.oidc_client_id:
            errors.append(FieldError("IOC_CATALOG_OIDC_CLIENT_ID", msg("oidc-setting-required")))
        if not self.oidc_claims_mapping:
            errors.append(FieldError("IOC_CATALOG_OIDC_CLAIMS_MAPPING", msg("oidc-setting-required")))
        else:
            try:
                load_mapping(self.oidc_claims_mapping)
            except ValidationFailed as exc:
                errors.extend(
                    e
                    if e.location.startswith("IOC_CATALOG_")
                    else FieldError(f"{self.oidc_claims_mapping}: {e.location}", e.reason)
                    for e in exc.errors
                )
        if errors:
            raise ValidationFailed(errors)


@lru_cache
def get_settings() -> Settings:
    return Settings()
