"""``python -m qatech_orchestration.emulator --port 8765``: serve the QA.tech emulator until interrupted."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from types import FrameType

from qatech_orchestration.emulator.server import DEFAULT_TOKEN, QATechEmulator


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qatech_orchestration.emulator", description="Serve a local QA.tech API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="API token to accept")
    parser.add_argument("--polls-to-finish", type=int, default=2, help="status reads before a run ends")
    parser.add_argument(
        "--outcome",
        default="PASSED",
        help="how runs end: PASSED, FAILED, SKIPPED, ERROR, CANCELLED or NEVER (default PASSED)",
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds every API answer takes, like a far-away API (default 0)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    emulator = QATechEmulator(
        host=args.host,
        port=args.port,
        token=args.token,
        polls_to_finish=args.polls_to_finish,
        default_outcome=args.outcome,
        latency=args.latency,
    )
    # Whatever dispositions were inherited (a background job starts with SIGINT ignored), both signals stop
    # the emulator from here on; the event loop's own handlers take over once it runs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"QA.tech emulator serving {emulator.base_url} (Ctrl-C or SIGTERM to stop)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):  # a Ctrl-C before the loop's own handler is in place
        emulator.serve_forever()
    print("QA.tech emulator stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
