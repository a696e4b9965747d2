package selection

import "testing"

func TestStatsApplyMergesOneStatAtATime(t *testing.T) {
	cases := []struct {
		name  string
		start Stats
		stats []Stat
		want  Stats
	}{
		{"stress", Stats{}, []Stat{{StatStressLevel, "0.25"}}, Stats{StressLevel: 0.25}},
		{"unparsable stress is ignored", Stats{StressLevel: 0.3}, []Stat{{StatStressLevel, "high"}}, Stats{StressLevel: 0.3}},
		{"non-finite stress is ignored", Stats{StressLevel: 0.3}, []Stat{{StatStressLevel, "NaN"}, {StatStressLevel, "+Inf"}}, Stats{StressLevel: 0.3}},
		{"average participant stress", Stats{}, []Stat{{StatAverageParticipantStress, "0.02"}}, Stats{AverageParticipantStress: 0.02}},
		{"strings", Stats{}, []Stat{{StatRegion, "eu-west"}, {StatRelayID, "jvb1"}, {StatVersion, "2.3"}, {StatRelease, "7"}},
			Stats{Region: "eu-west", RelayID: "jvb1", Version: "2.3", Release: "7"}},
		{"drain switches both ways", Stats{Drain: true}, []Stat{{StatDrain, "false"}}, Stats{}},
		{"drain is case-insensitive", Stats{}, []Stat{{StatDrain, "TRUE"}}, Stats{Drain: true}},
		{"graceful shutdown only switches on", Stats{GracefulShutdown: true}, []Stat{{StatGracefulShutdown, "false"}}, Stats{GracefulShutdown: true}},
		{"graceful shutdown", Stats{}, []Stat{{StatGracefulShutdown, "true"}}, Stats{GracefulShutdown: true}},
		{"shutting down only switches on", Stats{ShuttingDown: true}, []Stat{{StatShuttingDown, "false"}}, Stats{ShuttingDown: true}},
		{"healthy", Stats{Healthy: true}, []Stat{{StatHealthy, "false"}}, Stats{}},
		{"unknown names are ignored", Stats{StressLevel: 0.1}, []Stat{{"conferences", "12"}, {"colibri2", "true"}}, Stats{StressLevel: 0.1}},
		{"absent stats keep their values", Stats{Region: "r", StressLevel: 0.1}, []Stat{{StatStressLevel, "0.2"}}, Stats{Region: "r", StressLevel: 0.2}},
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
