"""The real scoring server: `mlflow models serve` on a loopback port, as a managed subprocess.

Nothing is faked in process: the champion is served by MLflow's own scoring server (uvicorn),
loaded from the local registry by the `model_uri` the deploy job recorded. The server execs
`uvicorn` by name, so the interpreter's bin/ folder goes first on PATH.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import requests

from .processes import ManagedProcess, free_port, port_is_free, wait_until


class ScoringServer:
    """Context manager: serve `model_uri` with MLflow on 127.0.0.1, wait for /ping, stop on exit."""

    def __init__(
        self,
        model_uri: str,
        *,
        tracking_uri: str,
        log_path: Path,
        port: int | None = None,
        start_timeout: float = 90.0,
        progress=None,
    ) -> None:
        self.model_uri = model_uri
        self.tracking_uri = tracking_uri
        self.port = port or free_port()
        self.start_timeout = start_timeout
        self.progress = progress
        bin_dir = str(Path(sys.executable).parent)
        env = dict(os.environ)
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        env["MLFLOW_TRACKING_URI"] = tracking_uri
        env["MLFLOW_REGISTRY_URI"] = tracking_uri
        env.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # its INFO lines are noise in the log
        self.process = ManagedProcess(
            [
                str(Path(bin_dir) / "mlflow"),
                "models",
                "serve",
                "-m",
                model_uri,
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-w",
                "1",
            ],
            name="mlflow scoring server",
            log_path=log_path,
            env=env,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ScoringServer:
        self.process.start()
        try:
            self.wait_ready()
        except BaseException:
            self.process.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.stop()
        # Every process of the group is gone; the kernel may still be closing the listener.
        wait_until(lambda: port_is_free(self.port), timeout=10, what=f"port {self.port} to be released")

    def _ping(self) -> bool:
        try:
            return requests.get(f"{self.url}/ping", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def died(self) -> str | None:
        """None while the server process runs; else its exit code and the end of its log."""
        code = self.process.exit_code()
        if code is None:
            return None
        return (
            f"the scoring server exited with code {code}; its log ({self.process.log_path}) ends with:\n"
            + (self.process.log_tail())
        )

    def wait_ready(self) -> float:
        return wait_until(
            self._ping,
            timeout=self.start_timeout,
            what=f"the scoring server on port {self.port} to answer /ping",
            interval=0.25,
            progress_every=5.0,
            abort=self.died,
            progress=(lambda s: self.progress(f"waiting for the scoring server ({s:.0f}s)"))
            if self.progress
            else None,
        )
