"""``qatech://`` URIs: a name for the QA verdict on one test plan or application of a QA.tech project.

``qatech://<project short ID>/<test plan or application short ID>``, for example
``qatech://proj_acme_x1/pln_dashboard-checks_7fQ2`` or ``qatech://proj_acme_x1/app_gXeBl2``. Pipelines use it
to name the signal "QA passed": an Airflow asset that QA tasks update when a run passes and other DAGs are
scheduled on, and the OpenLineage dataset (namespace ``qatech://<project>``, name ``<test plan or app>``) it
maps to. The short IDs are QA.tech's own (Settings of the project; the test plan's or application's page).

:func:`parse_qatech_uri` checks one and says which part is wrong and how to write it; importing this module
costs nothing (Airflow imports it whenever it normalizes an asset URI).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from qatech_orchestration.errors import QATechValidationError
from qatech_orchestration.validation import check_short_id, describe, fail

SCHEME = "qatech"
#: The kinds of QA.tech objects a ``qatech://`` URI can name after the project, by short ID prefix.
TARGET_KINDS = {"pln": "test plan", "app": "application"}
EXAMPLE = "qatech://proj_abc123/pln_abc123"
_FORM = f"qatech://<project short ID>/<test plan or application short ID>, e.g. {EXAMPLE!r}"


@dataclass(frozen=True)
class QATechURI:
    """A parsed ``qatech://`` URI.

    Attributes:
        project_short_id: the project (``proj_...``).
        target_short_id: the test plan (``pln_...``) or application (``app_...``) the verdict is about.
    """

    project_short_id: str
    target_short_id: str

    def __str__(self) -> str:
        return f"{SCHEME}://{self.project_short_id}/{self.target_short_id}"

    @property
    def kind(self) -> str:
        """``"test plan"`` or ``"application"``."""
        return TARGET_KINDS[self.target_short_id.split("_", 1)[0].split("-", 1)[0]]

    @property
    def namespace(self) -> str:
        """The OpenLineage dataset namespace: ``qatech://<project>``."""
        return f"{SCHEME}://{self.project_short_id}"

    @property
    def name(self) -> str:
        """The OpenLineage dataset name: the test plan's or application's short ID."""
        return self.target_short_id


def qatech_uri(project_short_id: str, target_short_id: str) -> str:
    """``qatech://<project>/<test plan or application>``, checked as :func:`parse_qatech_uri` checks it."""
    return str(parse_qatech_uri(f"{SCHEME}://{project_short_id}/{target_short_id}"))


def parse_qatech_uri(uri: str | SplitResult, field: str = "uri") -> QATechURI:
    """Parse and check a ``qatech://`` URI; :class:`~qatech_orchestration.errors.QATechValidationError` (a
    ``ValueError``) names the part that is wrong and how to write it.

    A trailing slash is tolerated (Airflow strips it before it asks); a user, password, port, query or
    fragment is not: none of them means anything here.
    """
    parts = uri if isinstance(uri, SplitResult) else urlsplit(_text(uri, field))
    text = parts.geturl()
    where = f"{field} {describe(text)}"
    if parts.scheme.lower() != SCHEME:
        raise fail(field, f"{describe(text)} is not a qatech:// URI; write {_FORM}")
    if not parts.netloc:
        raise fail(field, f"{describe(text)} names no project: write {_FORM}")
    if "@" in parts.netloc or ":" in parts.netloc:
        raise fail(
            field,
            f"{describe(text)}: the part after qatech:// is the project's short ID alone (no user, password or "
            f"port); write {_FORM}",
        )
    if parts.query or parts.fragment:
        extra = "?" + parts.query if parts.query else "#" + parts.fragment
        raise fail(field, f"{describe(text)} has {extra!r}, which a qatech:// URI does not take; write {_FORM}")
    try:
        project = check_short_id(parts.netloc, f"{where}: the project", prefix="proj")
    except QATechValidationError as exc:
        raise QATechValidationError(f"{exc}; write {_FORM}", field=exc.field) from None
    segments = [segment for segment in parts.path.strip("/").split("/") if segment] if parts.path else []
    if not segments:
        raise fail(
            field,
            f"{describe(text)} names no test plan or application after the project: write {_FORM} "
            "(or qatech://<project>/app_<id> for an application)",
        )
    if len(segments) > 1:
        raise fail(
            field,
            f"{describe(text)} has {len(segments)} parts after the project ({'/'.join(segments)!r}); it takes "
            f"one, the test plan's or application's short ID: write {_FORM}",
        )
    (target,) = segments
    prefix = target.split("_", 1)[0].split("-", 1)[0]
    if prefix not in TARGET_KINDS:
        raise fail(
            field,
            f"{describe(text)}: {target!r} is neither a test plan short ID ('pln_<id>') nor an application short "
            f"ID ('app_<id>'); write {_FORM}",
        )
    try:
        check_short_id(target, f"{where}: the {TARGET_KINDS[prefix]}", prefix=prefix)
    except QATechValidationError as exc:
        raise QATechValidationError(f"{exc}; write {_FORM}", field=exc.field) from None
    return QATechURI(project_short_id=project, target_short_id=target)


def is_qatech_uri(uri: object) -> bool:
    """Whether ``uri`` is written with the ``qatech`` scheme (whether or not it is a valid one)."""
    return isinstance(uri, str) and urlsplit(uri).scheme.lower() == SCHEME


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise fail(field, f"expected a qatech:// URI string, got {type(value).__name__} {describe(value)}")
    return value
