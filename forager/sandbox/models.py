"""What a command in the sandbox produced."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CommandResult(BaseModel):
    """One command's observation: shown text for the policy, stored bytes for the record."""

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    output: str = Field(description="stdout+stderr as shown: head + marker + tail, decoded leniently")
    stored_output: bytes = Field(description="raw bytes kept: everything up to the store limit")
    output_bytes: int = Field(ge=0, description="total bytes the command wrote")
    exit_code: int = Field(description="exit status; 128 + N when killed by signal N")
    duration_ms: float
    truncated: bool = Field(description="the shown text leaves bytes out")
    stored_truncated: bool = Field(description="the stored bytes leave bytes out")
    timed_out: bool
    cwd: str = Field(description="working directory after the command")
