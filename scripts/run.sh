#!/usr/bin/env bash
# Runs Focal's main job on this machine: a private Prosody on loopback, two
# simulated videobridges in its brewery and a focus node, ready to take
# conference requests. Ctrl-C stops everything.
#
# Everything lives in .run/ (config, logs, binaries). Ports: Prosody c2s 5222,
# component 5347, HTTP 5280; focus HTTP API 8888; bridge controls 8899.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN="$ROOT/.run"
DOMAIN=meet.jitsi
HTTP=127.0.0.1:8888
mkdir -p "$RUN"

"$ROOT/scripts/prosody.sh" install
echo "building focusnode and bridgesim ..."
(cd "$ROOT" && go build -o "$RUN/focusnode" ./cmd/focusnode && go build -o "$RUN/bridgesim" ./bench/bridgesim/cmd/bridgesim)

FOCUS_PID=
BRIDGES_PID=
cleanup() {
	trap - EXIT INT TERM
	for pid in $FOCUS_PID $BRIDGES_PID; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" && wait "$pid" || true
		fi
	done
	"$ROOT/scripts/prosody.sh" stop "$RUN/prosody" || true
}
trap cleanup EXIT INT TERM

PROSODY_DOMAIN=$DOMAIN "$ROOT/scripts/prosody.sh" start "$RUN/prosody" >/dev/null
echo "prosody up (logs: $RUN/prosody/console.log)"

"$RUN/bridgesim" --count 2 --nick jvb --addr 127.0.0.1:5222 --domain "auth.$DOMAIN" \
	--password jvbpass --control 127.0.0.1:8899 2>"$RUN/bridgesim.log" &
BRIDGES_PID=$!

"$RUN/focusnode" \
	--domain "$DOMAIN" --host 127.0.0.1 --port 5347 --secret focussecret \
	--user_domain "auth.$DOMAIN" --user_name focus --user_password focuspass \
	--user_tls_insecure \
	--brewery "jvbbrewery@internal.auth.$DOMAIN" \
	--http "$HTTP" 2>"$RUN/focusnode.log" &
FOCUS_PID=$!

for _ in $(seq 1 100); do
	if curl -fsS "http://$HTTP/about/health" >/dev/null 2>&1; then
		break
	fi
	if ! kill -0 "$FOCUS_PID" 2>/dev/null; then
		echo "focusnode exited; see $RUN/focusnode.log" >&2
		tail -n 20 "$RUN/focusnode.log" >&2
		exit 1
	fi
	sleep 0.1
done
curl -fsS "http://$HTTP/about/health" >/dev/null || { echo "focusnode not healthy; see $RUN/focusnode.log" >&2; exit 1; }

cat <<EOT

Focal is ready (focus log: $RUN/focusnode.log).

Ask for a conference over HTTP:
  curl -s -X POST http://$HTTP/conference-request/v1 -d '{"room":"demo@conference.$DOMAIN"}'

Ask over XMPP, as a Jitsi client does (anonymous login, ConferenceIq to focus.$DOMAIN):
  go run ./bench/joinbench -print -room demo@conference.$DOMAIN

See the live conferences and the bridges (jvb1, jvb2 in the brewery):
  curl -s http://$HTTP/debug/conferences
  curl -s http://$HTTP/debug/bridges

Kill a bridge and watch its conferences move (bridge log: $RUN/bridgesim.log):
  curl -s -X POST http://127.0.0.1:8899/bridges/jvb1/die

Ctrl-C stops the focus and Prosody.
EOT
wait "$FOCUS_PID"
