#!/usr/bin/env bash
# Runs a private, loopback-only Prosody for Focal development and tests.
#
# Usage:
#   scripts/prosody.sh install                        install prosody + lua-event with apt if missing
#   scripts/prosody.sh start BASE                     render config, certs, users; start; wait; print PID
#   scripts/prosody.sh stop BASE                      SIGTERM, then SIGKILL after 5 s; no-op if not running
#   scripts/prosody.sh status BASE                    exit 0 if running (prints PID), 1 if not
#   scripts/prosody.sh kill BASE                      SIGKILL at once (crash tests); no-op if not running
#   scripts/prosody.sh register BASE USER PASSWORD    create/update USER on the auth domain of BASE
#
# BASE is a private directory; it holds prosody.cfg.lua, data/, certs/,
# plugins/, prosody.pid, console.log and prosody.log.
#
# Environment for "start" (defaults in brackets):
#   PROSODY_DOMAIN [meet.jitsi]       PROSODY_C2S_PORT [5222]
#   PROSODY_COMPONENT_PORT [5347]     PROSODY_HTTP_PORT [5280]
#   FOCUS_SECRET [focussecret]        FOCUS_PASSWORD [focuspass]   JVB_PASSWORD [jvbpass]
#   PROSODY_HIBERNATION [60]          PROSODY_SMACKS_QUEUE [2000]
#   PROSODY_START_TIMEOUT [10]        seconds to wait for the listeners
#   PROSODY_LOG_LEVEL [debug]         lowest level written to BASE/prosody.log: debug
#                                     (every stanza's top tag; tests) or info (a deployment's)
#   PROSODY_JITSI_PLUGINS []          directory of Jitsi Meet's Prosody modules: if set,
#                                     load them as a default Jitsi Meet install does
#   PROSODY_VISITORS []               with PROSODY_JITSI_PLUGINS: "main" or "vnode", one
#                                     Prosody of a main/visitor-node pair (s2s on loopback)
#   PROSODY_S2S_PORT [5269]           its s2s listener (visitors only)
#   PROSODY_S2S_PEERS []              host=port,... : the peers' s2s listeners on 127.0.0.1
#   PROSODY_MAIN_DOMAIN []            of a vnode: the main Prosody's client domain
#
# Exit codes: 0 ok, 1 failure, 2 usage error, 3 a listener port is taken by
# somebody else (the caller may retry with other ports).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEMPLATE="$SCRIPT_DIR/../deploy/prosody/prosody.cfg.lua.in"

PROSODY_DOMAIN=${PROSODY_DOMAIN:-meet.jitsi}
PROSODY_C2S_PORT=${PROSODY_C2S_PORT:-5222}
PROSODY_COMPONENT_PORT=${PROSODY_COMPONENT_PORT:-5347}
PROSODY_HTTP_PORT=${PROSODY_HTTP_PORT:-5280}
FOCUS_SECRET=${FOCUS_SECRET:-focussecret}
FOCUS_PASSWORD=${FOCUS_PASSWORD:-focuspass}
JVB_PASSWORD=${JVB_PASSWORD:-jvbpass}
PROSODY_HIBERNATION=${PROSODY_HIBERNATION:-60}
PROSODY_SMACKS_QUEUE=${PROSODY_SMACKS_QUEUE:-2000}
PROSODY_START_TIMEOUT=${PROSODY_START_TIMEOUT:-10}
PROSODY_LOG_LEVEL=${PROSODY_LOG_LEVEL:-debug}
PROSODY_JITSI_PLUGINS=${PROSODY_JITSI_PLUGINS:-}
PROSODY_VISITORS=${PROSODY_VISITORS:-}
PROSODY_S2S_PORT=${PROSODY_S2S_PORT:-5269}
PROSODY_S2S_PEERS=${PROSODY_S2S_PEERS:-}
PROSODY_MAIN_DOMAIN=${PROSODY_MAIN_DOMAIN:-}

STOP_TIMEOUT=5 # seconds between SIGTERM and SIGKILL

log() { printf 'prosody.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

usage() {
	sed -n '4,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# --- helpers ---------------------------------------------------------------

# abs_base DIR: print the absolute path of DIR, which must exist.
abs_base() {
	[[ -n ${1:-} ]] || usage
	(cd "$1" 2>/dev/null && pwd) || die "no such directory: $1"
}

# base_domain BASE: the client domain a rendered config was made for.
base_domain() {
	sed -n 's/^admins = { "focus@auth\.\([^"]*\)".*/\1/p' "$(config_of "$1")"
}

config_of() { printf '%s/prosody.cfg.lua' "$1"; }

# alive PID CONFIG: true if PID is a live (not zombie) process started with
# CONFIG. The config check guards against a stale pid file whose PID has been
# reused by an unrelated process.
alive() {
	local pid=$1 config=$2 state cmdline
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ -r /proc/$pid/stat ]] || return 1
	# Field 3 of /proc/PID/stat is the state; the command name before it is
	# in parentheses and may contain spaces, so cut after the last ')'.
	state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[[ $state != Z && $state != X ]] || return 1
	cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $cmdline == *"$config"* ]]
}

# running_pid BASE: print the PID of the Prosody owning BASE, or fail.
running_pid() {
	local base=$1 pid
	[[ -f $base/prosody.pid ]] || return 1
	pid=$(tr -dc '0-9' <"$base/prosody.pid")
	alive "$pid" "$(config_of "$base")" || return 1
	printf '%s\n' "$pid"
}

# port_open PORT: true if something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# c2s_serves PORT DOMAIN: true once Prosody answers a client stream header on
# PORT with stream features. A successful TCP connect alone only proves that
# listen() was called: Prosody opens its listeners while it is still loading
# the remaining hosts, and only serves them once its event loop runs.
c2s_serves() {
	local fd tag i ok=1
	exec {fd}<>"/dev/tcp/127.0.0.1/$1" 2>/dev/null || return 1
	printf "<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>" "$2" >&"$fd" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		IFS= read -r -t 2 -d '>' -u "$fd" tag || break
		if [[ $tag == *'<stream:features'* ]]; then
			ok=0
			break
		fi
	done
	printf '</stream:stream>' >&"$fd" 2>/dev/null || true
	exec {fd}>&-
	return "$ok"
}

# The values end up inside Lua string literals or as bare numbers.
check_number() {
	[[ $2 =~ ^[0-9]+$ ]] || die "$1 must be a non-negative integer, got '$2'"
}
check_lua_safe() {
	[[ $2 != *[\"\\$'\n']* ]] || die "$1 must not contain quotes, backslashes or newlines"
	[[ -n $2 ]] || die "$1 must not be empty"
}

render_config() {
	local base=$1 text
	[[ -r $TEMPLATE ]] || die "template not found: $TEMPLATE"
	text=$(<"$TEMPLATE")
	# Quoted replacements: bash 5.2 would otherwise expand '&' in them.
	text=${text//@BASE@/"$base"}
	text=${text//@DOMAIN@/"$PROSODY_DOMAIN"}
	text=${text//@C2S_PORT@/"$PROSODY_C2S_PORT"}
	text=${text//@COMPONENT_PORT@/"$PROSODY_COMPONENT_PORT"}
	text=${text//@HTTP_PORT@/"$PROSODY_HTTP_PORT"}
	text=${text//@FOCUS_SECRET@/"$FOCUS_SECRET"}
	text=${text//@HIBERNATION@/"$PROSODY_HIBERNATION"}
	text=${text//@SMACKS_QUEUE@/"$PROSODY_SMACKS_QUEUE"}
	text=${text//@LOG_LEVEL@/"$PROSODY_LOG_LEVEL"}
	text=${text//@JITSI_PLUGINS@/"$PROSODY_JITSI_PLUGINS"}
	text=${text//@VISITORS@/"$PROSODY_VISITORS"}
	text=${text//@S2S_PORT@/"$PROSODY_S2S_PORT"}
	text=${text//@S2S_PEERS@/"$PROSODY_S2S_PEERS"}
	text=${text//@MAIN_DOMAIN@/"$PROSODY_MAIN_DOMAIN"}
	printf '%s\n' "$text" >"$(config_of "$base").tmp"
	mv "$(config_of "$base").tmp" "$(config_of "$base")"
}

make_certs() {
	local base=$1 host
	for host in "$PROSODY_DOMAIN" "auth.$PROSODY_DOMAIN"; do
		[[ -s $base/certs/$host.crt && -s $base/certs/$host.key ]] && continue
		openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
			-subj "/CN=$host" -addext "subjectAltName=DNS:$host,DNS:*.$host" \
			-keyout "$base/certs/$host.key" -out "$base/certs/$host.crt" \
			>/dev/null 2>&1 || die "openssl could not create a certificate for $host"
	done
}

# register_user BASE DOMAIN USER PASSWORD: creates USER@auth.DOMAIN, or
# resets its password if it exists (internal_plain overwrites), so it is
# idempotent. Works whether or not the server is running: prosodyctl writes
# the account file, and the server reads it at each login.
register_user() {
	local base=$1 domain=$2 user=$3 password=$4 out
	if ! out=$(prosodyctl --config "$(config_of "$base")" register "$user" "auth.$domain" "$password" 2>&1 </dev/null); then
		die "could not register $user@auth.$domain: $out"
	fi
}

# link_lua_libs BASE: Jitsi's visitors component needs the pure-Lua libraries
# inspect and basexx (lua-inspect, lua-basexx), which Debian 12 ships for Lua
# 5.1-5.3 (basexx: 5.1-5.2) only while its Prosody runs on 5.4. Prosody adds
# installer_plugin_path/share/lua/5.4 to Lua's search path (the config points
# it at BASE/lualib), so the newest of those files is linked there.
link_lua_libs() {
	local dir=$1/lualib/share/lua/5.4 lib version
	mkdir -p "$dir"
	for lib in inspect basexx; do
		[[ -e /usr/share/lua/5.4/$lib.lua || -e $dir/$lib.lua ]] && continue
		for version in 5.3 5.2 5.1; do # the newest there is (basexx stops at 5.2)
			if [[ -e /usr/share/lua/$version/$lib.lua ]]; then
				ln -s "/usr/share/lua/$version/$lib.lua" "$dir/$lib.lua"
				break
			fi
		done # none: Prosody's error names the library
	done
}

console_tail() {
	local base=$1
	if [[ -f $base/console.log ]]; then
		log "last lines of $base/console.log:"
		tail -n 20 "$base/console.log" >&2
	fi
}

# wait_gone PID CONFIG SECONDS: poll until PID has exited; false on timeout.
wait_gone() {
	local pid=$1 config=$2 deadline=$((SECONDS + $3))
	while alive "$pid" "$config"; do
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}

need_tools() {
	local t
	for t in prosody prosodyctl openssl; do
		command -v "$t" >/dev/null 2>&1 || die "'$t' not found; run: $0 install"
	done
}

# --- subcommands -----------------------------------------------------------

cmd_install() {
	if command -v prosody >/dev/null 2>&1; then
		log "prosody is already installed: $(command -v prosody)"
		return 0
	fi
	((EUID == 0)) || die "install needs root (apt-get)"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y prosody lua-event
	# Where services may start (systemd hosts, unlike our VMs and containers
	# whose policy-rc.d forbids it), the package also starts a system-wide
	# daemon on 5222/5347/5280. Private instances do not need it; "start" with
	# the default ports then reports the clash (exit 3).
}

cmd_start() {
	local base pid config port deadline log_offset
	[[ -n ${1:-} ]] || usage
	mkdir -p "$1"
	base=$(abs_base "$1")
	config=$(config_of "$base")
	need_tools
	check_lua_safe PROSODY_DOMAIN "$PROSODY_DOMAIN"
	check_lua_safe FOCUS_SECRET "$FOCUS_SECRET"
	if [[ -n $PROSODY_JITSI_PLUGINS ]]; then
		check_lua_safe PROSODY_JITSI_PLUGINS "$PROSODY_JITSI_PLUGINS"
		[[ -f $PROSODY_JITSI_PLUGINS/mod_muc_meeting_id.lua ]] ||
			die "PROSODY_JITSI_PLUGINS=$PROSODY_JITSI_PLUGINS holds no Jitsi Meet Prosody modules (no mod_muc_meeting_id.lua)"
	fi
	for port in PROSODY_C2S_PORT PROSODY_COMPONENT_PORT PROSODY_HTTP_PORT \
		PROSODY_HIBERNATION PROSODY_SMACKS_QUEUE PROSODY_START_TIMEOUT PROSODY_S2S_PORT; do
		check_number "$port" "${!port}"
	done
	case $PROSODY_LOG_LEVEL in
	debug | info) ;;
	*) die "PROSODY_LOG_LEVEL must be debug or info, got '$PROSODY_LOG_LEVEL'" ;;
	esac
	case $PROSODY_VISITORS in
	'') ;;
	main | vnode)
		[[ -n $PROSODY_JITSI_PLUGINS ]] || die "PROSODY_VISITORS needs PROSODY_JITSI_PLUGINS"
		[[ $PROSODY_S2S_PEERS =~ ^([a-z0-9.-]+=[0-9]+)(,[a-z0-9.-]+=[0-9]+)*$ ]] ||
			die "PROSODY_S2S_PEERS must be host=port,..., got '$PROSODY_S2S_PEERS'"
		if [[ $PROSODY_VISITORS == vnode ]]; then
			check_lua_safe PROSODY_MAIN_DOMAIN "$PROSODY_MAIN_DOMAIN"
		fi
		;;
	*) die "PROSODY_VISITORS must be empty, main or vnode, got '$PROSODY_VISITORS'" ;;
	esac

	if pid=$(running_pid "$base"); then
		die "already running in $base (pid $pid); stop it first"
	fi
	# Prosody logs a failed bind and keeps running, and our readiness probe
	# would then happily talk to whoever owns the port. Refuse up front.
	local ports=("$PROSODY_C2S_PORT" "$PROSODY_COMPONENT_PORT" "$PROSODY_HTTP_PORT")
	[[ -z $PROSODY_VISITORS ]] || ports+=("$PROSODY_S2S_PORT")
	for port in "${ports[@]}"; do
		if port_open "$port"; then
			log "127.0.0.1:$port is already in use by another process"
			exit 3
		fi
	done

	mkdir -p "$base/data" "$base/certs" "$base/plugins"
	cp "$SCRIPT_DIR/../deploy/prosody/plugins/"*.lua "$base/plugins/"
	[[ -z $PROSODY_JITSI_PLUGINS ]] || link_lua_libs "$base"
	render_config "$base"
	make_certs "$base"
	register_user "$base" "$PROSODY_DOMAIN" focus "$FOCUS_PASSWORD"
	register_user "$base" "$PROSODY_DOMAIN" jvb "$JVB_PASSWORD"

	rm -f "$base/prosody.pid"
	touch "$base/console.log"
	log_offset=$(($(stat -c %s "$base/console.log") + 1)) # only this run's lines count
	# -F keeps Prosody in the foreground of this background job, so $! is its
	# PID. All three standard streams are redirected so that a caller reading
	# our output (e.g. Go's exec) does not wait for Prosody to close them.
	prosody -F --config "$config" >>"$base/console.log" 2>&1 </dev/null &
	pid=$!

	deadline=$((SECONDS + PROSODY_START_TIMEOUT))
	while :; do
		if ! alive "$pid" "$config"; then
			wait "$pid" 2>/dev/null || true
			log "prosody exited during startup"
			console_tail "$base"
			exit 1
		fi
		if tail -c "+$log_offset" "$base/console.log" | grep -q 'Failed to open server port'; then
			kill -KILL "$pid" 2>/dev/null || true
			log "prosody could not bind one of its ports"
			console_tail "$base"
			exit 3
		fi
		if port_open "$PROSODY_C2S_PORT" && port_open "$PROSODY_COMPONENT_PORT" &&
			{ [[ -z $PROSODY_VISITORS ]] || port_open "$PROSODY_S2S_PORT"; } &&
			port_open "$PROSODY_HTTP_PORT" && c2s_serves "$PROSODY_C2S_PORT" "$PROSODY_DOMAIN"; then
			break
		fi
		if ((SECONDS >= deadline)); then
			kill -KILL "$pid" 2>/dev/null || true
			log "prosody did not open 127.0.0.1:{$PROSODY_C2S_PORT,$PROSODY_COMPONENT_PORT,$PROSODY_HTTP_PORT} within ${PROSODY_START_TIMEOUT}s"
			console_tail "$base"
			exit 1
		fi
		sleep 0.05
	done
	# mod_posix writes the pid file; write it ourselves if it has not yet, so
	# that stop/status work from the moment we return.
	[[ -s $base/prosody.pid ]] || printf '%s\n' "$pid" >"$base/prosody.pid"
	printf '%s\n' "$pid"
}

cmd_stop() {
	local base pid config
	[[ -n ${1:-} ]] || usage
	[[ -d $1 ]] || return 0
	base=$(abs_base "$1")
	config=$(config_of "$base")
	pid=$(running_pid "$base") || return 0
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_gone "$pid" "$config" "$STOP_TIMEOUT"; then
		log "pid $pid ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		wait_gone "$pid" "$config" 5 || die "pid $pid survived SIGKILL"
	fi
	rm -f "$base/prosody.pid"
}

cmd_kill() {
	local base pid config
	[[ -n ${1:-} ]] || usage
	[[ -d $1 ]] || return 0
	base=$(abs_base "$1")
	config=$(config_of "$base")
	pid=$(running_pid "$base") || return 0
	kill -KILL "$pid" 2>/dev/null || true
	wait_gone "$pid" "$config" 5 || die "pid $pid survived SIGKILL"
	# Leave the stale pid file as a crash would; running_pid ignores it.
}

cmd_status() {
	local base
	[[ -n ${1:-} ]] || usage
	[[ -d $1 ]] || return 1
	base=$(abs_base "$1")
	running_pid "$base"
}

cmd_register() {
	local base domain
	[[ $# -eq 3 ]] || usage
	base=$(abs_base "$1")
	[[ -f $(config_of "$base") ]] || die "no config in $base; run start first"
	need_tools
	domain=$(base_domain "$base")
	[[ -n $domain ]] || die "cannot find the auth domain in $(config_of "$base")"
	register_user "$base" "$domain" "$2" "$3"
}

main() {
	local cmd=${1:-}
	[[ $# -gt 0 ]] && shift
	case $cmd in
	install) cmd_install ;;
	start) cmd_start "$@" ;;
	stop) cmd_stop "$@" ;;
	kill) cmd_kill "$@" ;;
	status) cmd_status "$@" ;;
	register) cmd_register "$@" ;;
	*) usage ;;
	esac
}

main "$@"
