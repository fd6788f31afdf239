"""Reading the metrics tables through a SQL warehouse (statement execution API, Arrow via
external links), with a fake workspace client and a real loopback server for the links."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pyarrow as pa
import pytest
from databricks.sdk.service.sql import StatementState
from drift_fixtures import dev_env

from lakemon.tables import ModelTables
from lakemon_jobs.drift import sources


def ipc(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


@pytest.fixture
def link_server():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = self.server.files[self.path]
            self.server.headers_seen.append(self.headers.get("x-ms-test"))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.files, srv.headers_seen = {}, []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def link(url, next_index=None):
    return SimpleNamespace(external_link=url, http_headers={"x-ms-test": "1"}, next_chunk_index=next_index)


class FakeStatements:
    def __init__(self, chunks, fail=None):
        self.chunks, self.fail, self.sql, self.polls = chunks, fail, [], 0

    def _status(self, state):
        return SimpleNamespace(state=state, error=SimpleNamespace(message=self.fail) if self.fail else None)

    def execute_statement(self, statement, warehouse_id, **kwargs):
        self.sql.append(statement)
        assert warehouse_id == "wh1" and kwargs["format"].value == "ARROW_STREAM"
        return SimpleNamespace(statement_id="s1", status=self._status(StatementState.PENDING), result=None)

    def get_statement(self, statement_id):
        self.polls += 1
        state = StatementState.FAILED if self.fail else StatementState.SUCCEEDED
        return SimpleNamespace(statement_id=statement_id, status=self._status(state), result=self.chunks[0])

    def get_statement_result_chunk_n(self, statement_id, index):
        return self.chunks[index]


def test_arrow_chunks_are_fetched_and_concatenated(link_server, monkeypatch):
    monkeypatch.setattr(sources, "POLL_S", 0.01)
    base = f"http://127.0.0.1:{link_server.server_port}"
    link_server.files = {"/a": ipc(pa.table({"x": [1, 2]})), "/b": ipc(pa.table({"x": [3]}))}
    chunks = [SimpleNamespace(external_links=[link(base + "/a", 1)], next_chunk_index=None),
              SimpleNamespace(external_links=[link(base + "/b")], next_chunk_index=None)]
    fake = FakeStatements(chunks)
    table = sources._run_statement(SimpleNamespace(statement_execution=fake), "wh1", "SELECT 1")
    assert table.column("x").to_pylist() == [1, 2, 3]
    assert fake.polls == 1 and link_server.headers_seen == ["1", "1"]


def test_missing_table_on_the_warehouse_is_tables_missing(monkeypatch):
    monkeypatch.setattr(sources, "POLL_S", 0.01)
    fake = FakeStatements([None], fail="[TABLE_OR_VIEW_NOT_FOUND] The table cannot be found")
    with pytest.raises(sources.TablesMissing, match="has not written"):
        sources._run_statement(SimpleNamespace(statement_execution=fake), "wh1", "SELECT 1")


def test_queries_select_only_the_judged_rows():
    env = dev_env()
    tables = ModelTables(env, env.model())
    drift_sql, profile_sql = sources.databricks_queries(tables, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert drift_sql.startswith(f"SELECT * FROM {tables.drift_metrics} WHERE drift_type = 'BASELINE'")
    assert "`model_version` = '*'" in drift_sql and "`window`.`end` > TIMESTAMP '2026-01-02 03:04:05'" in drift_sql
    assert "log_type = 'BASELINE' OR `window`.`end`" in profile_sql and tables.profile_metrics in profile_sql
    with pytest.raises(ValueError, match="warehouse"):
        sources.read_tables(tables, None, None)
