#!/usr/bin/env bash
# The composite action's run step (action.yml), also run by .ci/run: runs
# `leaklab run` on the caller's scenarios with the action's inputs (passed as
# LEAKLAB_* environment variables) and writes JSON, JUnit and the report.
# Exit code: leaklab's (0 all as expected, 1 unexpected verdict, 2 no verdict).
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
args=(run)
read -r -a scenarios <<<"${LEAKLAB_SCENARIOS:-scenarios/}"
args+=("${scenarios[@]}")
[ -n "${LEAKLAB_KERNELS:-}" ] && args+=(--kernel "$LEAKLAB_KERNELS")
[ -n "${LEAKLAB_BACKEND:-}" ] && args+=(--backend "$LEAKLAB_BACKEND")
[ -n "${LEAKLAB_SHARD:-}" ] && args+=(--shard "$LEAKLAB_SHARD")
args+=(--json "${LEAKLAB_JSON:-leaklab-report.json}" --junit "${LEAKLAB_JUNIT:-leaklab-junit.xml}" --report "${LEAKLAB_REPORT:-leaklab-report}")
echo "leaklab ${args[*]}" >&2
node "$here/bin/leaklab.js" "${args[@]}"
