"""The `slow` marker, given in one place: the quick loop (`pytest -m "not slow"`) leaves these out.

Chosen by measurement, not by guess: one full run with `--durations=0` (1106 tests, 20 min 46 s on
the shared 2-core machine at load average 5-9, 2026-12-07), ranked by each test's setup + call +
teardown. Marked slow: the folders and modules whose cost is a shared fixture or a subprocess
(a module-scoped fixture is paid by whichever of its tests runs first, so marking only some of
them would just move the cost), and every other test that took 1 s or more in that run. The
rest took about 63 s in that run. CI and the README's test command run everything: nothing
deselects `slow` by default (tests/docs/test_quick_loop.py). Add a test here, or a module with
`pytestmark = pytest.mark.slow`, when it is among the slowest; an entry that names nothing is an
error, so a renamed test cannot silently rejoin the quick loop.

Re-measured 2026-12-07 on the quiet machine (load average about 1): the quick loop had grown to
888 tests in 129 s; the tests of 1.5 s or more in `--durations=30` (subprocess runs of the CLI,
the starter's run-local, `lakemon diff`'s synth) joined the slow ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# whole folders (ending in /) and modules
SLOW_PATHS = (
    "tests/delivery/",
    "tests/e2e/test_run_local.py",
    "tests/e2e/test_run_local_starter.py",
    "tests/cli/test_cli_diff.py",
    "tests/spark/",
    "tests/stacks/test_stacks_synth.py",
    "tests/stacks/test_stacks_deploy_fidelity.py",
    "tests/jobs/test_jobs_concurrency.py",
    "tests/jobs/test_jobs_benchmark_smoke.py",
    "tests/jobs/test_jobs_retrain.py",
    "tests/jobs/test_jobs_regression.py",
    "tests/jobs/test_jobs_damage_fuzzer.py",
    "tests/jobs/test_jobs_deploy_refresh.py",
    "tests/jobs/test_jobs_train_register.py",
    "tests/jobs/test_jobs_refresh_local.py",
    "tests/drift/test_drift_report_browser.py",
)
# single tests: "path::function" (every parameter of it)
SLOW_TESTS = frozenset({
    "tests/cli/test_cli_newcomer.py::test_a_missing_environment_lists_the_environments_in_one_line",
    "tests/cli/test_cli_newcomer.py::test_a_mistyped_model_gets_a_suggestion",
    "tests/cli/test_cli_newcomer.py::test_train_names_the_key_and_the_nearest_columns_before_fitting",
    "tests/cli/test_cli_newcomer.py::test_a_follow_up_after_a_run_of_another_model_says_so_and_names_the_option",
    "tests/cli/test_cli_newcomer.py::test_run_local_stops_on_a_missing_feature_before_any_step",
    "tests/cli/test_cli_newcomer.py::test_the_command_names_its_model_and_run_and_a_missing_table_is_one_line",
    "tests/jobs/test_jobs_errors.py::test_an_unexpected_exception_in_a_job_keeps_its_traceback",
    "tests/drift/test_drift_registry.py::test_adding_a_statistic_touches_one_place",
    "tests/constructs/test_constructs_policy.py::test_importing_lakemon_leaves_the_exception_hook_alone_and_the_stack_installs_it",
    "tests/jobs/test_jobs_forecasting.py::test_train_and_register_leave_a_backtest_baseline",
    "tests/jobs/test_jobs_cli.py::test_train_from_a_missing_training_table_fails_clearly",
    "tests/architecture/test_import_layers.py::test_importing_every_job_module_loads_no_cdk_library",
    "tests/architecture/test_import_layers.py::test_lower_layers_never_import_higher_ones",
    "tests/cli/test_cli_exit_codes.py::test_config_errors_exit_2_in_every_job",
    "tests/cli/test_cli_exit_codes.py::test_home_that_cannot_be_written",
    "tests/cli/test_cli_exit_codes.py::test_home_that_is_a_file_is_named_not_the_env_file",
    "tests/cli/test_cli_guidance.py::test_a_missing_jobs_extra_ends_with_the_install_command",
    "tests/cli/test_cli_guidance.py::test_analyze_drift_after_run_local_reads_the_latest_run",
    "tests/cli/test_cli_guidance.py::test_cdktf_runs_on_the_projects_node_22_whatever_node_is_on_path",
    "tests/cli/test_cli_guidance.py::test_doctor_names_every_missing_tool_with_its_fix",
    "tests/cli/test_cli_guidance.py::test_doctor_says_az_login_when_the_azure_cli_is_not_logged_in",
    "tests/cli/test_cli_version.py::test_a_job_run_on_databricks_names_the_version_first",
    "tests/config/test_config_errors.py::test_bad_config_is_not_a_traceback_for_the_stack_app",
    "tests/config/test_config_fuzz.py::test_config_fuzzer_finds_nothing",
    "tests/config/test_config_strict.py::test_deeply_nested_file",
    "tests/config/test_config_strict.py::test_no_template_sequence_is_accepted_in_any_text_value_or_key",
    "tests/constructs/test_constructs_catalog_serving.py::test_an_env_file_loaded_twice_still_shares_one_schema",
    "tests/constructs/test_constructs_catalog_serving.py::test_two_models_share_one_schema_and_volume_when_wired_explicitly",
    "tests/constructs/test_constructs_jobs_model.py::test_import_constructs_from_repo_root_is_the_cdk_library",
    "tests/constructs/test_constructs_jobs_model.py::test_monitored_model_jobs_run_the_versioned_wheel_serverless",
    "tests/constructs/test_constructs_jobs_model.py::test_public_api_is_lazy_and_complete",
    "tests/constructs/test_constructs_monitoring.py::test_data_quality_monitor_refuses_what_the_api_cannot_take",
    "tests/constructs/test_constructs_policy.py::test_full_env_stacks_pass_the_policy",
    "tests/constructs/test_constructs_policy.py::test_other_jsii_errors_keep_the_users_lines_but_not_the_javascript_stack",
    "tests/constructs/test_constructs_policy.py::test_the_python_app_prints_the_report_and_no_stack_trace",
    "tests/drift/test_drift_alerts.py::test_a_down_destination_is_reported_and_the_others_still_get_theirs",
    "tests/drift/test_drift_alerts.py::test_webhook_gets_the_message_and_a_500_is_retried",
    "tests/drift/test_drift_blind_spots.py::test_the_report_says_which_statistic_saw_it_and_what_the_threshold_means",
    "tests/drift/test_drift_cli.py::test_drift_exit_code_is_configurable_for_the_databricks_job",
    "tests/drift/test_drift_cli.py::test_drift_exits_3_and_alerts_the_webhook_and_outbox",
    "tests/drift/test_drift_cli.py::test_no_alerts_flag",
    "tests/drift/test_drift_cli.py::test_no_drift_exits_0_and_writes_the_report",
    "tests/drift/test_drift_marvel_dc.py::test_engine_metrics_marvel_quiet_dc_alerts",
    "tests/drift/test_drift_marvel_dc.py::test_scipy_metrics_marvel_quiet_dc_alerts",
    "tests/drift/test_drift_null.py::test_ks_noise_is_the_kolmogorov_second_moment_checked_against_scipy_draws",
    "tests/drift/test_drift_report.py::test_html_is_self_contained_and_puts_the_answer_first",
    "tests/drift/test_drift_report.py::test_json_summary_follows_the_schema",
    "tests/drift/test_drift_sources.py::test_judging_the_read_rows_gives_the_report_of_the_whole_tables",
    "tests/drift/test_drift_verdicts_table.py::test_a_rerun_adds_no_duplicates_and_each_run_is_one_commit",
    "tests/drift/test_drift_verdicts_table.py::test_a_verdicts_table_with_the_wrong_schema_is_refused_and_left_as_it_was",
    "tests/drift/test_drift_verdicts_table.py::test_quality_verdicts_and_the_quality_alert",
    "tests/drift/test_drift_verdicts_table.py::test_rows_outside_the_judged_period_are_kept_and_stale_rows_inside_it_go",
    "tests/drift/test_drift_verdicts_table.py::test_the_alert_sql_fires_exactly_for_the_windows_judged_drift",
    "tests/embedded/test_logging_layer.py::test_bad_or_huge_content_length_is_answered_and_not_logged",
    "tests/embedded/test_logging_layer.py::test_non_200_responses_are_logged_with_the_upstream_status",
    "tests/embedded/test_logging_layer.py::test_port_is_released_when_the_layer_stops",
    "tests/embedded/test_logging_layer.py::test_rows_are_buffered_and_flushed_in_batches_and_on_stop",
    "tests/embedded/test_logging_layer.py::test_rows_have_the_payload_schema_and_client_request_id_is_stripped",
    "tests/embedded/test_logging_layer.py::test_unknown_route_and_bad_clock_header_are_refused_and_not_logged",
    "tests/embedded/test_loopback_hostile.py::test_a_post_without_content_length_is_answered_411",
    "tests/embedded/test_loopback_hostile.py::test_an_unrepresentable_request_time_is_answered_400",
    "tests/embedded/test_loopback_hostile.py::test_half_sent_requests_become_no_payload_rows",
    "tests/embedded/test_loopback_hostile.py::test_idle_connections_are_closed",
    "tests/embedded/test_processes.py::test_exception_inside_the_block_stops_the_whole_tree_and_frees_its_port",
    "tests/embedded/test_processes.py::test_stop_returns_only_when_every_group_member_is_gone",
    "tests/jobs/test_jobs_cli.py::test_register_without_a_training_run_says_what_to_do",
    "tests/jobs/test_jobs_payload_fuzzer.py::test_payload_fuzzer_finds_no_traceback_wrong_or_lost_row",
    "tests/jobs/test_jobs_run_safety.py::test_a_killed_runs_spill_folder_is_removed_by_the_next_run_a_live_one_is_kept",
    "tests/jobs/test_jobs_unpack_batch.py::test_batch_frame_equals_the_row_by_row_frame_on_the_fuzzer_corpus",
    "tests/jobs/test_jobs_unpack_hostile_requests.py::test_poison_pill_and_future_time_through_the_layer_then_unpack",
    "tests/monitoring/test_monitor_custom_metrics.py::test_incremental_refresh_with_custom_metrics_equals_full_recompute",
    "tests/monitoring/test_monitor_engine.py::test_parquet_read_as_dictionaries_gives_the_same_tables",
    "tests/monitoring/test_monitor_engine.py::test_row_order_does_not_change_the_tables",
})


REPO = Path(__file__).resolve().parents[1]


@pytest.hookimpl(tryfirst=True)  # before -m / -k deselect, so the marker is there to select on
def pytest_collection_modifyitems(config, items):
    modules = {}
    for item in items:
        path = item.nodeid.split("::")[0]
        if getattr(item, "module", None) is not None:
            modules[path] = item.module
        name = f"{path}::{getattr(item, 'originalname', item.name)}"
        if name in SLOW_TESTS or any(path == p or (p.endswith("/") and path.startswith(p)) for p in SLOW_PATHS):
            item.add_marker(pytest.mark.slow)
    stale = [p for p in SLOW_PATHS if not (REPO / p).exists()]
    for entry in SLOW_TESTS:
        path, function = entry.split("::")
        if not (REPO / path).exists() or (path in modules and not hasattr(modules[path], function)):
            stale.append(entry)
    if stale:
        raise pytest.UsageError(f"tests/conftest.py marks as slow what does not exist: {sorted(stale)}")
