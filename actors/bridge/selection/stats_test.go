package selection

import (
	"testing"

	"focal/xmpp"
)

func TestStatsApplyMergesOneStatAtATime(t *testing.T) {
	cases := []struct {
		name  string
		start Stats
		stats []Stat
		want  Stats
	}{
		{"stress", Stats{}, []Stat{{xmpp.StatStressLevel, "0.25"}}, Stats{StressLevel: 0.25}},
		{"unparsable stress is ignored", Stats{StressLevel: 0.3}, []Stat{{xmpp.StatStressLevel, "high"}}, Stats{StressLevel: 0.3}},
		{"non-finite stress is ignored", Stats{StressLevel: 0.3}, []Stat{{xmpp.StatStressLevel, "NaN"}, {xmpp.StatStressLevel, "+Inf"}}, Stats{StressLevel: 0.3}},
		{"average participant stress", Stats{}, []Stat{{xmpp.StatAverageParticipantStress, "0.02"}}, Stats{AverageParticipantStress: 0.02}},
		{"strings", Stats{}, []Stat{{xmpp.StatRegion, "eu-west"}, {xmpp.StatRelayID, "jvb1"}, {xmpp.StatVersion, "2.3"}, {xmpp.StatRelease, "7"}},
			Stats{Region: "eu-west", RelayID: "jvb1", Version: "2.3", Release: "7"}},
		{"drain switches both ways", Stats{Drain: true}, []Stat{{xmpp.StatDrain, "false"}}, Stats{}},
		{"drain is case-insensitive", Stats{}, []Stat{{xmpp.StatDrain, "TRUE"}}, Stats{Drain: true}},
		{"graceful shutdown only switches on", Stats{GracefulShutdown: true}, []Stat{{xmpp.StatGracefulShutdown, "false"}}, Stats{GracefulShutdown: true}},
		{"graceful shutdown", Stats{}, []Stat{{xmpp.StatGracefulShutdown, "true"}}, Stats{GracefulShutdown: true}},
		{"shutting down only switches on", Stats{ShuttingDown: true}, []Stat{{xmpp.StatShuttingDown, "false"}}, Stats{ShuttingDown: true}},
		{"healthy", Stats{Healthy: true}, []Stat{{xmpp.StatHealthy, "false"}}, Stats{}},
		{"unknown names are ignored", Stats{StressLevel: 0.1}, []Stat{{"conferences", "12"}, {"colibri2", "true"}}, Stats{StressLevel: 0.1}},
		{"absent stats keep their values", Stats{Region: "r", StressLevel: 0.1}, []Stat{{xmpp.StatStressLevel, "0.2"}}, Stats{Region: "r", StressLevel: 0.2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := c.start
			for _, st := range c.stats {
				s.Apply(st)
			}
			if s != c.want {
				t.Errorf("got %+v, want %+v", s, c.want)
			}
		})
	}
}

func TestDefaultStatsAreDrainingAndHealthy(t *testing.T) {
	if s := DefaultStats(); !s.Drain || !s.Healthy || s.GracefulShutdown || s.ShuttingDown {
		t.Fatalf("DefaultStats() = %+v", s)
	}
}
