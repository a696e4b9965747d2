package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/directory"
	"focal/cluster"
	"focal/proto"
)

// A member whose directory answers gets its sorted room lists; one that
// cannot be reached gets an error instead, and does not hold the answer up
// beyond ClusterTimeout.
func TestClusterViewAsksEveryMembersDirectory(t *testing.T) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	defer system.Shutdown()
	dir, err := system.Root.SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*focalpb.ListRooms); ok {
			ctx.Respond(&focalpb.RoomList{Node: "a", Rooms: []string{"r2@conf", "r1@conf"}, Standby: []string{"s1@conf"}})
		}
	}), directory.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer system.Root.Stop(dir)

	members := []cluster.Member{
		{Name: "a", Addr: "127.0.0.1:7001", NodeMeta: cluster.NodeMeta{Remote: system.Address(), HTTP: "127.0.0.1:8001"}},
		{Name: "b", Addr: "127.0.0.1:7002", NodeMeta: cluster.NodeMeta{Remote: "127.0.0.1:9", HTTP: "127.0.0.1:8002", Draining: true}},
		{Name: "c", Addr: "127.0.0.1:7003"},
	}
	h := Handler(Config{
		Root:           system.Root,
		Cluster:        func() (string, []cluster.Member) { return "a", members },
		ComponentHeld:  func() bool { return false },
		ClusterTimeout: 200 * time.Millisecond,
	})

	start := time.Now()
	view := getClusterView(t, h, "/cluster")
	if took := time.Since(start); took > time.Second {
		t.Errorf("GET /cluster took %v with a timeout of 200ms", took)
	}
	if view.Self != "a" || view.Component || len(view.Members) != 3 {
		t.Fatalf("view = %+v", view)
	}
	a, b, c := view.Members[0], view.Members[1], view.Members[2]
	if a.Name != "a" || a.Addr != "127.0.0.1:7001" || a.Remote != system.Address() || a.HTTP != "127.0.0.1:8001" || a.Error != "" ||
		!slices.Equal(a.Rooms, []string{"r1@conf", "r2@conf"}) || !slices.Equal(a.Standby, []string{"s1@conf"}) {
		t.Errorf("answering member = %+v", a)
	}
	if b.Name != "b" || !b.Draining || b.Error == "" || b.Rooms != nil || b.Standby != nil {
		t.Errorf("unreachable member = %+v", b)
	}
	if c.Error != "no remote address" {
		t.Errorf("member without remote = %+v", c)
	}

	view = getClusterView(t, h, "/cluster?rooms=false")
	for _, m := range view.Members {
		if m.Rooms != nil || m.Error != "" {
			t.Errorf("?rooms=false: member %+v", m)
		}
	}
}

func TestClusterViewOutsideAClusterIsNotFound(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler(Config{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/cluster", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /cluster without a cluster = %d, want 404", rec.Code)
	}
}

func getClusterView(t *testing.T, h http.Handler, path string) ClusterView {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s = %d %s", path, rec.Code, rec.Body)
	}
	var v ClusterView
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return v
}
