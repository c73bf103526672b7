"""How a document's messages become tokens, and which tokens carry loss.

    [bos] ([role marker] content [end]) ... [eos]

A role marker is never a target (it is the frame, known in advance); a message's content and
its end marker are targets when the message's `loss` flag is set (the export masks a seeded
share of observations this way) and its role is one the model trains on; eos is a target.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

ROLE_IDS: dict[str, int] = {"system": 1, "user": 2, "assistant": 3, "observation": 4, "trace": 5}
NO_ROLE = 0  # bos, eos and padding


class ChatFormat(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bos: str | None = "<|bos|>"
    eos: str = "<|eos|>"
    pad: str = "<|pad|>"
    end_of_message: str = "<|end|>"
    role_markers: dict[str, str] = Field(
        default_factory=lambda: {role: f"<|{role}|>" for role in ROLE_IDS},
        description="role -> special token that opens its messages",
    )
    train_roles: list[str] = Field(
        default_factory=lambda: ["user", "assistant", "observation", "trace"],
        description="roles whose content is a target (where the message's loss flag allows)",
    )
