package selection

import "testing"

func TestSplitSpreadsConferenceOverAllBridges(t *testing.T) {
	cfg := cfgWith(func(c *Config) { c.SelectionStrategy = "split" })
	sel := newSelector(t, cfg,
		spec{jid: "jvb1", stress: 0.2, region: "r1"},
		spec{jid: "jvb2", stress: 0.5, region: "r2"},
		spec{jid: "jvb3", stress: 0.1, region: "r3"},
	)
	jvb1, jvb2, jvb3 := sel.Get("jvb1"), sel.Get("jvb2"), sel.Get("jvb3")
	cases := []struct {
		name string
		conf ConferenceBridges
		want *Bridge
	}{
		{"first participant: least loaded", nil, jvb3},
		{"a bridge not yet used", in(jvb1, 1), jvb3},
		{"the last bridge not yet used", in(jvb1, 1, jvb3, 1), jvb2},
		{"all used: fewest participants", in(jvb1, 1, jvb2, 2, jvb3, 3), jvb1},
		{"all used, tie: first listed", in(jvb2, 2, jvb3, 1, jvb1, 1), jvb3},
	}
	for _, c := range cases {
		got, err := sel.Select(c.conf, "", "", t0)
		if err != nil || got != c.want {
			t.Errorf("%s: got %s, %v; want %s", c.name, jidOf(got), err, c.want)
		}
	}
	sel.Remove("jvb1")
	got, err := sel.Select(in(jvb1, 1, jvb2, 2, jvb3, 3), "", "", t0)
	if err != nil || got != jvb2 {
		t.Errorf("after removing jvb1: got %s, %v; want jvb2", jidOf(got), err)
	}
}
