"""Archive benchmark: the production archiver (``OutputArchiver.stream_to_s3``) against boto3's
``upload_file`` of the same bytes to the same S3 endpoint, in the same run.

Set-up, all on loopback: an S3 endpoint (moto's ``ThreadedMotoServer``, in this driver process), and a
download origin in a process of its own serving ``GET /<n>.mp4`` as ``n`` bytes from a repeating buffer (it
stands for Runway's CDN). Each measurement runs in a fresh child process, so sizes and variants do not
contaminate each other:

- ``archive``: the child downloads the origin's URL through the egress-checked client and streams it into
  S3 with the archiver the archive Lambda uses (same code, same defaults).
- ``upload_file``: the child uploads a local file holding the same bytes (read from the page cache) with
  ``s3.upload_file`` and boto3's default transfer settings.

Each child reports wall time and CPU time of the transfer alone, its idle RSS just before (imports done,
client warmed) and its peak RSS during the transfer (``VmHWM`` after resetting it through
``/proc/self/clear_refs``). Throughput runs alternate the two variants and the ratio is the median of the
per-round ratios, so load from elsewhere on the machine hits both sides alike.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "layers" / "shared")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

BUCKET = "bench-videos"
MIB = 1024 * 1024
#: Lambda's longest run, and the margin kept for the task fetch, the manifest and a slow start.
LAMBDA_MAX_SECONDS = 900
MARGIN_SECONDS = 120
#: Assumed rate of the real path (CloudFront -> Lambda -> S3 in-region, TLS both ways): a conservative
#: figure for one function's single download feeding 4 part uploads. The loopback rate measured here, when
#: lower, is used instead.
ASSUMED_REAL_MIB_S = 40.0
#: Lambda gives one vCPU at 1,769 MB, proportionally less below.
MB_PER_VCPU = 1769
_PATTERN = bytes(range(256)) * 4096  # 1 MiB


# --- the download origin ----------------------------------------------------------------------------------


class _Origin(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        size = int(self.path.strip("/").split(".")[0])
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        view = memoryview(_PATTERN)
        left = size
        while left:
            n = min(left, len(view))
            self.wfile.write(view[:n])
            left -= n

    def log_message(self, *args: Any) -> None:
        pass


def serve_origin() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Origin)
    sys.stdout.write(f"{server.server_address[1]}\n")
    sys.stdout.flush()
    server.serve_forever()


# --- one measurement, in a fresh process ------------------------------------------------------------------


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def _plan_override() -> Any:
    """``BENCH_ARCHIVE_PLAN=<part MiB>,<concurrency>`` tries another part size and concurrency."""
    from videogen.storage.stream_upload import PartPlan

    value = os.environ.get("BENCH_ARCHIVE_PLAN")
    if not value:
        return None
    part, concurrency = (int(v) for v in value.split(","))
    return PartPlan(threshold=part * MIB, part_bytes=part * MIB, concurrency=concurrency)


def child(variant: str, size: int, source: str, endpoint: str) -> None:
    import boto3

    from videogen.core.settings import Settings
    from videogen.pipeline.output_stream import DEFAULT_PLAN, OutputArchiver, make_http_client

    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    s3.list_buckets()  # warm the client (endpoint, credentials) before the idle reading
    if variant == "archive":
        http = make_http_client(Settings(allow_loopback_http=True))  # the origin serves http on loopback
        archiver = OutputArchiver(s3, http, bucket=BUCKET, plan=_plan_override() or DEFAULT_PLAN)
    time.sleep(0.2)
    idle = _status_kib("VmRSS")
    _reset_peak()
    cpu0 = os.times()
    start = time.perf_counter()
    if variant == "archive":
        archived = archiver.stream_to_s3(source, f"bench/{variant}")
        assert archived.bytes == size, archived
    else:
        s3.upload_file(source, BUCKET, f"bench/{variant}.mp4", ExtraArgs={"ContentType": "video/mp4"})
    seconds = time.perf_counter() - start
    cpu1 = os.times()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    peak = _status_kib("VmHWM")
    result = {"bytes": size, "seconds": seconds, "cpu_s": cpu, "idle_kib": idle, "peak_kib": peak}
    sys.stdout.write(json.dumps(result) + "\n")


# --- the driver ---------------------------------------------------------------------------------------------


class _Bench:
    def __init__(self) -> None:
        import logging

        import boto3
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.s3 = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        self.s3.create_bucket(Bucket=BUCKET)
        self._origin = subprocess.Popen(
            [sys.executable, "-m", "bench.archive", "--origin"], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert self._origin.stdout is not None
        self.origin_port = int(self._origin.stdout.readline())
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-archive-")
        self._files: dict[int, str] = {}

    def file_of(self, size: int) -> str:
        if size not in self._files:
            path = Path(self._tmp.name) / f"{size}.mp4"
            with path.open("wb") as out:
                left = size
                while left:
                    n = min(left, len(_PATTERN))
                    out.write(_PATTERN[:n])
                    left -= n
            self._files[size] = str(path)
        return self._files[size]

    def run(self, variant: str, size: int) -> dict[str, Any]:
        source = (
            f"http://127.0.0.1:{self.origin_port}/{size}.mp4" if variant == "archive" else self.file_of(size)
        )
        out = subprocess.run(
            [sys.executable, "-m", "bench.archive", "--child", variant, str(size), source, self.endpoint],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        for key in (f"bench/{variant}.mp4",):
            self.s3.delete_object(Bucket=BUCKET, Key=key)  # let moto free the bytes
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))

    def close(self) -> None:
        self._origin.terminate()
        self._origin.wait(timeout=10)
        self._server.stop()
        self._tmp.cleanup()


def _rate(run: dict[str, Any]) -> float:
    return float(run["bytes"]) / run["seconds"] / MIB


def _cpu_ms_per_mib(run: dict[str, Any]) -> float:
    return 1000.0 * run["cpu_s"] / (run["bytes"] / MIB)


def measure(quick: bool = False) -> dict[str, Any]:
    """The ``archive`` section of bench/results.json (module docstring). ``quick`` shrinks every size."""
    small, large = (16 * MIB, 160 * MIB) if quick else (100 * MIB, 1024 * MIB)
    rounds, round_size = (2, 32 * MIB) if quick else (3, 256 * MIB)
    bench = _Bench()
    try:
        memory = {size: bench.run("archive", size) for size in (small, large)}
        pairs = []
        for _ in range(rounds):
            base = bench.run("upload_file", round_size)
            ours = bench.run("archive", round_size)
            pairs.append((base, ours))
    finally:
        bench.close()
    ratios = [_rate(ours) / _rate(base) for base, ours in pairs]
    ours_rate = statistics.median(_rate(ours) for _, ours in pairs)
    base_rate = statistics.median(_rate(base) for base, _ in pairs)
    idle = statistics.median(run["idle_kib"] for run in memory.values()) / 1024
    peak_small = memory[small]["peak_kib"] / 1024
    peak_large = memory[large]["peak_kib"] / 1024
    rate = min(ASSUMED_REAL_MIB_S, ours_rate)
    largest_gib = rate * (LAMBDA_MAX_SECONDS - MARGIN_SECONDS) / 1024
    cpu_ms = statistics.median(_cpu_ms_per_mib(o) for _, o in pairs)
    vcpu_at_assumed_rate = cpu_ms * ASSUMED_REAL_MIB_S / 1000
    return {
        "sizes_mib": [small // MIB, large // MIB],
        "idle_rss_mib": round(idle, 1),
        "peak_rss_mib_100mib": round(peak_small, 1),
        "peak_rss_mib_1gib": round(peak_large, 1),
        "peak_growth_mib_1gib": round(peak_large - memory[large]["idle_kib"] / 1024, 1),
        "peak_gap_mib_1gib_vs_100mib": round(peak_large - peak_small, 1),
        "throughput_ratio_vs_upload_file": round(statistics.median(ratios), 3),
        "throughput_ratios": [round(r, 3) for r in ratios],
        "throughput_round_mib": round_size // MIB,
        "archive_mib_s": round(ours_rate, 1),
        "upload_file_mib_s": round(base_rate, 1),
        "archive_mib_s_1gib": round(_rate(memory[large]), 1),
        "cpu_ms_per_mib_archive": round(cpu_ms, 2),
        "cpu_ms_per_mib_upload_file": round(statistics.median(_cpu_ms_per_mib(b) for b, _ in pairs), 2),
        "assumed_real_mib_s": ASSUMED_REAL_MIB_S,
        "rate_for_15_min_mib_s": round(rate, 1),
        "largest_output_in_15_min_gib": round(largest_gib, 1),
        "vcpu_at_assumed_rate": round(vcpu_at_assumed_rate, 3),
        "lambda_mb_for_that_vcpu": round(vcpu_at_assumed_rate * MB_PER_VCPU),
    }


def markdown(section: dict[str, Any]) -> str:
    small, large = section["sizes_mib"]
    rows = [
        "| archive (one output, loopback origin -> S3 on moto) | value | target |",
        "|---|---|---|",
        f"| throughput vs `upload_file` (median of {len(section['throughput_ratios'])} interleaved rounds, "
        f"{section['throughput_round_mib']} MiB) | {section['throughput_ratio_vs_upload_file']:.2f}x "
        f"({section['archive_mib_s']:.0f} vs {section['upload_file_mib_s']:.0f} MiB/s) | >= 0.9x |",
        f"| CPU per MiB, archive vs `upload_file` | {section['cpu_ms_per_mib_archive']:.2f} vs "
        f"{section['cpu_ms_per_mib_upload_file']:.2f} ms | |",
        f"| peak RSS, {small} MiB / {large} MiB output (idle {section['idle_rss_mib']:.0f} MiB) | "
        f"{section['peak_rss_mib_100mib']:.0f} / {section['peak_rss_mib_1gib']:.0f} MiB | |",
        f"| peak RSS, {large} MiB minus {small} MiB | {section['peak_gap_mib_1gib_vs_100mib']:.1f} MiB "
        "| <= 32 MiB |",
        f"| peak RSS growth over idle, {large} MiB | {section['peak_growth_mib_1gib']:.1f} MiB | <= 96 MiB |",
        f"| largest output in 15 min at {section['rate_for_15_min_mib_s']:.0f} MiB/s (the lower of the "
        f"measured rate and an assumed {section['assumed_real_mib_s']:.0f} MiB/s over the network; "
        f"{MARGIN_SECONDS} s kept spare) | {section['largest_output_in_15_min_gib']:.0f} GiB | |",
        f"| CPU needed at {section['assumed_real_mib_s']:.0f} MiB/s | {section['vcpu_at_assumed_rate']:.2f} vCPU "
        f"(~{section['lambda_mb_for_that_vcpu']} MB of Lambda memory) | |",
    ]
    return "\n".join(rows) + "\n"


def main() -> None:
    quick = "--quick" in sys.argv
    started = time.perf_counter()
    section = measure(quick=quick)
    sys.stdout.write(markdown(section))
    sys.stdout.write(json.dumps(section, indent=2) + "\n")
    sys.stdout.write(f"({time.perf_counter() - started:.0f} s)\n")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--origin":
        serve_origin()
    elif len(sys.argv) == 6 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        main()
