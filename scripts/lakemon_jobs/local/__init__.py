"""The local layer: what a job needs to run on one machine instead of a workspace.

- `runtime`: where a job runs (Databricks or the embedded default) and the local root's folders;
- `delta_files`: when a local Delta table's snapshot can be read as plain Parquet;
- `endpoints`: the embedded default's serving-endpoint API, backed by a file;
- `runs`: run-local's run folders and which one is the latest completed.

The production jobs, the table engines and the embedded rehearsal (`lakemon_jobs.embedded`) all
build on it; it imports none of them (tests/architecture).
"""
