"""Settings, read from the environment (`FORAGER_` prefix) and an optional `.env` file."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_BASE_IMAGES: dict[str, str] = {
    "3.11": "forager/base:bookworm",
    "3.13": "forager/base:trixie",
    "3.9": "forager/base:bullseye",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FORAGER_", env_file=".env", extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
    api_keys_pepper: SecretStr = Field(
        default=SecretStr("forager-development-pepper"),
        description="mixed into API key hashes; set a secret of your own outside development",
    )
    policy_base_url: str = "http://127.0.0.1:8000/v1"
    policy_model: str = "policy"

    data_dir: Path = Field(default_factory=lambda: Path(user_data_dir("forager")))
    instance: str = Field(
        default="default", description="label on every container, so sweepers touch only their own"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in data_dir"
    )

    # Images
    base_images: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_BASE_IMAGES),
        description="python version -> base image reference (local tag or registry image)",
    )
    default_python: str = "3.11"
    ca_certs: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="extra CA certificate files trusted inside images"
    )
    debian_mirror: str = "http://deb.debian.org/debian"
    image_prefix: str = "forager/env"
    pip_spec: str = Field(default="pip==25.2", description="pip installed into every image venv")

    # Source limits
    max_repo_mb: float = 300.0
    max_files: int = 30_000
    max_file_mb: float = 25.0
    clone_timeout_s: float = 300.0
    pypi_simple_url: str = "https://pypi.org/simple"

    # Build and validation
    build_timeout_s: float = 1200.0
    test_timeout_s: float = 900.0
    test_runs: int = Field(default=2, ge=1, description="suite runs per validation; >1 marks flaky tests")
    max_attempts: int = Field(default=5, ge=1)
    verify_min_passed: int = 1
    verify_min_pass_ratio: float = 0.5
    container_memory: str = "4g"
    container_pids: int = 2048
    container_cpus: float = 2.0

    @field_validator("ca_certs", mode="before")
    @classmethod
    def _split_paths(cls, v: object) -> object:
        # Allow FORAGER_CA_CERTS="a.crt:b.crt" as well as a JSON list.
        if isinstance(v, str):
            if v.strip().startswith("["):
                return json.loads(v)
            return [p for p in v.split(":") if p.strip()]
        return v

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'forager.db'}"

    @property
    def repos_dir(self) -> Path:
        return self.data_dir / "repos"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
