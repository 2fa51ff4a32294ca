"""Defaults shared by the core and both adapters (importing this costs nothing)."""

#: QA.tech's API root.
DEFAULT_BASE_URL = "https://api.qa.tech/v1"
