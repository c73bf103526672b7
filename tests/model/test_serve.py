"""The vLLM serving config renders the server's command line, probes and the policy settings."""

from __future__ import annotations

import json
import shlex
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import ValidationError

from forager.agent.policies import OpenAIPolicyConfig
from model.serve import VLLMServeConfig, check_health


def test_command_line_has_the_tool_calling_flags() -> None:
    config = VLLMServeConfig(
        model="Qwen/Qwen3-8B",
        served_model_name="forager-policy",
        port=8100,
        chat_template="/srv/templates/tools.jinja",
        max_model_len=65536,
        gpu_memory_utilization=0.85,
        tensor_parallel_size=2,
        max_num_seqs=64,
    )
    argv = config.argv()
    assert argv[:3] == ["vllm", "serve", "Qwen/Qwen3-8B"]

    def flag(name: str) -> str:
        return argv[argv.index(name) + 1]

    assert flag("--served-model-name") == "forager-policy"
    assert flag("--tool-call-parser") == "hermes" and "--enable-auto-tool-choice" in argv
    assert flag("--chat-template") == "/srv/templates/tools.jinja"
    assert flag("--max-model-len") == "65536" and flag("--gpu-memory-utilization") == "0.85"
    assert (
        flag("--port") == "8100" and flag("--tensor-parallel-size") == "2" and flag("--max-num-seqs") == "64"
    )
    assert "--enable-prefix-caching" in argv
    assert shlex.split(config.command_line()) == argv
    assert config.server_args() == argv[2:]
    assert config.health_url() == "http://127.0.0.1:8100/health"
    assert config.base_url("vllm") == "http://vllm:8100/v1"


def test_secrets_stay_off_the_command_line() -> None:
    config = VLLMServeConfig(model="m", api_key="s3cret")
    assert "s3cret" not in config.command_line()
    assert config.environment() == {"VLLM_API_KEY": "s3cret"}
    assert "VLLM_API_KEY" in json.dumps(config.k8s_container(secret_name="vllm-key"))
    assert "s3cret" not in json.dumps(config.k8s_container(secret_name="vllm-key"))
    assert config.compose_service()["environment"] == ["VLLM_API_KEY"]


def test_policy_settings_point_at_the_server() -> None:
    config = VLLMServeConfig(model="m", served_model_name="pol", port=9000, max_model_len=16384, api_key="k")
    policy = config.policy_config(client_host="vllm", temperature=0.0)
    assert isinstance(policy, OpenAIPolicyConfig)
    assert policy.base_url == "http://vllm:9000/v1" and policy.model == "pol" and policy.temperature == 0.0
    assert policy.api_key.get_secret_value() == "k"
    # The history budget leaves room for the reply inside the server's context.
    assert policy.context_budget_tokens + policy.max_tokens <= config.max_model_len
    assert policy.native_tools
    # A config that round-trips through JSON (the compose file, a ConfigMap) is the same config.
    assert OpenAIPolicyConfig.model_validate_json(policy.model_dump_json()).model == "pol"


def test_deployment_snippets_probe_health() -> None:
    config = VLLMServeConfig(model="m", port=8000, tensor_parallel_size=4)
    container = config.k8s_container()
    assert container["args"] == config.server_args()
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8000}
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 4
    service = config.compose_service()
    assert service["command"] == config.server_args()
    assert service["healthcheck"]["test"][-1] == "http://127.0.0.1:8000/health"


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValidationError):
        VLLMServeConfig(model="m", gpu_memory_utilization=1.5)
    with pytest.raises(ValidationError):
        VLLMServeConfig(model="m", tool_call_parser="hermes; rm -rf /")
    with pytest.raises(ValidationError):
        VLLMServeConfig(model="m", unknown=True)  # type: ignore[call-arg]


@pytest.fixture
def fake_vllm() -> Iterator[tuple[int, dict[str, object]]]:
    """A loopback server answering /health and /v1/models like vLLM does."""
    state: dict[str, object] = {"healthy": True, "models": ["policy"]}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/health":
                self.send_response(200 if state["healthy"] else 503)
                self.end_headers()
                return
            if self.path == "/v1/models":
                body = json.dumps({"object": "list", "data": [{"id": m} for m in state["models"]]}).encode()  # type: ignore[attr-defined]
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], state
    server.shutdown()
    server.server_close()


def test_health_check_against_a_local_server(fake_vllm: tuple[int, dict[str, object]]) -> None:
    port, state = fake_vllm
    config = VLLMServeConfig(model="m", port=port)
    assert check_health(config).ok
    state["models"] = ["other"]
    assert "not 'policy'" in check_health(config).detail
    state["healthy"] = False
    assert not check_health(config).ok
    assert not check_health(VLLMServeConfig(model="m", port=1)).ok  # nothing listens there
