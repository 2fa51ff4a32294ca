# The test matrix, sourced by ./scripts/test.sh and ./scripts/lock.sh. One line per leg; each leg's venv is
# installed from its lock, requirements/lock/NAME.txt (every package pinned), so that a release on the package
# index cannot change what a leg tests: ./scripts/lock.sh NAME resolves it again.
#  name          venv                 Python  constraints ("-": none)       extras ("-": core)  selection      more requirements ("-": none)  uv pip install options
LEGS=(
  "newest        .venv                3.13    requirements/latest.txt       airflow,dagster     all            requirements/system.txt"
  "oldest        .venv-oldest         3.10    requirements/oldest.txt       airflow,dagster     all            requirements/lineage.txt"
  "airflow-3.2   .venv-airflow-3.2    3.12    requirements/airflow-3.2.txt  airflow,dagster     smoke+dagster  -"
  "airflow-3.1   .venv-airflow-3.1    3.11    requirements/airflow-3.1.txt  airflow             smoke          -"
  "airflow-3.0   .venv-airflow-3.0    3.12    requirements/airflow-3.0.txt  airflow             smoke          -"
  "core-3.11     .venv-core-3.11      3.11    -                             -                   core           -"
  "core-3.12     .venv-core-3.12      3.12    -                             -                   core           -"
  # The [dagster] extra alone (no Airflow): the pytest plugin and the Dagster examples as a user of it gets them.
  "dagster-only  .venv-dagster-only   3.12    -                             dagster             dagster-only   -"
  # The lowest versions pyproject.toml admits for every direct dependency (requests, urllib3, aiohttp, Airflow
  # 2.11.0, the test tools), with the [airflow] extra and no Dagster (#19); after_leg_floors in scripts/test.sh.
  "floors        .venv-floors         3.10    requirements/floors.txt       airflow             floors         -    --resolution=lowest-direct"
)
