"""The Databricks-side calls against fakes that enforce the SDK's real signatures
(`create_autospec` of databricks-sdk 0.162's service classes and MLflow's client, spec_set):
a call with a wrong name or argument fails here as it would on a workspace."""

from __future__ import annotations

from types import SimpleNamespace
from unittest.mock import create_autospec

import pytest
from databricks.sdk.errors import NotFound, ResourceConflict
from databricks.sdk.service.catalog import (
    MonitorRefreshInfo,
    MonitorRefreshListResponse,
    QualityMonitorsAPI,
    TableInfo,
    TablesAPI,
)
from databricks.sdk.service.catalog import MonitorRefreshInfoState as State
from databricks.sdk.service.dataquality import (
    DataProfilingConfig,
    DataProfilingStatus,
    DataQualityAPI,
    Refresh,
    RefreshState,
)
from databricks.sdk.service.dataquality import Monitor as DqMonitor
from databricks.sdk.service.serving import (
    EndpointState,
    EndpointStateConfigUpdate,
    EndpointStateReady,
    ServingEndpointDetailed,
    ServingEndpointsAPI,
)
from databricks.sdk.service.workspace import WorkspaceAPI
from jobs_helpers import quiet
from mlflow import MlflowClient
from mlflow.store.entities.paged_list import PagedList

from lakemon_jobs.deploy import DeployError, deploy_databricks
from lakemon_jobs.refresh import RefreshError, refresh_databricks
from lakemon_jobs.register import all_model_versions
from lakemon_jobs.tracking import ensure_workspace_folder


def _endpoints(ready: EndpointStateReady, serving: str = "1"):
    api = create_autospec(ServingEndpointsAPI, instance=True, spec_set=True)
    api.get.return_value = ServingEndpointDetailed(
        name="alive-classifier-dev",
        config=SimpleNamespace(served_entities=[SimpleNamespace(entity_name="x", entity_version=serving)]),
        state=EndpointState(config_update=EndpointStateConfigUpdate.NOT_UPDATING, ready=EndpointStateReady.READY),
    )
    waiter = SimpleNamespace(result=lambda timeout, callback: ServingEndpointDetailed(
        name="alive-classifier-dev",
        state=EndpointState(config_update=EndpointStateConfigUpdate.NOT_UPDATING, ready=ready),
    ))
    api.update_config.return_value = waiter
    return api


def test_deploy_calls_update_config_with_the_sdk_signature_and_checks_ready(ctx):
    api = _endpoints(EndpointStateReady.READY)
    deployment = deploy_databricks(ctx, "2", 60, quiet, client=SimpleNamespace(serving_endpoints=api))
    assert deployment.version == "2"
    api.update_config.assert_called_once()
    assert api.update_config.call_args.kwargs["name"] == "alive-classifier-dev"


def test_an_endpoint_that_stops_updating_but_is_not_ready_is_not_deployed(ctx):
    api = _endpoints(EndpointStateReady.NOT_READY)
    with pytest.raises(DeployError, match="finished updating but is NOT_READY, not READY"):
        deploy_databricks(ctx, "2", 60, quiet, client=SimpleNamespace(serving_endpoints=api))


def test_an_update_refused_while_another_is_pending_is_one_line_with_what_to_do(ctx):
    api = _endpoints(EndpointStateReady.READY)
    api.update_config.side_effect = ResourceConflict(
        "Endpoint alive-classifier-dev has a pending config update", error_code="RESOURCE_CONFLICT"
    )
    with pytest.raises(DeployError) as err:
        deploy_databricks(ctx, "2", 60, quiet, client=SimpleNamespace(serving_endpoints=api))
    text = str(err.value)
    assert "RESOURCE_CONFLICT" in text and "wait for it to finish" in text and "previous version keeps serving" in text
    assert "\n" not in text


def test_refresh_joins_a_running_refresh_instead_of_starting_a_second(legacy_ctx):
    ctx = legacy_ctx
    api = create_autospec(QualityMonitorsAPI, instance=True, spec_set=True)
    api.list_refreshes.return_value = MonitorRefreshListResponse(refreshes=[
        MonitorRefreshInfo(refresh_id=3, state=State.SUCCESS, start_time_ms=1),
        MonitorRefreshInfo(refresh_id=4, state=State.RUNNING, start_time_ms=2),
    ])
    api.get_refresh.return_value = MonitorRefreshInfo(refresh_id=4, state=State.SUCCESS, start_time_ms=2)
    messages: list[str] = []
    assert refresh_databricks(ctx, 60, 0, messages.append, client=SimpleNamespace(quality_monitors=api)) == "SUCCESS"
    api.run_refresh.assert_not_called()
    api.get_refresh.assert_called_with(table_name=ctx.tables.inference_log, refresh_id=4)
    assert "already RUNNING; waiting for it" in messages[0]


def test_refresh_starts_one_when_none_is_running(legacy_ctx):
    ctx = legacy_ctx
    api = create_autospec(QualityMonitorsAPI, instance=True, spec_set=True)
    api.list_refreshes.return_value = MonitorRefreshListResponse(refreshes=[])
    api.run_refresh.return_value = MonitorRefreshInfo(refresh_id=9, state=State.SUCCESS, start_time_ms=5)
    assert refresh_databricks(ctx, 60, 0, quiet, client=SimpleNamespace(quality_monitors=api)) == "SUCCESS"
    api.run_refresh.assert_called_once_with(table_name=ctx.tables.inference_log)


TABLE_ID = "7f0c9a52-3b1e-4d55-9c1a-2f6e8d4b1a00"


def _data_quality(refreshes: list[Refresh], then: list[RefreshState], monitor: list[DataProfilingStatus] = (
        DataProfilingStatus.DATA_PROFILING_STATUS_ACTIVE,)):
    """A workspace client whose tables and data_quality services are autospecs of the SDK's own
    classes: `list_refresh` yields `refreshes`, `get_refresh` answers the states in `then`,
    `get_monitor` the monitor statuses in `monitor`."""
    tables = create_autospec(TablesAPI, instance=True, spec_set=True)
    tables.get.return_value = TableInfo(full_name="x", table_id=TABLE_ID)
    dq = create_autospec(DataQualityAPI, instance=True, spec_set=True)
    statuses = list(monitor)
    dq.get_monitor.side_effect = lambda object_type, object_id: DqMonitor(
        object_type=object_type, object_id=object_id, data_profiling_config=DataProfilingConfig(
            output_schema_id="s", status=statuses.pop(0) if len(statuses) > 1 else statuses[0],
            latest_monitor_failure_message="schema mismatch"))
    dq.list_refresh.return_value = iter(refreshes)
    dq.create_refresh.side_effect = lambda object_type, object_id, refresh: Refresh(
        object_type=object_type, object_id=object_id, refresh_id=11, state=RefreshState.MONITOR_REFRESH_STATE_PENDING
    )
    states = list(then)
    dq.get_refresh.side_effect = lambda object_type, object_id, refresh_id: Refresh(
        object_type=object_type, object_id=object_id, refresh_id=refresh_id,
        state=states.pop(0) if len(states) > 1 else states[0], message="boom",
    )
    return SimpleNamespace(tables=tables, data_quality=dq)


def test_data_quality_refresh_starts_one_by_table_uuid_and_polls_it_to_success(ctx):
    assert ctx.env.monitoring.api == "data_quality"  # the default
    w = _data_quality([], [RefreshState.MONITOR_REFRESH_STATE_RUNNING, RefreshState.MONITOR_REFRESH_STATE_SUCCESS])
    messages: list[str] = []
    assert refresh_databricks(ctx, 60, 0, messages.append, client=w) == "SUCCESS"
    w.tables.get.assert_called_once_with(full_name=ctx.tables.inference_log)
    w.data_quality.create_refresh.assert_called_once()
    kwargs = w.data_quality.create_refresh.call_args.kwargs
    assert (kwargs["object_type"], kwargs["object_id"]) == ("table", TABLE_ID)
    assert kwargs["refresh"].as_dict() == {"object_type": "table", "object_id": TABLE_ID}
    w.data_quality.get_refresh.assert_called_with(object_type="table", object_id=TABLE_ID, refresh_id=11)
    assert "data_quality API" in messages[0] and messages[-1].startswith("refresh: SUCCESS")


def test_data_quality_refresh_joins_the_newest_running_refresh(ctx):
    listed = [
        Refresh(object_type="table", object_id=TABLE_ID, refresh_id=3, start_time_ms=1,
                state=RefreshState.MONITOR_REFRESH_STATE_SUCCESS),
        Refresh(object_type="table", object_id=TABLE_ID, refresh_id=4, start_time_ms=2,
                state=RefreshState.MONITOR_REFRESH_STATE_PENDING),
        Refresh(object_type="table", object_id=TABLE_ID, refresh_id=5, start_time_ms=3,
                state=RefreshState.MONITOR_REFRESH_STATE_RUNNING),
    ]
    w = _data_quality(listed, [RefreshState.MONITOR_REFRESH_STATE_SUCCESS])
    messages: list[str] = []
    assert refresh_databricks(ctx, 60, 0, messages.append, client=w) == "SUCCESS"
    w.data_quality.create_refresh.assert_not_called()
    w.data_quality.list_refresh.assert_called_once_with(object_type="table", object_id=TABLE_ID)
    w.data_quality.get_monitor.assert_not_called()  # joining a running refresh needs no readiness check
    w.data_quality.get_refresh.assert_called_with(object_type="table", object_id=TABLE_ID, refresh_id=5)
    assert "refresh 5" in messages[0] and "already RUNNING" in messages[0]


def test_data_quality_refresh_waits_for_a_pending_monitor_to_be_active_first(ctx):
    """The provider's create does not wait for the monitor; the first run may find it PENDING."""
    pending, active = DataProfilingStatus.DATA_PROFILING_STATUS_PENDING, DataProfilingStatus.DATA_PROFILING_STATUS_ACTIVE
    w = _data_quality([], [RefreshState.MONITOR_REFRESH_STATE_SUCCESS], monitor=[pending, pending, active])
    messages: list[str] = []
    assert refresh_databricks(ctx, 60, 0, messages.append, client=w) == "SUCCESS"
    assert w.data_quality.get_monitor.call_count == 3
    w.data_quality.get_monitor.assert_called_with(object_type="table", object_id=TABLE_ID)
    assert [m for m in messages if "waiting for it to be ACTIVE" in m] == [
        f"refresh: the monitor on {ctx.tables.inference_log} is PENDING; waiting for it to be ACTIVE"] * 2
    w.data_quality.create_refresh.assert_called_once()


def test_data_quality_refresh_of_a_failed_monitor_stops_with_its_message_and_starts_nothing(ctx):
    w = _data_quality([], [RefreshState.MONITOR_REFRESH_STATE_SUCCESS],
                      monitor=[DataProfilingStatus.DATA_PROFILING_STATUS_ERROR])
    with pytest.raises(RefreshError, match=r"is ERROR, not ACTIVE: schema mismatch$"):
        refresh_databricks(ctx, 60, 0, quiet, client=w)
    w.data_quality.create_refresh.assert_not_called()
    stuck = _data_quality([], [RefreshState.MONITOR_REFRESH_STATE_SUCCESS],
                          monitor=[DataProfilingStatus.DATA_PROFILING_STATUS_PENDING])
    with pytest.raises(RefreshError, match=r"still PENDING after 0s, not ACTIVE"):
        refresh_databricks(ctx, 0.02, 0.01, quiet, client=stuck)
    stuck.data_quality.create_refresh.assert_not_called()


def test_data_quality_refresh_failure_is_one_line_with_the_state_and_message(ctx):
    w = _data_quality([], [RefreshState.MONITOR_REFRESH_STATE_FAILED])
    with pytest.raises(RefreshError, match=r"ended FAILED: boom$"):
        refresh_databricks(ctx, 60, 0, quiet, client=w)


def test_data_quality_refresh_of_a_missing_table_is_one_line(ctx):
    w = _data_quality([], [RefreshState.MONITOR_REFRESH_STATE_SUCCESS])
    w.tables.get.side_effect = NotFound("Table 'x' does not exist.")
    with pytest.raises(RefreshError, match="cannot start a refresh of the monitor on .*does not exist"):
        refresh_databricks(ctx, 60, 0, quiet, client=w)
    w.data_quality.create_refresh.assert_not_called()


def test_register_reads_every_page_of_model_versions():
    client = create_autospec(MlflowClient, instance=True, spec_set=True)
    v = [SimpleNamespace(version=str(i), run_id=f"run-{i}") for i in range(1, 6)]
    pages = {None: PagedList(v[:2], "t1"), "t1": PagedList(v[2:4], "t2"), "t2": PagedList(v[4:], None)}
    client.search_model_versions.side_effect = lambda f, max_results, page_token: pages[page_token]
    found = list(all_model_versions(client, "mlops_dev.s.m"))
    assert [x.run_id for x in found] == [f"run-{i}" for i in range(1, 6)]
    assert client.search_model_versions.call_count == 3


def test_the_experiment_folder_is_created_with_the_sdk_call():
    workspace = create_autospec(WorkspaceAPI, instance=True, spec_set=True)
    ensure_workspace_folder("/Shared/lakemon/dev", workspace=workspace)
    workspace.mkdirs.assert_called_once_with("/Shared/lakemon/dev")
