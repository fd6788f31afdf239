"""Config is never coerced across types, identifiers match whole strings, YAML merge
keys work, odd files get one clear line, and no Terraform template reaches cdk.tf.json."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from lakemon.config import ConfigError, load_environment

REPO = Path(__file__).resolve().parents[2]
PROD = yaml.safe_load((REPO / "envs" / "prod.yml").read_text())


def _write(tmp_path: Path, data, name: str = "prod.yml") -> Path:
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def _error(tmp_path, data) -> str:
    with pytest.raises(ConfigError) as error:
        load_environment(_write(tmp_path, data))
    return str(error.value)


def _edited(path: tuple, value) -> dict:
    data = copy.deepcopy(PROD)
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
    node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("inference", "retention_days"), True, "inference.retention_days: Input should be a valid integer (got true)"),
        (("inference", "retention_days"), "30", "inference.retention_days: Input should be a valid integer (got '30')"),
        (("inference", "retention_days"), 30.5, "inference.retention_days: Input should be a valid integer"),
        (("monitoring", "drift", "threshold"), True, "monitoring.drift.threshold: Input should be a valid number (got true)"),
        (("monitoring", "drift", "threshold"), "0.1", "monitoring.drift.threshold: Input should be a valid number"),
        (("serving", "rate_limits"), [{"calls": True}], "serving.rate_limits[0].calls: Input should be a valid integer (got true)"),
        (("serving", "scale_to_zero"), 1, "serving.scale_to_zero: Input should be a valid boolean (got 1)"),
        (("serving", "scale_to_zero"), "yes", "serving.scale_to_zero: Input should be a valid boolean"),
        (("protect_data",), "false", "protect_data: Input should be a valid boolean"),
        (("models", 0, "training", "seed"), 4.0, "models[0].training.seed: Input should be a valid integer"),
        (("serving", "tags"), {"team": 5}, "serving.tags.team: Input should be a valid string (got 5)"),
        (("catalog",), "mlops_prod\n", "catalog: 'mlops_prod\\n' is not a valid Unity Catalog identifier"),
        (("models", 0, "endpoint_name"), "alive\n", "is not a valid serving endpoint name"),
        (("monitoring", "drift", "lookback_days"), 1000000, "monitoring.drift.lookback_days: Input should be less than or equal to 3650"),
    ],
)
def test_no_coercion_across_types(tmp_path, path, expected, value):
    text = _error(tmp_path, _edited(path, value))
    assert expected in text, text
    assert len(text.splitlines()) == 1, text


def test_values_of_the_right_type_still_load(tmp_path):
    # an integer where a number is expected is the same number, not a coercion
    env = load_environment(_write(tmp_path, _edited(("monitoring", "drift", "threshold"), 1)))
    assert env.monitoring.drift.threshold == 1.0
    assert env.serving.workload_size.value == "Medium" and env.models[0].features[0].name == "id"


def test_local_url_port_out_of_range(tmp_path):
    data = _edited(("alerts", "destinations", 1, "local_url"), "http://127.0.0.1:99999/alerts")
    assert "port 99999 is outside 1-65535" in _error(tmp_path, data)


def test_yaml_merge_keys_work_and_local_keys_override(tmp_path):
    text = (REPO / "envs" / "prod.yml").read_text()
    text = text.replace(
        "serving:\n  workload_size: Medium",
        "x-defaults: &defaults\n  workload_size: Small\n  scale_to_zero: true\nserving:\n  <<: *defaults\n  workload_size: Medium",
    )
    # x-defaults is an unknown key: the merge itself parses, then validation names the key
    assert "x-defaults: unknown key" in _error(tmp_path, text)
    text = text.replace("x-defaults: &defaults\n  workload_size: Small\n  scale_to_zero: true\n", "").replace(
        "serving:\n  <<: *defaults\n", "monitoring_defaults: &md {timezone: Europe/Amsterdam}\nserving:\n"
    )
    anchored = (REPO / "envs" / "prod.yml").read_text().replace(
        '  schedule: {quartz_cron: "0 0 2 * * ?", timezone: UTC}',
        '  schedule:\n    <<: &sched {quartz_cron: "0 0 3 * * ?", timezone: UTC}\n    quartz_cron: "0 0 2 * * ?"',
    )
    env = load_environment(_write(tmp_path, anchored))
    assert env.monitoring.schedule.quartz_cron == "0 0 2 * * ?"  # the local key wins over the merge
    assert env.monitoring.schedule.timezone == "UTC"


def test_duplicate_keys_are_still_refused_next_to_a_merge(tmp_path):
    text = (REPO / "envs" / "prod.yml").read_text().replace(
        '  schedule: {quartz_cron: "0 0 2 * * ?", timezone: UTC}',
        '  schedule:\n    <<: {timezone: UTC}\n    quartz_cron: "0 0 2 * * ?"\n    quartz_cron: "0 0 3 * * ?"',
    )
    assert "duplicate key 'quartz_cron'" in _error(tmp_path, text)


def test_non_utf8_file(tmp_path):
    data = (REPO / "envs" / "prod.yml").read_bytes().replace(b"ml-platform-admins", b"ml-platform-\xe9quipe")
    text = _error(tmp_path, data)
    assert "not UTF-8 text (byte 0xe9)" in text and "line 34" in text, text


@pytest.mark.parametrize("depth", [40, 5000])
def test_deeply_nested_file(tmp_path, depth):
    text = (REPO / "envs" / "prod.yml").read_text()
    text = _error(tmp_path, text.replace("tags: {team: ml-platform, env: prod}", "tags: " + "[" * depth + "]" * depth))
    assert "nested too deeply" in text and len(text.splitlines()) == 1, text


def test_yaml_types_that_config_never_has(tmp_path):
    text = (REPO / "envs" / "prod.yml").read_text().replace("tags: {team: ml-platform, env: prod}", "tags: {team: 2026-01-01, 1: prod}")
    problems = _error(tmp_path, text)
    assert "serving.tags.team: YAML read 2026-01-01 as a date; quote it if it is text" in problems
    assert "serving.tags.1: key 1 is a int, not text; quote it" in problems


# --- Terraform template injection ------------------------------------------------------------------

INJECTED = ['x${var.drift_webhook_url_prod}', '${file("/etc/passwd")}', "a%{ if true }b%{ endif }"]


def _maximal() -> dict:
    """prod.yml with every optional free-text key set, so the walk below reaches all of them."""
    data = copy.deepcopy(PROD)
    data["workspace"]["warehouse_id"] = "abc123"
    data["state"]["key_prefix"] = "lakemon"
    data["alerts"]["destinations"][1].update(username_variable="hook_user", password_variable="hook_password")
    data["jobs"] = {"package_index": "https://pkgs.example.com/simple/"}
    data["models"][0]["endpoint_name"] = "alive-prod"
    data["models"][0]["prediction_proba"] = "alive_proba"
    data["models"][0]["training"]["params"] = {"loss": "log_loss"}
    data["monitoring"]["drift"]["features"] = {"eye": {"statistic": "js_distance"}}
    return data


def _string_leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, ("key", key))
            yield from _string_leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _string_leaves(value, (*path, i))
    elif isinstance(node, str):
        yield path


def _inject(data, path, text):
    data = copy.deepcopy(data)
    node = data
    for part in path[:-1]:
        node = node[part]
    last = path[-1]
    if isinstance(last, tuple):  # a key
        node[text + last[1]] = node.pop(last[1])
    else:
        node[last] = node[last] + text if isinstance(node[last], str) else text
    return data


def test_the_maximal_file_is_valid(tmp_path):
    env = load_environment(_write(tmp_path, _maximal()))
    assert env.workspace.warehouse_id == "abc123"


@pytest.mark.parametrize("payload", INJECTED)
def test_no_template_sequence_is_accepted_in_any_text_value_or_key(tmp_path, payload):
    data = _maximal()
    leaves = list(_string_leaves(data))
    assert len(leaves) > 80  # every key and text value of the file
    accepted = []
    for path in leaves:
        try:
            load_environment(_write(tmp_path, _inject(data, path, payload)))
        except ConfigError:
            continue
        accepted.append(path)
    assert accepted == [], accepted


@pytest.mark.parametrize(
    "path",
    [
        ("serving", "tags", "env"),
        ("workspace", "warehouse_id"),
        ("state", "resource_group_name"),
        ("state", "key_prefix"),
        ("alerts", "destinations", 0, "name"),
        ("permissions", "query", 0),
        ("models", 0, "slicing_exprs", 0),
    ],
)
def test_free_text_fields_say_why(tmp_path, path):
    text = _error(tmp_path, _inject(_maximal(), path, "${var.drift_webhook_url_prod}"))
    assert "contains '${', which Terraform would evaluate as a template" in text, text
    assert len(text.splitlines()) == 1
