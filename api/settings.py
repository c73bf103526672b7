"""Settings of the REST API alone (`FORAGER_API_` prefix); shared ones live in forager.config."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FORAGER_API_", env_file=".env", extra="ignore")

    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="larger request bodies get 413")
    allowed_schemes: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["https", "pypi"],
        description=(
            "source kinds a submitter may use: https, http, git, ssh, pypi, file "
            "(file also admits local paths; only for trusted, single-user deployments)"
        ),
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="git hosts a submitter may name (exact, or '*.example.org'); empty: any public host",
    )
    auth_cache_s: float = Field(
        default=5.0, ge=0, description="valid keys are remembered this long: a revocation takes up to this"
    )
    threads: int = Field(
        default=20,
        ge=1,
        description="worker threads per API process for blocking work (database reads, DNS checks)",
    )
    db_pool_size: int = Field(
        default=20,
        ge=1,
        description=(
            "read connections kept open per API process; at least `threads`, so that no request "
            "waits for one and no connection is opened and closed per burst"
        ),
    )
    db_max_overflow: int = Field(default=5, ge=0, description="extra read connections beyond the pool")
    page_size: int = Field(default=50, ge=1)
    max_page_size: int = Field(default=500, ge=1)
    ready_requires_docker: bool = Field(
        default=False, description="/readyz fails without a Docker engine (the API itself needs none)"
    )
    ready_timeout_s: float = Field(default=2.0, gt=0, description="per dependency checked by /readyz")
    metrics_cache_s: float = Field(
        default=5.0, ge=0, description="aggregate queries behind /metrics run at most this often"
    )
    trajectory_batch: int = Field(default=100, ge=1, le=5000, description="episodes per store read in JSONL")
    ui_enabled: bool = Field(default=True, description="serve the dashboard under /ui")
    ui_poll_s: float = Field(default=3.0, gt=0, description="how often dashboard pages refresh live data")
    ui_cache_s: float = Field(
        default=5.0, ge=0, description="whole-store aggregates (overview, plots) are reused this long"
    )
    ui_monitor_s: float = Field(
        default=5.0, gt=0, description="how often the dashboard asks the broker for queues and live workers"
    )
    log_requests: bool = True
    log_format: Literal["console", "json"] = Field(
        default="console", description="json: one JSON object per log line (for log shippers)"
    )

    @field_validator("allowed_schemes", "allowed_hosts", mode="before")
    @classmethod
    def _split(cls, v: object) -> object:
        # FORAGER_API_ALLOWED_SCHEMES="https,pypi" as well as a JSON list.
        if isinstance(v, str):
            if v.strip().startswith("["):
                return json.loads(v)
            return [p.strip() for p in v.split(",") if p.strip()]
        return v

    @field_validator("allowed_schemes", "allowed_hosts")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [p.lower() for p in v]


@lru_cache(maxsize=1)
def get_api_settings() -> ApiSettings:
    return ApiSettings()
