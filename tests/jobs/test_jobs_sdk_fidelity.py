"""Issue 18: the Databricks-side calls against fakes that enforce the SDK's real signatures
(`create_autospec` of databricks-sdk 0.162's service classes and MLflow's client, spec_set):
a call with a wrong name or argument fails here as it would on a workspace."""

from __future__ import annotations

from types import SimpleNamespace
from unittest.mock import create_autospec

import pytest
from databricks.sdk.errors import ResourceConflict
from databricks.sdk.service.catalog import MonitorRefreshInfo, MonitorRefreshListResponse, QualityMonitorsAPI
from databricks.sdk.service.catalog import MonitorRefreshInfoState as State
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
from lakemon_jobs.refresh import refresh_databricks
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


def test_refresh_joins_a_running_refresh_instead_of_starting_a_second(ctx):
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


def test_refresh_starts_one_when_none_is_running(ctx):
    api = create_autospec(QualityMonitorsAPI, instance=True, spec_set=True)
    api.list_refreshes.return_value = MonitorRefreshListResponse(refreshes=[])
    api.run_refresh.return_value = MonitorRefreshInfo(refresh_id=9, state=State.SUCCESS, start_time_ms=5)
    assert refresh_databricks(ctx, 60, 0, quiet, client=SimpleNamespace(quality_monitors=api)) == "SUCCESS"
    api.run_refresh.assert_called_once_with(table_name=ctx.tables.inference_log)


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
