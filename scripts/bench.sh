#!/usr/bin/env bash
# Runs the load benchmark in one go: a private Prosody on loopback, simulated
# bridges and focus nodes (one, then three; non-race builds), every load
# scenario (join storms over XMPP and HTTP and from two generator
# processes, saturation, churn, one big room, failover under load, memory),
# and writes a report: report.html with SVG charts and results.json.
#
#   scripts/bench.sh [REPORT_DIR] [SCALE] [SCENARIO_REGEXP]
#
# REPORT_DIR defaults to bench-report/ under the repository; SCALE (default
# 1) multiplies every scenario's size; SCENARIO_REGEXP keeps only the
# scenarios whose names match (for instance 'failover|memory').
#
# PROSODY_LOG (default info) is Prosody's file log level for the scenarios:
# info, as a deployment runs it, or debug, as the tests do (a line per
# stanza); the 'prosody log' scenarios run both.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DIR=$(realpath -m "${1:-$ROOT/bench-report}")
SCALE=${2:-1}
ONLY=${3:-}
PROSODY_LOG=${PROSODY_LOG:-info}
scripts/prosody.sh install
mkdir -p "$DIR"
go test -run='^$' -bench='^BenchmarkLoad$' -benchtime=1x -timeout=90m ./bench/loadgen/ \
	-args -load.report="$DIR" -load.scale="$SCALE" -load.only="$ONLY" -load.prosody_log="$PROSODY_LOG" 2>&1 | tee "$DIR/bench.log"
echo "report: $DIR/report.html"
