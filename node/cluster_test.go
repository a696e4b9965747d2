package node_test

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"focal/api"
	"focal/node"
	"focal/xmpp"
)

// A clustered node alone: it is healthy and serves conferences, lists itself
// in /cluster with the addresses it advertises, and leaves no goroutine of
// gossip, remote or gRPC behind when it stops (TestMain's goleak check).
// Clusters of several nodes are tested with separate processes in
// internal/clustertest: protoactor's remote sets gRPC's global logger on
// every start, which races when several start in one process.
func TestClusteredNodeAloneServesAndListsItself(t *testing.T) {
	h := newHarness(t, func(c *node.Config) {
		c.Node = "solo"
		c.Gossip = "127.0.0.1:0"
		c.Remote = "127.0.0.1:0"
		c.ClusterSize = 1
	})
	ctx := testContext(t, 30*time.Second)

	resp, err := http.Get("http://" + h.node.HTTPAddr() + "/about/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("health = %d, want 200", resp.StatusCode)
	}

	alice := h.client(ctx)
	room := h.room("clustered")
	res, err := alice.RequestConference(ctx, h.component(), xmpp.ConferenceIQ{Room: room})
	if err != nil || !res.Ready {
		t.Fatalf("conference request: %+v, %v", res, err)
	}

	var view api.ClusterView
	h.getJSON(ctx, "/cluster", &view)
	if view.Self != "solo" || !view.Component || len(view.Members) != 1 {
		t.Fatalf("/cluster = %+v, want solo alone, holding the component", view)
	}
	m := view.Members[0]
	if m.Name != "solo" || m.HTTP != h.node.HTTPAddr() || !strings.HasPrefix(m.Remote, "127.0.0.1:") || strings.HasSuffix(m.Remote, ":0") ||
		!strings.HasPrefix(m.Addr, "127.0.0.1:") || m.Draining {
		t.Errorf("member = %+v", m)
	}
	// Alone, the node owns every room; its directory answers over remote.
	if m.Error != "" || !slices.Equal(m.Rooms, []string{room}) || len(m.Standby) != 0 {
		t.Errorf("member %s: rooms %v, standby %v, error %q; want rooms [%s]", m.Name, m.Rooms, m.Standby, m.Error, room)
	}
}

// A clustered node whose remote or gossip address is taken fails to start,
// with an error naming it, and leaves nothing running (TestMain's goleak
// check).
func TestClusteredNodeStartFailsCleanlyOnBusyAddresses(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		name, gossip, remote, want string
	}{
		{"remote", "127.0.0.1:0", busy.Addr().String(), "remote"},
		{"gossip", busy.Addr().String(), "127.0.0.1:0", "gossip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := node.Defaults()
			cfg.Domain, cfg.Secret, cfg.UserDomain, cfg.UserPassword = "meet.jitsi", "s", "auth.meet.jitsi", "pw"
			cfg.HTTP = "127.0.0.1:0"
			cfg.Logger = slog.New(slog.DiscardHandler)
			cfg.Node, cfg.Gossip, cfg.Remote, cfg.ClusterSize = "busy", tc.gossip, tc.remote, 1
			n, err := node.Start(cfg)
			if err == nil {
				t.Fatalf("started on a busy %s address", tc.name)
			}
			if n != nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Start = %v, %v; want an error naming %s", n, err, tc.want)
			}
		})
	}
}

func TestClusterSettingsAreChecked(t *testing.T) {
	cases := []struct {
		name string
		tune func(*node.Config)
		want string
	}{
		{"remote missing", func(c *node.Config) { c.Gossip = "127.0.0.1:7946" }, "--remote"},
		{"gossip hostname", func(c *node.Config) { c.Gossip, c.Remote = "localhost:7946", "127.0.0.1:8000" }, "--gossip"},
		{"gossip unspecified", func(c *node.Config) { c.Gossip, c.Remote = "0.0.0.0:7946", "127.0.0.1:8000" }, "--gossip"},
		{"remote without port", func(c *node.Config) { c.Gossip, c.Remote = "127.0.0.1:7946", "127.0.0.1" }, "--remote"},
		{"join hostname", func(c *node.Config) {
			c.Gossip, c.Remote, c.Join = "127.0.0.1:7946", "127.0.0.1:8000", []string{"127.0.0.2:7946", "peer:7946"}
		}, "--join"},
		{"join port 0", func(c *node.Config) {
			c.Gossip, c.Remote, c.Join = "127.0.0.1:7946", "127.0.0.1:8000", []string{"127.0.0.2:0"}
		}, "--join"},
		{"join without gossip", func(c *node.Config) { c.Join = []string{"127.0.0.2:7946"} }, "--join"},
		{"remote without gossip", func(c *node.Config) { c.Remote = "127.0.0.1:8000" }, "--remote"},
		{"cluster size missing", func(c *node.Config) {
			c.Gossip, c.Remote, c.Join = "127.0.0.1:7946", "127.0.0.1:8000", []string{"127.0.0.2:7946"}
		}, "--cluster_size"},
		{"more peers than the cluster size", func(c *node.Config) {
			c.Gossip, c.Remote, c.Join, c.ClusterSize = "127.0.0.1:7946", "127.0.0.1:8000", []string{"127.0.0.2:7946", "127.0.0.3:7946"}, 2
		}, "--cluster_size"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := node.Defaults()
			c.Domain, c.Secret, c.UserDomain, c.UserPassword = "meet.jitsi", "s", "auth.meet.jitsi", "pw"
			tc.tune(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("validate = %v, want an error naming %s", err, tc.want)
			}
			if (tc.name == "remote missing" || tc.name == "cluster size missing") && !errors.As(err, new(node.MissingFlagError)) {
				t.Errorf("missing --remote is %T, want a MissingFlagError", err)
			}
		})
	}

	c := node.Defaults()
	c.Domain, c.Secret, c.UserDomain, c.UserPassword = "meet.jitsi", "s", "auth.meet.jitsi", "pw"
	c.Gossip, c.Remote, c.Join, c.ClusterSize = "127.0.0.1:7946", "[::1]:8000", []string{"127.0.0.2:7946"}, 3
	if err := c.Validate(); err != nil {
		t.Fatalf("valid cluster settings: %v", err)
	}
	if c.Node == "" {
		t.Error("no default node name")
	}
}
