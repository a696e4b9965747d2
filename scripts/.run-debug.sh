#!/usr/bin/env bash
# Runs Focal's main job on this machine: a private Prosody on loopback, two
# simulated videobridges in its brewery and a cluster of three focus nodes,
# ready to take conference requests. Ctrl-C stops everything.
#
# Everything lives in .run/ (config, logs, binaries). Ports: Prosody c2s 5222,
# component 5347, HTTP 5280; focus nodes' HTTP APIs 8888-8890, gossip
# 7946-7948, remote 8090-8092; bridge controls 8899.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN="$ROOT/.run"
DOMAIN=meet.jitsi
HTTP=127.0.0.1:8888
mkdir -p "$RUN"

"$ROOT/scripts/prosody.sh" install
echo "building focusnode and bridgesim ..."
(cd "$ROOT" && go build -o "$RUN/focusnode" ./cmd/focusnode && go build -o "$RUN/bridgesim" ./bench/bridgesim/cmd/bridgesim)

FOCUS_PIDS=()
BRIDGES_PID=
cleanup() {
	trap - EXIT INT TERM
	for pid in "${FOCUS_PIDS[@]}" $BRIDGES_PID; do
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

JOIN=127.0.0.1:7946,127.0.0.1:7947,127.0.0.1:7948
for i in 0 1 2; do
	"$RUN/focusnode" \
		--domain "$DOMAIN" --host 127.0.0.1 --port 5347 --secret focussecret \
		--user_domain "auth.$DOMAIN" --user_name focus --user_password focuspass \
		--user_tls_insecure \
		--brewery "jvbbrewery@internal.auth.$DOMAIN" \
		--node "node$((i + 1))" --gossip "127.0.0.1:$((7946 + i))" --remote "127.0.0.1:$((8090 + i))" --cluster_size 3 --join "$JOIN" \
		--log_level debug --http "127.0.0.1:$((8888 + i))" 2>"$RUN/focusnode$((i + 1)).log" &
	FOCUS_PIDS+=($!)
done

for i in 0 1 2; do
	http="127.0.0.1:$((8888 + i))"
	for _ in $(seq 1 100); do
		if curl -fsS "http://$http/about/health" >/dev/null 2>&1; then
			break
		fi
		if ! kill -0 "${FOCUS_PIDS[$i]}" 2>/dev/null; then
			echo "focusnode $((i + 1)) exited; see $RUN/focusnode$((i + 1)).log" >&2
			tail -n 20 "$RUN/focusnode$((i + 1)).log" >&2
			exit 1
		fi
		sleep 0.1
	done
	curl -fsS "http://$http/about/health" >/dev/null || { echo "focusnode $((i + 1)) not healthy; see $RUN/focusnode$((i + 1)).log" >&2; exit 1; }
done

cat <<EOT

Focal is ready: three focus nodes (logs: $RUN/focusnode{1,2,3}.log).

Ask for a conference over HTTP:
  curl -s -X POST http://$HTTP/conference-request/v1 -d '{"room":"demo@conference.$DOMAIN"}'

Ask over XMPP, as a Jitsi client does (anonymous login, ConferenceIq to focus.$DOMAIN):
  go run ./bench/joinbench -print -room demo@conference.$DOMAIN

See the cluster (members, the conferences each drives or stands by for),
the live conferences and the bridges (jvb1, jvb2 in the brewery):
  curl -s http://$HTTP/cluster
  curl -s http://$HTTP/debug/conferences
  curl -s http://$HTTP/debug/bridges

Kill the node that drives a conference and watch another take it over:
  kill -9 <pid of a focusnode>     # pids: ${FOCUS_PIDS[*]}

Kill a bridge and watch its conferences move (bridge log: $RUN/bridgesim.log):
  curl -s -X POST http://127.0.0.1:8899/bridges/jvb1/die

Ctrl-C stops the focus nodes, the bridges and Prosody.
EOT
wait "${FOCUS_PIDS[@]}"
