"""``python -m local.simulator --port 8787``: run the simulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading

from .config import SimulatorConfig
from .server import RunwaySimulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787, help="0 picks a free port")
    parser.add_argument("--time-scale", type=float, default=1.0, help="real seconds per simulated second")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--api-key", default=None, help="accepted key (default: $RUNWAYML_API_SECRET or any)")
    parser.add_argument("--credits", type=int, default=SimulatorConfig.credit_balance)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    config = SimulatorConfig(
        host=args.host,
        port=args.port,
        time_scale=args.time_scale,
        seed=args.seed,
        api_key=args.api_key,
        credit_balance=args.credits,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with RunwaySimulator(config) as sim, contextlib.suppress(KeyboardInterrupt):
        sys.stdout.write(f"RUNWAYML_BASE_URL={sim.base_url}\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
