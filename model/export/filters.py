"""Episode filters that need no steps: exit status, policy kind, success, decontamination."""

from __future__ import annotations

from model.export.decontamination import RepoMatcher
from model.export.options import ExportOptions
from model.export.store_reader import EpisodeRecord


class EpisodeFilter:
    def __init__(self, options: ExportOptions, decontamination: RepoMatcher | None) -> None:
        self.exit_statuses = set(options.exit_statuses) if options.exit_statuses is not None else None
        self.policy_kinds = set(options.policy_kinds) if options.policy_kinds is not None else None
        self.only_successful = options.only_successful
        self.decontamination = decontamination

    def reason(self, record: EpisodeRecord) -> str | None:
        """Why the episode is dropped, or None to keep it (before its steps are read)."""
        if self.exit_statuses is not None and (record.exit_status or "") not in self.exit_statuses:
            return "exit_status"
        if self.policy_kinds is not None and (record.policy_kind or "") not in self.policy_kinds:
            return "policy_kind"
        if self.only_successful and not (record.reward is not None and record.reward > 0):
            return "unsuccessful"
        if self.decontamination is not None and self.decontamination.match(record.source):
            return "decontaminated"
        return None
