package visitors

import (
	"testing"
	"time"
)

func twoNodes() Config {
	node := func(id string) Node {
		return Node{ID: id, Host: "127.0.0.1", Port: 5222, Domain: id + ".meet.jitsi",
			MUC: "conference." + id + ".meet.jitsi", User: "focus@auth." + id + ".meet.jitsi", Password: "p"}
	}
	return Config{Enabled: true, MaxParticipants: 3, MaxVisitorsPerNode: 2, Nodes: []Node{node("v1"), node("v2")}}
}

func TestRedirectDecision(t *testing.T) {
	cfg := twoNodes()
	supported := Request{Supported: true}
	cases := []struct {
		name string
		cfg  Config
		room Room
		req  Request
		want bool
	}{
		{"below the limit", cfg, Room{MainParticipants: 2}, supported, false},
		{"limit reached", cfg, Room{MainParticipants: 3}, supported, true},
		{"client without visitors-version", cfg, Room{MainParticipants: 9}, Request{AsksVisitor: true}, false},
		{"asks to be a visitor", cfg, Room{}, Request{Supported: true, AsksVisitor: true}, true},
		{"visitor rooms exist", cfg, Room{Used: []Usage{{Node: "v1"}}}, supported, true},
		{"soft limit from metadata", cfg, Room{MainParticipants: 1, SoftLimit: 1}, supported, true},
		{"soft limit above the config", cfg, Room{MainParticipants: 3, SoftLimit: 10}, supported, false},
		{"lobby on", cfg, Room{MainParticipants: 9, LobbyEnabled: true}, Request{Supported: true, AsksVisitor: true}, false},
		{"visitorsEnabled=false", cfg, Room{MainParticipants: 9, VisitorsDisabled: true}, supported, false},
		{"breakout room", cfg, Room{Breakout: true, Used: []Usage{{Node: "v1"}}}, Request{Supported: true, AsksVisitor: true}, false},
		{"disabled", Config{Nodes: cfg.Nodes}, Room{MainParticipants: 9}, Request{Supported: true, AsksVisitor: true}, false},
		{"default limit is 50", Config{Enabled: true, Nodes: cfg.Nodes}, Room{MainParticipants: 49}, supported, false},
		{"default limit reached", Config{Enabled: true, Nodes: cfg.Nodes}, Room{MainParticipants: 50}, supported, true},
		{"listed in the allow-lists, room full", cfg, Room{MainParticipants: 9, Used: []Usage{{Node: "v1"}}}, Request{Supported: true, Listed: true}, false},
		{"listed but asks to be a visitor", cfg, Room{}, Request{Supported: true, Listed: true, AsksVisitor: true}, true},
		{"not in the participants list", cfg, Room{}, Request{Supported: true, NotAllowed: true}, true},
	}
	for _, tc := range cases {
		if got := tc.cfg.Redirect(tc.room, tc.req); got != tc.want {
			t.Errorf("%s: Redirect = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestChooseNode(t *testing.T) {
	cfg := twoNodes() // at most 2 visitors per node
	now := time.Unix(1000, 0)
	recent, old := now.Add(-10*time.Second), now.Add(-61*time.Second)
	cases := []struct {
		name string
		used []Usage
		want string
	}{
		{"nothing used: the first node", nil, "v1"},
		{"a used node with room", []Usage{{Node: "v2", Visitors: 1}}, "v2"},
		{"the used node is full: an unused one", []Usage{{Node: "v1", Visitors: 2}}, "v2"},
		{"recent redirects count", []Usage{{Node: "v1", Visitors: 1, Redirects: []time.Time{recent}}}, "v2"},
		{"old redirects do not", []Usage{{Node: "v1", Visitors: 1, Redirects: []time.Time{old}}}, "v1"},
		{"the fewest visitors", []Usage{{Node: "v1", Visitors: 1}, {Node: "v2", Visitors: 0}}, "v2"},
		{"all full: the least full", []Usage{{Node: "v1", Visitors: 5}, {Node: "v2", Visitors: 3}}, "v2"},
		{"an unconfigured node is not chosen", []Usage{{Node: "gone", Visitors: 0}}, "v1"},
	}
	for _, tc := range cases {
		got, ok := cfg.ChooseNode(tc.used, now)
		if !ok || got != tc.want {
			t.Errorf("%s: ChooseNode = %q %v, want %q", tc.name, got, ok, tc.want)
		}
	}
	if _, ok := (Config{Enabled: true}).ChooseNode(nil, now); ok {
		t.Error("ChooseNode without nodes chose one")
	}
}

func TestPruneKeepsRecentRedirects(t *testing.T) {
	cfg := twoNodes()
	now := time.Unix(1000, 0)
	got := cfg.Prune([]time.Time{now.Add(-2 * time.Minute), now.Add(-time.Second)}, now)
	if len(got) != 1 || !got[0].Equal(now.Add(-time.Second)) {
		t.Errorf("Prune kept %v", got)
	}
}

func TestValidate(t *testing.T) {
	good := twoNodes()
	if err := good.Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	bad := []func(*Config){
		func(c *Config) { c.Nodes = nil },
		func(c *Config) { c.Nodes[1].ID = "v1" },
		func(c *Config) { c.Nodes[0].ID = "v.1" },
		func(c *Config) { c.Nodes[0].Port = 0 },
		func(c *Config) { c.Nodes[0].MUC = "" },
		func(c *Config) { c.Nodes[0].User = "focus" },
		func(c *Config) { c.MaxParticipants = -1 },
	}
	for i, mutate := range bad {
		c := twoNodes()
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("case %d: invalid config accepted", i)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("a disabled empty config is valid: %v", err)
	}
}
