package api

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/directory"
	"focal/proto"
)

// defaultClusterTimeout is Config.ClusterTimeout's default.
const defaultClusterTimeout = time.Second

// ClusterView is the answer of GET /cluster: the cluster as this node sees
// it.
type ClusterView struct {
	Self string `json:"self"` // this node's member name
	// Component says whether this node holds the focus component stream.
	Component bool            `json:"component"`
	Members   []ClusterMember `json:"members"` // live members, by name
}

// ClusterMember is one live member: its gossip meta and, as its own
// directory tells over remote, the conferences it drives (Rooms) and those
// it stands by for (Standby). A member whose directory did not answer in
// time has Error set instead of Rooms and Standby.
type ClusterMember struct {
	Name     string   `json:"name"`
	Addr     string   `json:"addr"`   // gossip address
	Remote   string   `json:"remote"` // protoactor remote address
	HTTP     string   `json:"http"`   // HTTP API address
	Draining bool     `json:"draining"`
	Rooms    []string `json:"rooms"`
	Standby  []string `json:"standby"`
	Error    string   `json:"error,omitempty"`
}

// cluster answers GET /cluster. It asks every member's directory for its
// room list at once, so a member that does not answer costs one
// ClusterTimeout, not one per member. With ?rooms=false it asks nobody and
// answers membership alone, at once (rooms and standby are then null); with
// ?rooms=self it asks only this node's own directory, at once whatever the
// state of the others (a consistent snapshot of what this node drives).
func (cfg Config) cluster(w http.ResponseWriter, r *http.Request) {
	if cfg.Cluster == nil {
		http.Error(w, "not in a cluster (no --gossip)", http.StatusNotFound)
		return
	}
	self, members := cfg.Cluster()
	view := ClusterView{Self: self, Component: cfg.ComponentHeld == nil || cfg.ComponentHeld(), Members: make([]ClusterMember, len(members))}
	timeout := cfg.ClusterTimeout
	if timeout <= 0 {
		timeout = defaultClusterTimeout
	}
	which := r.URL.Query().Get("rooms")
	var wg sync.WaitGroup
	for i, m := range members {
		view.Members[i] = ClusterMember{Name: m.Name, Addr: m.Addr, Remote: m.Remote, HTTP: m.HTTP, Draining: m.Draining}
		if which != "false" && (which != "self" || m.Name == self) {
			wg.Go(func() { cfg.askRooms(&view.Members[i], timeout) })
		}
	}
	wg.Wait()
	writeJSON(w, http.StatusOK, view)
}

// askRooms fills in m's room lists from its directory, or why not.
func (cfg Config) askRooms(m *ClusterMember, timeout time.Duration) {
	if m.Remote == "" {
		m.Error = "no remote address"
		return
	}
	pid := actor.NewPID(m.Remote, directory.Name)
	res, err := cfg.Root.RequestFuture(pid, &focalpb.ListRooms{}, timeout).Result()
	if err != nil {
		m.Error = fmt.Sprintf("directory did not answer: %v", err)
		return
	}
	list, ok := res.(*focalpb.RoomList)
	if !ok {
		m.Error = fmt.Sprintf("directory answered %T, not a room list", res)
		return
	}
	m.Rooms = sortedCopy(list.GetRooms())
	m.Standby = sortedCopy(list.GetStandby())
}

// sortedCopy returns s sorted, and empty rather than nil, so that JSON
// tells an answer with no rooms from no answer.
func sortedCopy(s []string) []string {
	out := append(make([]string, 0, len(s)), s...)
	slices.Sort(out)
	return out
}
