"""Local monitor engine: Databricks-compatible profile and drift metrics on one machine.

Entry points (kept stable for other parts of lakemon):
- `schema.PROFILE_METRICS_SCHEMA`, `schema.DRIFT_METRICS_SCHEMA`: the two output tables.
- `engine.compute_metrics(inference, baseline, settings) -> MetricTables(profile, drift)`: pure function.
- `settings.MonitorSettings.from_config(env, model)`: monitor settings from config.
- `incremental.refresh_local(runtime, env, model, progress=None) -> RefreshResult`: incremental,
  atomic refresh of the local Delta tables.
Submodules are imported lazily so that reading the schema stays cheap.
"""
