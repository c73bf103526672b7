"""Serving the agent policy with vLLM's OpenAI-compatible server, and pointing Forager at it.

One pydantic config renders the `vllm serve` command line (for a shell, the compose file or a
Kubernetes container), the URLs that tell whether the server is up, and the settings of
Forager's `openai` policy that talk to it. Nothing here imports vLLM: it runs on GPU hosts,
this renders what they run.
"""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from forager.agent.policies import OpenAIPolicyConfig

# The policy reserves this many tokens of the context for the reply and chat-template overhead
# when it sizes its history budget to the server's max model length.
TEMPLATE_MARGIN_TOKENS = 1024


class VLLMServeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="Hugging Face id or a local path of the weights")
    served_model_name: str = Field(default="policy", description="the name clients ask for")
    host: str = Field(default="0.0.0.0", description="address the server binds")
    port: int = Field(default=8000, ge=1, le=65535)
    tool_call_parser: str = Field(
        default="hermes",
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="vLLM tool parser matching the model's tool-call format (hermes, llama3_json, …)",
    )
    enable_auto_tool_choice: bool = Field(
        default=True, description="let the model decide to call tools (Forager sends tool schemas)"
    )
    chat_template: PurePosixPath | None = Field(
        default=None, description="Jinja chat template path on the server host; None: the model's own"
    )
    max_model_len: int = Field(default=32768, ge=1024)
    gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1)
    tensor_parallel_size: int = Field(default=1, ge=1)
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    max_num_seqs: int | None = Field(default=None, ge=1, description="concurrent sequences per step")
    enable_prefix_caching: bool = Field(
        default=True, description="agent turns resend a growing prefix: caching it saves most prefill"
    )
    seed: int | None = 0
    api_key: SecretStr | None = Field(
        default=None, description="required by the server when set; passed as VLLM_API_KEY, never on argv"
    )
    extra_args: list[str] = Field(default_factory=list, description="appended verbatim")
    image: str = Field(default="vllm/vllm-openai:latest", description="container image for compose/k8s")

    # --- the server -----------------------------------------------------------------------

    def server_args(self) -> list[str]:
        """Everything after `vllm serve`: the model and the flags (the official image's
        entrypoint is `vllm serve`, so containers take exactly these as their args)."""
        args = [
            self.model,
            "--served-model-name",
            self.served_model_name,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--max-model-len",
            str(self.max_model_len),
            "--gpu-memory-utilization",
            f"{self.gpu_memory_utilization:g}",
            "--tensor-parallel-size",
            str(self.tensor_parallel_size),
            "--dtype",
            self.dtype,
        ]
        if self.enable_auto_tool_choice:
            args += ["--enable-auto-tool-choice", "--tool-call-parser", self.tool_call_parser]
        if self.chat_template is not None:
            args += ["--chat-template", str(self.chat_template)]
        if self.max_num_seqs is not None:
            args += ["--max-num-seqs", str(self.max_num_seqs)]
        if self.enable_prefix_caching:
            args.append("--enable-prefix-caching")
        if self.seed is not None:
            args += ["--seed", str(self.seed)]
        return args + list(self.extra_args)

    def argv(self) -> list[str]:
        return ["vllm", "serve", *self.server_args()]

    def command_line(self) -> str:
        return shlex.join(self.argv())

    def environment(self) -> dict[str, str]:
        return {"VLLM_API_KEY": self.api_key.get_secret_value()} if self.api_key else {}

    # --- health ---------------------------------------------------------------------------

    def url(self, client_host: str = "127.0.0.1") -> str:
        """Where clients reach the server (it binds `host`; clients use a name or address)."""
        return f"http://{client_host}:{self.port}"

    def base_url(self, client_host: str = "127.0.0.1") -> str:
        return f"{self.url(client_host)}/v1"

    def health_url(self, client_host: str = "127.0.0.1") -> str:
        """200 once the engine is up (vLLM's `/health`)."""
        return f"{self.url(client_host)}/health"

    def models_url(self, client_host: str = "127.0.0.1") -> str:
        """Lists the served model name once it can take requests."""
        return f"{self.url(client_host)}/v1/models"

    # --- the policy that talks to it ------------------------------------------------------

    def policy_config(self, client_host: str = "127.0.0.1", **overrides: Any) -> OpenAIPolicyConfig:
        """Forager's `openai` policy settings for this server: its URL, served name, key, and a
        history budget that fits the server's context."""
        max_tokens = int(overrides.pop("max_tokens", OpenAIPolicyConfig.model_fields["max_tokens"].default))
        budget = max(1024, self.max_model_len - max_tokens - TEMPLATE_MARGIN_TOKENS)
        default_budget = int(OpenAIPolicyConfig.model_fields["context_budget_tokens"].default)
        fields: dict[str, Any] = {
            "base_url": self.base_url(client_host),
            "model": self.served_model_name,
            "max_tokens": max_tokens,
            "context_budget_tokens": min(default_budget, budget),
            "native_tools": self.enable_auto_tool_choice,
        }
        if self.api_key is not None:
            fields["api_key"] = self.api_key
        fields.update(overrides)
        return OpenAIPolicyConfig(**fields)

    # --- deployment snippets --------------------------------------------------------------

    def compose_service(self, gpus: int | None = None) -> dict[str, Any]:
        """A docker-compose service (as a dict to dump into YAML)."""
        count = gpus or self.tensor_parallel_size
        service: dict[str, Any] = {
            "image": self.image,
            "command": self.server_args(),
            "ports": [f"{self.port}:{self.port}"],
            "ipc": "host",  # tensor parallelism shares memory between worker processes
            "healthcheck": {
                "test": ["CMD", "curl", "-fsS", self.health_url()],
                "interval": "30s",
                "timeout": "5s",
                "retries": 5,
                "start_period": "600s",  # loading weights takes minutes
            },
            "deploy": {
                "resources": {
                    "reservations": {
                        "devices": [{"driver": "nvidia", "count": count, "capabilities": ["gpu"]}]
                    }
                }
            },
        }
        if self.api_key is not None:
            service["environment"] = ["VLLM_API_KEY"]  # taken from the host's environment
        return service

    def k8s_container(self, name: str = "vllm", secret_name: str | None = None) -> dict[str, Any]:
        """A Kubernetes container spec with startup and readiness probes on `/health`."""
        probe = {"httpGet": {"path": "/health", "port": self.port}}
        container: dict[str, Any] = {
            "name": name,
            "image": self.image,
            "args": self.server_args(),
            "ports": [{"containerPort": self.port, "name": "http"}],
            "resources": {"limits": {"nvidia.com/gpu": self.tensor_parallel_size}},
            "startupProbe": {**probe, "periodSeconds": 10, "failureThreshold": 90},
            "readinessProbe": {**probe, "periodSeconds": 10, "failureThreshold": 3},
            "livenessProbe": {**probe, "periodSeconds": 30, "failureThreshold": 5},
        }
        if secret_name is not None:
            container["env"] = [
                {
                    "name": "VLLM_API_KEY",
                    "valueFrom": {"secretKeyRef": {"name": secret_name, "key": "api-key"}},
                }
            ]
        return container
