"""``qatech-orchestration``: start, watch, rerun and wait for QA.tech runs from any shell-based CI.

The token comes from ``QATECH_API_TOKEN`` (never from a flag, so it stays out of shell history and
process lists); the base URL from ``--base-url`` or ``QATECH_BASE_URL``.

Exit codes:
    0  success (the run started; or, when waiting, it passed, or was skipped without --fail-on-skipped)
    1  the run finished without passing (FAILED, ERROR, CANCELLED, or SKIPPED with --fail-on-skipped)
    2  usage or validation error: nothing was sent (every flag is checked before the first request)
    3  QA.tech API or network error (once a run started, its run_short_id line was printed first)
    4  the wait timed out (the run goes on in QA.tech)
    5  a start or rerun whose outcome is unknown (5xx, answer lost): a run may exist; check the dashboard
       before starting again (a CI retry of this step could start a second run)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from qatech_orchestration._version import __version__
from qatech_orchestration.cli_reports import ReportFiles, add_report_flags
from qatech_orchestration.client import QATechClient
from qatech_orchestration.defaults import DEFAULT_BASE_URL
from qatech_orchestration.errors import QATechError, QATechValidationError, QATechWaitTimeout
from qatech_orchestration.models import RunStatus, StartedRun
from qatech_orchestration.outcome import run_summary
from qatech_orchestration.report import build_report
from qatech_orchestration.request_model import START_RUN
from qatech_orchestration.validation import check_positive_number

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_API, EXIT_TIMEOUT, EXIT_MAY_HAVE_STARTED = 0, 1, 2, 3, 4, 5
TOKEN_ENV, BASE_URL_ENV, PROJECT_SHORT_ID_ENV = "QATECH_API_TOKEN", "QATECH_BASE_URL", "QATECH_PROJECT_SHORT_ID"


def _json_arg(flag: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise QATechValidationError(f"is not valid JSON ({exc})", field=flag) from None


def _argument_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """A flag's parser whose validation errors argparse reports as such (exit 2, one line, the flag named),
    instead of its generic "invalid _application value"."""

    def parse_flag(text: str) -> Any:
        try:
            return parse(text)
        except QATechValidationError as exc:
            raise argparse.ArgumentTypeError(exc.message.split(": ", 1)[-1]) from None

    parse_flag.__name__ = parse.__name__
    return parse_flag


def _application(text: str) -> Any:
    """``APP=URL``, ``APP=env_...`` or a JSON object."""
    if text.lstrip().startswith("{"):
        return _json_arg("--application", text)
    app, sep, target = text.partition("=")
    if not sep:
        return {"applicationShortId": app}
    if target.startswith("env"):
        return {"applicationShortId": app, "environment": {"shortId": target}}
    return {"applicationShortId": app, "environment": {"url": target}}


def _notification(text: str) -> Any:
    """``CHANNEL`` or ``CHANNEL:always|failure`` or a JSON object."""
    if text.lstrip().startswith("{"):
        return _json_arg("--notify-slack", text)
    channel, sep, notify_on = text.partition(":")
    item: dict[str, str] = {"type": "slack", "channel": channel}
    if sep:
        item["notifyOn"] = notify_on
    return item


def _seconds(text: str) -> float:
    """A finite number of seconds > 0 (checked while parsing: before anything is sent)."""
    try:
        return check_positive_number(float(text), "seconds")
    except (ValueError, QATechValidationError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number of seconds > 0") from None


def _add_wait_flags(parser: argparse.ArgumentParser, *, optional: bool) -> None:
    if optional:
        parser.add_argument("--wait", action="store_true", help="wait for the run and exit by its result")
    parser.add_argument("--poll-interval", type=_seconds, default=30.0, help="seconds between reads (30)")
    parser.add_argument("--timeout", type=_seconds, default=3600.0, help="seconds to wait at most (3600)")
    parser.add_argument("--fail-on-skipped", action="store_true", help="exit 1 when every test case was skipped")


#: Shortcut flags for start-run fields, beside the flags derived from the request model.
_SHORTCUTS: dict[str, tuple[str, Callable[[str], Any], str, str]] = {
    "test_plan_short_id": ("--test-plan", str, "PLN", "same as --test-plan-short-id"),
    "applications": (
        "--application",
        _argument_type(_application),
        "APP=URL",
        "APP=URL, APP=env_..., or a JSON object; repeatable",
    ),
    "notifications": (
        "--notify-slack",
        _argument_type(_notification),
        "CHANNEL[:WHEN]",
        "WHEN is always or failure; repeatable",
    ),
    "test_case_ids": ("--test-case-id", str, "ID", "one test case ID; repeatable"),
}
#: Start-run fields that are global options (they apply to every command).
_GLOBAL_FIELDS = ("project_short_id",)


def start_run_flag(name: str) -> str:
    """The flag of a start-run field: ``--branch``, ``--commit-hash``, ``--applications-json``..."""
    field = START_RUN[name]
    return f"--{name.replace('_', '-')}" + ("-json" if field.structured else "")


def _add_start_run_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per field of the request model (JSON for lists and objects), plus the shortcuts."""
    for field in START_RUN:
        if field.name in _GLOBAL_FIELDS:
            continue
        flag = start_run_flag(field.name)
        dest = f"json_{field.name}" if field.structured else field.name
        choices = field.choices or None
        metavar = "JSON" if field.structured else None
        parser.add_argument(flag, dest=dest, choices=choices, metavar=metavar, help=field.doc.replace("%", "%%"))
        if field.name in _SHORTCUTS:
            short, parse, metavar, text = _SHORTCUTS[field.name]
            if field.structured:
                parser.add_argument(
                    short, dest=f"each_{field.name}", action="append", type=parse, metavar=metavar, help=text
                )
            else:
                parser.add_argument(short, dest=field.name, metavar=metavar, help=text)


def _start_run_values(args: argparse.Namespace) -> dict[str, Any]:
    """The start-run fields given on the command line (JSON flags and repeated shortcuts combined)."""
    values: dict[str, Any] = {}
    for field in START_RUN:
        if field.name in _GLOBAL_FIELDS:
            continue
        if not field.structured:
            values[field.name] = getattr(args, field.name)
            continue
        text = getattr(args, f"json_{field.name}")
        value = _json_arg(start_run_flag(field.name), text) if text is not None else None
        each = getattr(args, f"each_{field.name}", None)
        if each:
            if value is not None and not isinstance(value, list):
                raise QATechValidationError("must be a JSON array", field=start_run_flag(field.name))
            value = [*(value or []), *each]
        values[field.name] = value
    return values


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    """Options that apply to every command, before or after it. ``SUPPRESS``: an option not given after the
    command leaves the value given before it (or the default) alone."""
    parser.add_argument(
        "--base-url",
        default=argparse.SUPPRESS,
        help=f"the API root (env {BASE_URL_ENV}; default {DEFAULT_BASE_URL})",
    )
    parser.add_argument(
        "--project-short-id",
        default=argparse.SUPPRESS,
        help=f"proj_... (needed with organization API keys; env {PROJECT_SHORT_ID_ENV})",
    )
    parser.add_argument(
        "--proxy",
        default=argparse.SUPPRESS,
        help="HTTP proxy for every request, e.g. http://proxy.example.com:3128 (default: HTTPS_PROXY, HTTP_PROXY, "
        "NO_PROXY)",
    )
    parser.add_argument(
        "--ca-bundle",
        default=argparse.SUPPRESS,
        help="PEM file of the CAs to trust (env QATECH_CA_BUNDLE, REQUESTS_CA_BUNDLE, SSL_CERT_FILE; default certifi)",
    )
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object instead of text"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log requests and retries"
    )


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line that names the flag (a CI log shows the line, not a screen of usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="qatech-orchestration",
        description="Start, watch and rerun QA.tech test runs. Token: QATECH_API_TOKEN.",
        epilog="Exit codes: 0 ok, 1 run did not pass, 2 usage/validation (nothing sent), 3 API/network, "
        "4 wait timed out, 5 a start's outcome is unknown (a run may exist: do not retry blindly).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_global_options(parser)
    parser.set_defaults(
        base_url=os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL,
        project_short_id=os.environ.get(PROJECT_SHORT_ID_ENV) or None,
        proxy="",
        ca_bundle="",
        json=False,
        verbose=False,
    )
    # The global options are accepted after the subcommand too (``start ... --json``, as CI scripts write it).
    globals_after = _Parser(add_help=False)
    _add_global_options(globals_after)
    sub = parser.add_subparsers(dest="command", required=True)

    def add_command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[globals_after], formatter_class=parser.formatter_class)

    start = add_command("start", "start a run (POST /run)")
    _add_start_run_flags(start)
    _add_wait_flags(start, optional=True)
    add_report_flags(start)

    status = add_command("status", "print a run's status (GET /run/{shortId})")
    status.add_argument("short_id")
    status.add_argument("--test-cases", choices=("failed", "all"), default="all")

    rerun = add_command("rerun", "rerun a run (POST /run/{shortId})")
    rerun.add_argument("short_id")
    rerun.add_argument(
        "--failed-only",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="rerun only failed, skipped and errored test cases (the default, unless --test-case-id is given); "
        "--no-failed-only reruns every test case",
    )
    rerun.add_argument("--test-case-id", dest="project_test_case_ids", action="append", help="UUID")
    _add_wait_flags(rerun, optional=True)
    add_report_flags(rerun)

    wait = add_command("wait", "wait for a run and exit by its result")
    wait.add_argument("short_id")
    _add_wait_flags(wait, optional=False)
    add_report_flags(wait)
    return parser


class _Printer:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.document: dict[str, Any] = {}

    def started(self, run: StartedRun, key: str = "run") -> None:
        self.document[key] = run.to_dict()
        if not self.as_json:
            # The machine-readable lines first: whatever happens next, the run is not lost.
            print(f"run_short_id={run.short_id}")
            print(f"run_url={run.url}", flush=True)
            plan = f" ({run.test_plan.name})" if run.test_plan else ""
            print(f"Started QA.tech run {run.short_id}{plan}: {run.test_count} test case(s)", flush=True)

    def status(self, status: RunStatus) -> None:
        self.document["status"] = run_summary(status)
        if not self.as_json:
            print(f"Run {status.short_id}: {status.state_label}")
            for case in status.test_cases:
                print(f"  {case.result or case.status:9} {case.summary()}")

    def finish(self, code: int, message: str | None = None) -> int:
        self.document["exit_code"] = code
        if message:
            self.document["message"] = message
        if self.as_json:
            print(json.dumps(self.document, indent=2))
        elif message:
            print(message, file=sys.stderr if code else sys.stdout)
        return code


def _wait(
    client: QATechClient, run_id: str, url: str | None, args: argparse.Namespace, out: _Printer, files: ReportFiles
) -> int:
    last: list[RunStatus] = []  # the last status read: what the report of a timed-out wait lists
    try:
        status = client.wait_for_run(
            run_id, poll_interval=args.poll_interval, timeout=args.timeout, run_url=url, on_poll=last.append
        )
    except QATechError as exc:
        files.interrupted(run_id, url, last[-1] if last else None, exc)
        raise
    out.status(status)
    report = build_report(status, fail_on_skipped=args.fail_on_skipped, test_plan=files.test_plan)
    files.finished(report)
    return out.finish(EXIT_OK if report.ok else EXIT_FAILED, report.verdict)


def _started(start: Callable[[], StartedRun], out: _Printer, files: ReportFiles) -> StartedRun:
    try:
        run = start()
    except QATechError as exc:
        files.not_started(may_exist=exc.run_may_exist)
        raise
    out.started(run)
    files.started(run)
    return run


def _run(args: argparse.Namespace, out: _Printer) -> int:
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        raise QATechValidationError(f"set the {TOKEN_ENV} environment variable", field=TOKEN_ENV)
    files = ReportFiles(args)
    files.check()
    try:
        client = QATechClient(
            token,
            base_url=args.base_url,
            project_short_id=args.project_short_id,
            proxy=args.proxy,
            ca_bundle=args.ca_bundle,
        )
    except QATechValidationError as exc:
        raise _named_as_given(exc, args) from None
    if args.command == "start":
        values = _start_run_values(args)
        run = _started(lambda: client.start_run(**values), out, files)
        return _wait(client, run.short_id, run.url, args, out, files) if args.wait else out.finish(EXIT_OK)
    if args.command == "rerun":
        run = _started(
            lambda: client.rerun(
                args.short_id, failed_only=args.failed_only, project_test_case_ids=args.project_test_case_ids
            ),
            out,
            files,
        )
        return _wait(client, run.short_id, run.url, args, out, files) if args.wait else out.finish(EXIT_OK)
    if args.command == "wait":
        return _wait(client, args.short_id, None, args, out, files)
    out.status(client.get_run(args.short_id, test_cases=args.test_cases))
    return out.finish(EXIT_OK)


def _named_as_given(exc: QATechValidationError, args: argparse.Namespace) -> QATechValidationError:
    """A bad base URL, project short ID, proxy or CA bundle, named as the user gave it: the flag, or the
    environment variable."""
    sources = {
        "base_url": ("--base-url", BASE_URL_ENV),
        "project_short_id": ("--project-short-id", PROJECT_SHORT_ID_ENV),
    }
    if exc.field in ("proxy", "ca_bundle") and getattr(args, exc.field):  # given as a flag, not from the environment
        flag = f"--{exc.field.replace('_', '-')}"
        return QATechValidationError(exc.message.removeprefix(f"{exc.field}: "), field=flag)
    if exc.field not in sources:
        return exc
    flag, env = sources[exc.field]
    where = env if getattr(args, exc.field) == os.environ.get(env) else flag
    return QATechValidationError(exc.message.removeprefix(f"{exc.field}: "), field=where)


def _never_fail_on_encoding() -> None:
    """A terminal that cannot encode a plan's name (LANG=C, a Windows code page) must not crash the CLI."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    _never_fail_on_encoding()
    parser = build_parser()
    out = _Printer(as_json=False)
    try:
        args = parser.parse_args(argv)
        out.as_json = args.json
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
        return _run(args, out)
    except QATechValidationError as exc:
        # "Nothing was sent" only when it is true: once a run started, it is an API-side problem.
        code = EXIT_USAGE if exc.status_code is None and "run" not in out.document else EXIT_API
        return out.finish(code, f"error: {exc}")
    except QATechWaitTimeout as exc:
        return out.finish(EXIT_TIMEOUT, f"error: {exc}")
    except QATechError as exc:
        return out.finish(EXIT_MAY_HAVE_STARTED if exc.run_may_exist else EXIT_API, f"error: {exc}")


if __name__ == "__main__":
    sys.exit(main())
