package api

import (
	"net/http"
	"slices"
	"strings"

	"focal/actors/bridge"
	"focal/actors/conference"
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

// debugConferences lists the node's conferences as JSON. It asks the
// directory for its conferences, then each conference for a snapshot; a
// conference that ends meanwhile is left out.
func (cfg Config) debugConferences(w http.ResponseWriter, _ *http.Request) {
	res, err := cfg.Root.RequestFuture(cfg.Directory, &conference.ListConferences{}, cfg.RequestTimeout).Result()
	if err != nil {
		http.Error(w, "conference directory did not answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	list, _ := res.(*conference.Conferences)
	out := []conference.Snapshot{}
	if list != nil {
		for _, pid := range list.PIDs {
			snap, err := cfg.Root.RequestFuture(pid, &conference.GetSnapshot{}, cfg.RequestTimeout).Result()
			if s, ok := snap.(conference.Snapshot); ok && err == nil {
				out = append(out, s)
			}
		}
	}
	slices.SortFunc(out, func(a, b conference.Snapshot) int { return strings.Compare(a.Room, b.Room) })
	writeJSON(w, http.StatusOK, out)
}
