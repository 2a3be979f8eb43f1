"""``SimulatorControl``: script a simulator running in another process through ``/_simulator/``."""

from __future__ import annotations

import time
from typing import Any

import httpx


class SimulatorControl:
    """Thin client for the control endpoints. Methods mirror ``RunwaySimulator``'s; results are JSON dicts."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=f"{self.base_url}/_simulator", timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SimulatorControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, json: Any = None) -> Any:
        response = self._http.request(method, path, json=json)
        response.raise_for_status()
        return response.json()

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def wait_until_ready(self, timeout: float = 10.0) -> None:
        """Poll ``/health`` until the simulator answers (for one just started in another process)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.health()
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def reset(self) -> None:
        self._call("POST", "/reset")

    def inject(
        self,
        kind: str,
        *,
        times: int | None = 1,
        method: str | None = None,
        path: str | None = None,
        model: str | None = None,
        prompt_contains: str | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        spec = {
            "kind": kind,
            "times": times,
            "method": method,
            "path": path,
            "model": model,
            "prompt_contains": prompt_contains,
            "params": params,
        }
        return self._call("POST", "/faults", spec)

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/faults")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "/requests")

    def created_tasks(self) -> list[dict[str, Any]]:
        return self._call("GET", "/tasks")

    def set_credit_balance(self, credits: int) -> None:
        self._call("POST", "/settings", {"creditBalance": credits})

    def set_concurrency_limit(self, model: str, limit: int | None) -> None:
        self._call("POST", "/settings", {"concurrency": {model: limit}})
