"""The harvest pipeline of one submission: ingest -> build -> tasks -> episodes.

Stages are plain functions over ids; Celery tasks (workers/) and the embedded runner
(`forager harvest`) call the same ones.
"""
