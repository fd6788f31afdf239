"""The contract: the names and shapes the constructs declare and the job scripts honour.

Everything here is read by both halves of lakemon, so each is spelled once:
- `tables`: three-part table names of a model, their columns, the request keys;
- `verdicts`: the verdicts table as a typed row (`VerdictRow`), its column constants and values
  (what analyze-drift writes, the alerts read);
- `payload`: the AI gateway's payload table (columns, types, Delta properties) and the two tables
  unpack keeps beside the inference log (quarantine, unpack runs);
- `statistics`: the drift statistics, their kinds and how each is judged;
- `alert_queries`: the SQL of the drift and quality alerts (the construct deploys it, the
  embedded default runs it on the local verdicts table);
- `gateway`: the AI gateway an endpoint should have (the construct tags it, `lakemon deploy` puts it);
- `monitor_analysis`: the analysis type of a quality monitor;
- `principals`: how a principal name maps to a Databricks access-control field.

Rule (tests/architecture): modules here import only `lakemon.config` and each other, never a
construct, cdktf or the job scripts, so the jobs can import them on a Databricks cluster without
the CDK bindings. The job scripts name the request keys, the payload, unpack-runs and verdicts
columns only through the constants here, never by a string literal
(tests/architecture/test_contract_names.py).
"""
