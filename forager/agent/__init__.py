"""The agent: a policy acting in a sandboxed environment, every step recorded."""
