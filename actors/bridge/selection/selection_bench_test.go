package selection

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"focal/xmpp"
)

var benchRegions = []string{"us-east", "us-west", "eu-central", "eu-west", "ap-south", "ap-northeast", "sa-east", "af-south"}

// benchSelector holds 1,000 bridges with varied stress, regions, drain and
// recent endpoints, a fifth of them overloaded.
func benchSelector(b *testing.B, strategy string) *Selector {
	b.Helper()
	cfg := cfgWith(func(c *Config) {
		c.SelectionStrategy = strategy
		c.Octo.Enabled = true
		c.LocalRegion = "us-east"
		c.RegionGroups = [][]string{{"us-east", "us-west"}, {"eu-central", "eu-west"}}
		c.MaxBridgeParticipantsPerInterval = 30
	})
	s := newSelector(b, cfg)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 1000 {
		jid := fmt.Sprintf("jvbbrewery@internal.auth.example.com/jvb-%04d", i)
		bridge, _ := s.Update(jid, t0,
			Stat{xmpp.StatStressLevel, strconv.FormatFloat(rng.Float64(), 'f', 3, 64)},
			Stat{xmpp.StatRegion, benchRegions[rng.IntN(len(benchRegions))]},
			Stat{xmpp.StatRelayID, fmt.Sprintf("jvb-%04d", i)},
			Stat{xmpp.StatVersion, "2.3.170"},
			Stat{xmpp.StatDrain, strconv.FormatBool(i%50 == 0)},
		)
		for range rng.IntN(4) {
			bridge.EndpointAdded(t0.Add(-time.Duration(rng.IntN(20)) * time.Second))
		}
	}
	return s
}

// benchConference uses three bridges, one of them hit by its per-interval
// cap; one bridge for the single strategy, which never uses more.
func benchConference(s *Selector, strategy string) ConferenceBridges {
	all := s.Bridges()
	if strategy == "single" {
		return in(all[10], 12)
	}
	conf := in(all[10], 12, all[500], 40, all[900], 3)
	return withAdded(conf, 1, 30, t0)
}

func BenchmarkSelect1000Bridges(b *testing.B) {
	for _, strategy := range allStrategies {
		for _, initial := range []bool{true, false} {
			name := strategy + "/join"
			if initial {
				name = strategy + "/first"
			}
			b.Run(name, func(b *testing.B) {
				s := benchSelector(b, strategy)
				var conf ConferenceBridges
				if !initial {
					conf = benchConference(s, strategy)
				}
				now := t0.Add(5 * time.Second)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.Select(conf, "eu-west", "", now); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkUpdateStats(b *testing.B) {
	s := benchSelector(b, "single")
	jids := make([]string, 0, s.Len())
	for _, br := range s.Bridges() {
		jids = append(jids, br.JID())
	}
	presence := []Stat{
		{xmpp.StatStressLevel, "0.4312"},
		{xmpp.StatAverageParticipantStress, "0.012"},
		{xmpp.StatRegion, "eu-west"},
		{xmpp.StatRelayID, "jvb-0001"},
		{xmpp.StatVersion, "2.3.170"},
		{xmpp.StatRelease, "9001"},
		{xmpp.StatDrain, "false"},
		{xmpp.StatGracefulShutdown, "false"},
		{xmpp.StatShuttingDown, "false"},
		{xmpp.StatHealthy, "true"},
		{"conferences", "17"},
		{"participants", "143"},
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Update(jids[i%len(jids)], t0, presence...)
		i++
	}
}
