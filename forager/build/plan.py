"""An install plan: what one build attempt puts into an image, as plain data."""

from __future__ import annotations

import hashlib
import json
import shlex
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

InstallMode = Literal["editable", "regular", "none"]


class InstallPlan(BaseModel):
    """One strategy's recipe. Two plans with the same fingerprint would build the same image."""

    model_config = ConfigDict(extra="forbid")

    strategy: str
    why: str = ""
    python: str
    base_image: str
    system_packages: list[str] = Field(default_factory=list)
    deps_requirements: list[str] = Field(
        default_factory=list, description="installed in their own cached layer before the source"
    )
    install_mode: InstallMode = "editable"
    extras: list[str] = Field(default_factory=list)
    extra_packages: list[str] = Field(default_factory=list, description="installed with the project")
    pip_args: list[str] = Field(default_factory=list)
    test_framework: Literal["pytest", "unittest"] = "pytest"
    test_paths: list[str] = Field(default_factory=list)
    test_args: list[str] = Field(default_factory=list)

    def fingerprint(self) -> str:
        data = self.model_dump(exclude={"strategy", "why"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def install_steps(self) -> list[str]:
        """The shell commands of the final (source) layer."""
        steps: list[str] = []
        pkgs = [shlex.quote(p) for p in self.extra_packages]
        args = " ".join(shlex.quote(a) for a in self.pip_args)
        target = "."
        if self.extras:
            target = f".[{','.join(self.extras)}]"
        if self.install_mode == "editable":
            steps.append(" ".join(filter(None, ["pip install -q", args, "-e", shlex.quote(target), *pkgs])))
        elif self.install_mode == "regular":
            steps.append(" ".join(filter(None, ["pip install -q", args, shlex.quote(target), *pkgs])))
        elif pkgs:
            steps.append(" ".join(filter(None, ["pip install -q", args, *pkgs])))
        return steps
