package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/bridge"
	"focal/actors/conference"
	"focal/actors/directory"
)

// debugBridges lists the bridges the node knows, as the selector sees them.
func (cfg Config) debugBridges(w http.ResponseWriter, _ *http.Request) {
	if cfg.Bridges == nil {
		writeJSON(w, http.StatusOK, []bridge.Snapshot{})
		return
	}
	res, err := cfg.Root.RequestFuture(cfg.Bridges, &bridge.ListBridges{}, cfg.RequestTimeout).Result()
	if err != nil {
		http.Error(w, "brewery did not answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// debugConferences lists the node's conferences as JSON, in room order.
// It asks the directory for its conferences, then every conference at
// once for a snapshot, and waits DebugTimeout for them: one that has not
// answered by then is listed by room with "unanswered" set; one that ended
// meanwhile is left out.
func (cfg Config) debugConferences(w http.ResponseWriter, _ *http.Request) {
	res, err := cfg.Root.RequestFuture(cfg.Directory, &directory.ListConferences{}, cfg.RequestTimeout).Result()
	if err != nil {
		http.Error(w, "conference directory did not answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	list, _ := res.(*directory.Conferences)
	timeout := cfg.DebugTimeout
	if timeout <= 0 {
		timeout = time.Second
	}
	futures := map[string]*actor.Future{}
	if list != nil {
		for room, pid := range list.Rooms {
			futures[room] = cfg.Root.RequestFuture(pid, &conference.GetSnapshot{}, timeout)
		}
	}
	out := []conference.Snapshot{}
	for room, f := range futures {
		snap, err := f.Result()
		switch s, ok := snap.(conference.Snapshot); {
		case ok && err == nil:
			out = append(out, s)
		case errors.Is(err, actor.ErrTimeout):
			out = append(out, conference.Snapshot{Room: room, Unanswered: true})
		}
	}
	slices.SortFunc(out, func(a, b conference.Snapshot) int { return strings.Compare(a.Room, b.Room) })
	writeJSON(w, http.StatusOK, out)
}
