"""deploy (local file + Databricks SDK calls) and refresh (Databricks polling) behaviour."""

from __future__ import annotations

import json
from types import SimpleNamespace

import mlflow
import pandas as pd
import pytest
from databricks.sdk.errors import OperationFailed
from databricks.sdk.service.catalog import MonitorRefreshInfoState as State
from databricks.sdk.service.serving import (
    EndpointStateConfigUpdate,
    EndpointStateReady,
    ServingModelWorkloadType,
)
from jobs_helpers import quiet, write_env

from lakemon_jobs.context import JobContext
from lakemon_jobs.deploy import DeployError, deploy_champion, deploy_databricks
from lakemon_jobs.refresh import RefreshError, refresh_databricks
from lakemon_jobs.register import CHAMPION, register_model
from lakemon_jobs.tracking import configure_mlflow, use_experiment


class WrongOutput(mlflow.pyfunc.PythonModel):
    """Loads and predicts, but without the served columns: deploy must refuse it."""

    def predict(self, context, model_input, params=None):
        return pd.DataFrame({"score": [0.5] * len(model_input)})


@pytest.fixture(scope="module")
def deploy_ctx(home, tmp_path_factory) -> JobContext:
    path = write_env(tmp_path_factory.mktemp("envs"), name="alive_classifier_deploy")
    return JobContext.load(path, home=home)


def test_deploy_writes_the_champion_then_a_broken_champion_leaves_it_serving(deploy_ctx, trained):
    ctx = deploy_ctx
    with pytest.raises(DeployError, match="no 'champion'"):
        deploy_champion(ctx, progress=quiet)
    path = ctx.runtime.deployment_path("alive-classifier-deploy-dev")
    assert not path.exists()

    good = register_model(ctx, trained.run_id, progress=quiet)
    deployment = deploy_champion(ctx, progress=quiet)
    recorded = json.loads(path.read_text())
    name = ctx.tables.registered_model
    assert recorded["endpoint"] == "alive-classifier-deploy-dev"
    assert recorded["model_name"] == name and recorded["version"] == good.version
    assert recorded["model_uri"] == f"models:/{name}/{good.version}" == deployment.model_uri
    assert "deployed_at" in recorded
    mlflow.pyfunc.load_model(recorded["model_uri"])  # the recorded URI loads

    # A champion that loads but answers without prediction/prediction_proba is refused.
    client = configure_mlflow(ctx)
    use_experiment(ctx)
    example = pd.DataFrame({f: [None] for f in ctx.model.feature_names()})
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model", python_model=WrongOutput(), input_example=example, pip_requirements=["mlflow"]
        )
    broken = mlflow.register_model(info.model_uri, name)
    client.set_registered_model_alias(name, CHAMPION, broken.version)
    before = path.read_bytes()
    with pytest.raises(DeployError, match="prediction"):
        deploy_champion(ctx, progress=quiet)
    assert path.read_bytes() == before
    # no temporary file left behind: the deployment and the local endpoint's AI gateway only
    gateway = path.with_suffix(".ai_gateway.json")
    assert sorted(path.parent.iterdir()) == sorted([path, gateway])


class FakeWaiter:
    def __init__(self, outcome: str) -> None:
        self.outcome = outcome

    def result(self, timeout, callback):
        callback(SimpleNamespace(state=SimpleNamespace(config_update=EndpointStateConfigUpdate.IN_PROGRESS)))
        if self.outcome == "failed":
            raise OperationFailed("failed to reach NOT_UPDATING, got UPDATE_FAILED")
        if self.outcome == "timeout":
            raise TimeoutError(f"timed out after {timeout}")
        return SimpleNamespace(state=SimpleNamespace(ready=EndpointStateReady.READY))


class FakeEndpoints:
    def __init__(self, serving: tuple[str, str], outcome: str = "ok") -> None:
        self.serving, self.outcome, self.updates, self.gateways = serving, outcome, [], []

    def get(self, name):
        # dev's declared compute (envs/dev.yml: Small, CPU, scale to zero on)
        entity = SimpleNamespace(entity_name=self.serving[0], entity_version=self.serving[1], workload_size="Small",
                                 workload_type=ServingModelWorkloadType.CPU, scale_to_zero_enabled=True)
        return SimpleNamespace(config=SimpleNamespace(served_entities=[entity]),
                               state=SimpleNamespace(ready=EndpointStateReady.READY), ai_gateway=None)

    def put_ai_gateway(self, name, **fields):
        self.gateways.append((name, fields))

    def update_config(self, name, served_entities, traffic_config):
        self.updates.append((name, served_entities, traffic_config))
        return FakeWaiter(self.outcome)


def test_databricks_deploy_updates_the_endpoint_to_the_champion(ctx):
    name = ctx.tables.registered_model
    endpoints = FakeEndpoints((name, "1"))
    messages: list[str] = []
    deploy_databricks(ctx, "2", 60, messages.append, client=SimpleNamespace(serving_endpoints=endpoints))
    ((endpoint, entities, traffic),) = endpoints.updates
    assert endpoint == "alive-classifier-dev"
    assert [(e.entity_name, e.entity_version, e.name) for e in entities] == [(name, "2", "alive_classifier-2")]
    assert entities[0].workload_size == "Small" and entities[0].scale_to_zero_enabled is True
    assert [(r.served_entity_name, r.traffic_percentage) for r in traffic.routes] == [("alive_classifier-2", 100)]
    assert any("IN_PROGRESS" in m for m in messages)
    # then the AI gateway the endpoint was created without (tests/jobs/test_jobs_deploy_gateway.py)
    assert [name for name, _ in endpoints.gateways] == ["alive-classifier-dev"]


def test_databricks_deploy_skips_when_already_serving(ctx):
    endpoints = FakeEndpoints((ctx.tables.registered_model, "2"))
    deploy_databricks(ctx, "2", 60, quiet, client=SimpleNamespace(serving_endpoints=endpoints))
    assert endpoints.updates == []
    # serving already, but a gateway missing (e.g. a failed put last time) is still put
    assert len(endpoints.gateways) == 1


@pytest.mark.parametrize(("outcome", "message"), [("failed", "update failed"), ("timeout", "did not finish")])
def test_databricks_deploy_failure_says_the_previous_version_keeps_serving(ctx, outcome, message):
    endpoints = FakeEndpoints((ctx.tables.registered_model, "1"), outcome)
    with pytest.raises(DeployError, match=message) as err:
        deploy_databricks(ctx, "2", 60, quiet, client=SimpleNamespace(serving_endpoints=endpoints))
    assert "previous version keeps serving" in str(err.value)


class FakeMonitors:
    def __init__(self, states: list[State]) -> None:
        self.states, self.calls = list(states), []

    def list_refreshes(self, table_name):
        return SimpleNamespace(refreshes=[])

    def run_refresh(self, table_name):
        self.calls.append(("run", table_name))
        return SimpleNamespace(refresh_id=7, state=State.PENDING, message=None)

    def get_refresh(self, table_name, refresh_id):
        self.calls.append(("get", table_name, refresh_id))
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return SimpleNamespace(refresh_id=refresh_id, state=state, message="boom" if state is State.FAILED else None)


def test_databricks_refresh_polls_until_success(legacy_ctx):
    monitors = FakeMonitors([State.RUNNING, State.RUNNING, State.SUCCESS])
    messages: list[str] = []
    state = refresh_databricks(legacy_ctx, 60, 0, messages.append, client=SimpleNamespace(quality_monitors=monitors))
    assert state == "SUCCESS"
    table = "mlops_dev.marvel_characters.alive_classifier_inference_log"
    assert monitors.calls[0] == ("run", table)
    assert monitors.calls[1:] == [("get", table, 7)] * 3
    assert len(messages) == 4  # started + one line per poll


def test_databricks_refresh_failure_and_timeout_raise(legacy_ctx):
    failing = FakeMonitors([State.RUNNING, State.FAILED])
    with pytest.raises(RefreshError, match="FAILED: boom"):
        refresh_databricks(legacy_ctx, 60, 0, quiet, client=SimpleNamespace(quality_monitors=failing))
    stuck = FakeMonitors([State.RUNNING])
    with pytest.raises(RefreshError, match="still RUNNING"):
        refresh_databricks(legacy_ctx, 0.05, 0.01, quiet, client=SimpleNamespace(quality_monitors=stuck))


def test_databricks_deploy_to_a_missing_endpoint_says_to_deploy_the_stack(ctx):
    from databricks.sdk.errors import NotFound

    class Missing(FakeEndpoints):
        def get(self, name):
            raise NotFound(f"endpoint {name} not found")

    endpoints = Missing(("x", "1"))
    with pytest.raises(DeployError, match="deploy the environment's stack first"):
        deploy_databricks(ctx, "2", 60, quiet, client=SimpleNamespace(serving_endpoints=endpoints))
    assert endpoints.updates == []
