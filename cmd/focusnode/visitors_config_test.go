package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"focal/visitors"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "focal.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVisitorsSectionOfTheConfigFile(t *testing.T) {
	path := writeConfig(t, `domain: meet.jitsi
visitors:
  enabled: true
  max-visitors-per-node: 200
  join-latency: 30s
  nodes:
    - id: v1
      host: 127.0.0.1
      port: 15222
      domain: v1.meet.jitsi
      muc: conference.v1.meet.jitsi
      user: focus@auth.v1.meet.jitsi
      password: secret
`)
	c, err := parseConfig([]string{"--config", path}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := visitors.Config{Enabled: true, MaxParticipants: visitors.DefaultMaxParticipants, MaxVisitorsPerNode: 200,
		JoinLatency: 30 * time.Second, Nodes: []visitors.Node{{ID: "v1", Host: "127.0.0.1", Port: 15222,
			Domain: "v1.meet.jitsi", MUC: "conference.v1.meet.jitsi", User: "focus@auth.v1.meet.jitsi", Password: "secret"}}}
	got := c.Visitors
	if got.Enabled != want.Enabled || got.MaxParticipants != want.MaxParticipants || got.MaxVisitorsPerNode != want.MaxVisitorsPerNode ||
		got.JoinLatency != want.JoinLatency || len(got.Nodes) != 1 || got.Nodes[0] != want.Nodes[0] {
		t.Errorf("visitors config %+v, want %+v", got, want)
	}
	if c.Domain != "meet.jitsi" {
		t.Errorf("the flat keys next to the section: domain %q", c.Domain)
	}
}

func TestVisitorsSectionErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"visitors:\n  enabled: true\n  nodez: []\n", "nodez"},
		{"visitors:\n  enabled: true\n", "without nodes"},
		{"visitors:\n  enabled: true\n  nodes:\n    - id: v1\n      host: h\n      port: 1\n      domain: d\n      muc: m\n      user: focus\n      password: p\n", "user"},
		{"visitors: [1]\n", "visitors"},
	} {
		_, err := parseConfig([]string{"--config", writeConfig(t, tc.text)}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error about %q", tc.text, err, tc.want)
		}
	}
}
