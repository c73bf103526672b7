"""vLLM serving configuration for the agent policy, and the `openai` policy settings for it."""

from model.serve.health import Health, check_health, wait_healthy
from model.serve.vllm_config import VLLMServeConfig

__all__ = ["Health", "VLLMServeConfig", "check_health", "wait_healthy"]
