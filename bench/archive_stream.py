"""Archive benchmark: the streaming archiver against a buffered download, on one large simulator output.

The driver starts the Runway simulator and an S3 endpoint (moto's server) on loopback, then runs each variant
in a child process of its own, so each peak-memory figure (the growth of the child's VmHWM during the
transfer) belongs to that variant alone. Ratios are against the buffered baseline measured in the same run.
``BENCH_ARCHIVE_MB`` sets the output size (default 256).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT)]

BUCKET = "bench-videos"


def _vm_hwm_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def child(variant: str, url: str, endpoint: str) -> None:
    import boto3
    import httpx

    from videogen.core.settings import Settings
    from videogen.pipeline.output_stream import OutputArchiver, make_http_client

    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    s3.list_buckets()  # warm the client before the baseline reading
    before = _vm_hwm_kib()
    start = time.perf_counter()
    if variant == "streaming":
        http = make_http_client(Settings(allow_loopback_http=True))  # the local simulator's http URLs
        archived = OutputArchiver(s3, http, bucket=BUCKET).stream_to_s3(url, "outputs/bench/0")
        size = archived.bytes
    else:
        body = httpx.get(url, timeout=120).content
        s3.put_object(Bucket=BUCKET, Key="outputs/bench/0.mp4", Body=body, ContentType="video/mp4")
        size = len(body)
    seconds = time.perf_counter() - start
    sys.stdout.write(
        json.dumps({"bytes": size, "seconds": seconds, "peak_kib": _vm_hwm_kib() - before}) + "\n"
    )


def main() -> None:
    import boto3
    import runwayml
    from moto.server import ThreadedMotoServer

    from local.simulator import RunwaySimulator, SimulatorConfig

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    size_mb = int(os.environ.get("BENCH_ARCHIVE_MB", "256"))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    ).create_bucket(Bucket=BUCKET)
    with RunwaySimulator(SimulatorConfig(time_scale=0.001, seed=1)) as sim:
        sim.inject("output", size_bytes=size_mb * 1024 * 1024)
        client = runwayml.RunwayML(api_key="bench", base_url=sim.base_url)
        task = client.text_to_video.create(model="gen4.5", prompt_text="bench", ratio="1280:720", duration=5)
        deadline = time.monotonic() + 60
        while (t := client.tasks.retrieve(task.id)).status != "SUCCEEDED":
            if time.monotonic() > deadline:
                raise SystemExit(f"simulated task did not finish: {t.status}")
            time.sleep(0.05)
        url = t.output[0]  # type: ignore[union-attr]
        results = {}
        for variant in ("buffered", "streaming"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", variant, url, endpoint],
                check=True,
                capture_output=True,
                text=True,
            )
            results[variant] = json.loads(out.stdout.strip().splitlines()[-1])
    server.stop()
    base = results["buffered"]
    sys.stdout.write(
        f"archive: one {size_mb} MiB output, simulator -> archiver -> S3 (moto server), loopback\n"
    )
    sys.stdout.write(f"{'variant':24} {'MiB/s':>8} {'x base':>7} {'peak MiB':>9} {'x base':>7}\n")
    for name, r in (("buffered (baseline)", base), ("streaming (videogen)", results["streaming"])):
        rate = r["bytes"] / r["seconds"] / 2**20
        base_rate = base["bytes"] / base["seconds"] / 2**20
        sys.stdout.write(
            f"{name:24} {rate:8.1f} {rate / base_rate:7.2f} {r['peak_kib'] / 1024:9.1f}"
            f" {r['peak_kib'] / max(base['peak_kib'], 1):7.2f}\n"
        )


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
