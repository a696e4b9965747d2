package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/cluster"
	"focal/proto"
	"focal/xmpp"
)

// Config of the HTTP API.
type Config struct {
	Root           *actor.RootContext
	Ingress        *actor.PID
	Directory      *actor.PID // the node's conference directory, for debug views
	Bridges        *actor.PID // the node's brewery actor; nil without a brewery
	RequestTimeout time.Duration
	Version        string
	// Health returns nil when the node can serve conferences, or why not.
	Health func() error
	// ComponentHeld says whether this node holds the focus component stream
	// now (in a cluster exactly one node does); nil means it always does.
	ComponentHeld func() bool
	// Cluster returns this node's member name and the cluster's live
	// members. Nil means the node is not in a cluster: GET /cluster then
	// answers 404.
	Cluster func() (self string, members []cluster.Member)
	// ClusterTimeout bounds how long GET /cluster waits for each member's
	// room list (default 1 s).
	ClusterTimeout time.Duration
	// DebugTimeout bounds how long GET /debug/conferences waits for the
	// conferences' snapshots, all asked at once (default 1 s): one busy
	// conference must not stall the view of the others.
	DebugTimeout time.Duration
	// DebugMemory adds POST /debug/gc (a full collection, memory given
	// back, the figures after it) and the profiles; off by default.
	DebugMemory bool
	// Pprof serves Go's runtime profiles under /debug/pprof/ (off by
	// default: a profile costs the node CPU while it runs).
	Pprof  bool
	Logger *slog.Logger
}

// Handler returns the API's routes.
func Handler(cfg Config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/conference-request/v1", cfg.conferenceRequest)
	mux.HandleFunc("GET /about/version", cfg.version)
	mux.HandleFunc("GET /about/health", cfg.health)
	mux.HandleFunc("GET /debug/conferences", cfg.debugConferences)
	mux.HandleFunc("GET /debug/bridges", cfg.debugBridges)
	mux.HandleFunc("GET /cluster", cfg.cluster)
	cfg.debugRoutes(mux)
	return mux
}

func (cfg Config) conferenceRequest(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodOptions:
		w.Header().Set("Allow", "OPTIONS, POST")
		w.WriteHeader(http.StatusOK)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "OPTIONS, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	token := strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	req, err := ParseConferenceRequest(r.Body, token)
	if err != nil {
		http.Error(w, "Bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	res, err := cfg.Root.RequestFuture(cfg.Ingress, req, cfg.RequestTimeout).Result()
	if err != nil {
		cfg.Logger.Warn("conference request unanswered", "room", req.Room, "err", err)
		http.Error(w, "the conference did not answer in time", http.StatusInternalServerError)
		return
	}
	resp, ok := res.(*focalpb.ConferenceResponse)
	if !ok {
		http.Error(w, fmt.Sprintf("unexpected answer %T", res), http.StatusInternalServerError)
		return
	}
	if resp.Error != nil {
		status := http.StatusInternalServerError
		switch resp.Error.Condition {
		case xmpp.BadRequest, xmpp.NotAcceptable, xmpp.NotAllowed:
			status = http.StatusBadRequest
		case xmpp.NotAuthorized, xmpp.Forbidden:
			status = http.StatusForbidden
		}
		msg := resp.Error.Condition
		if resp.Error.Text != "" {
			msg += ": " + resp.Error.Text
		}
		if status == http.StatusBadRequest {
			msg = "Bad request: " + msg
		}
		http.Error(w, msg, status)
		return
	}
	writeJSON(w, http.StatusOK, ResponseOf(resp))
}

func (cfg Config) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{
		"name":    "focal",
		"version": cfg.Version,
		"os":      runtime.GOOS,
	})
}

func (cfg Config) health(w http.ResponseWriter, _ *http.Request) {
	if cfg.Health == nil {
		http.Error(w, "no health check configured", http.StatusServiceUnavailable)
		return
	}
	if err := cfg.Health(); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("OK\n"))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, errors.Join(errors.New("encode response"), err).Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}
