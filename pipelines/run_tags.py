"""Run tags the assets read: set by `shebao run` / the CLI, or by hand in the Dagster UI."""

AS_OF_TAG = "shebao/as_of"  # ISO date arrears and ages are computed as of (default today)
FORCE_TAG = "shebao/force_build"  # "true": run dbt even when the inputs are unchanged since the last build
RUNNER_PID_TAG = "shebao/runner_pid"  # the `shebao run` process, so a later run can fail a run whose process died
RUNNER_HOST_TAG = "shebao/runner_host"
