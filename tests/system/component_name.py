"""``[core] hostname_callable`` for the production-like system tests: two triggerers on one machine would
both be named after the host, and Airflow does not log which one holds a trigger; with a name each
(``QATECH_COMPONENT_NAME``), the ``job`` table tells them apart."""

from __future__ import annotations

import os

from airflow.utils.net import getfqdn


def hostname() -> str:
    return os.environ.get("QATECH_COMPONENT_NAME") or getfqdn()
