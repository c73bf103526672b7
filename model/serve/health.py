"""Is a vLLM server up and serving the expected model? (used by scripts and readiness waits)"""

from __future__ import annotations

import time

import httpx
from pydantic import BaseModel

from model.serve.vllm_config import VLLMServeConfig


class Health(BaseModel):
    ok: bool
    detail: str


def check_health(
    config: VLLMServeConfig,
    client_host: str = "127.0.0.1",
    timeout_s: float = 5.0,
    client: httpx.Client | None = None,
) -> Health:
    """`/health` answers 200 and `/v1/models` lists the served model name."""
    headers = {"Authorization": f"Bearer {config.api_key.get_secret_value()}"} if config.api_key else {}
    own = client is None
    http = client or httpx.Client(timeout=timeout_s)
    try:
        health = http.get(config.health_url(client_host), headers=headers)
        if health.status_code != 200:
            return Health(ok=False, detail=f"/health answered {health.status_code}")
        models = http.get(config.models_url(client_host), headers=headers)
        if models.status_code != 200:
            return Health(ok=False, detail=f"/v1/models answered {models.status_code}")
        names = [m.get("id") for m in models.json().get("data", [])]
        if config.served_model_name not in names:
            return Health(ok=False, detail=f"serving {names}, not {config.served_model_name!r}")
        return Health(ok=True, detail=f"serving {config.served_model_name!r}")
    except (httpx.HTTPError, ValueError) as exc:
        return Health(ok=False, detail=f"{type(exc).__name__}: {exc}")
    finally:
        if own:
            http.close()


def wait_healthy(
    config: VLLMServeConfig, client_host: str = "127.0.0.1", timeout_s: float = 900.0, interval_s: float = 5.0
) -> Health:
    """Poll until healthy or the deadline passes (loading weights takes minutes)."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=min(10.0, interval_s * 2)) as http:
        while True:
            status = check_health(config, client_host, client=http)
            if status.ok or time.monotonic() >= deadline:
                return status
            time.sleep(interval_s)
