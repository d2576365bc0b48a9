"""Bulk validation jobs: model, upload, intake, runner, supervisor and completion callbacks."""
