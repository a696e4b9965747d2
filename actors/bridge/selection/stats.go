package selection

import (
	"math"
	"strconv"
	"strings"

	"focal/xmpp"
)

// Stat is one <stat name='…' value='…'/> from the colibri stats element a
// bridge puts in its brewery presence.
type Stat struct {
	Name, Value string
}

// Stats is what the selector knows of a bridge from its presence.
type Stats struct {
	// StressLevel is the bridge's own load estimate; 1 means full, though
	// higher values occur.
	StressLevel float64
	// AverageParticipantStress is the stress one more endpoint adds. Zero or
	// less means the bridge did not say, and Config.AverageParticipantStress
	// applies.
	AverageParticipantStress float64
	// Drain means the bridge asks not to be given new conferences.
	Drain bool
	// GracefulShutdown means the bridge is winding down; it is used only when
	// no other bridge is left.
	GracefulShutdown bool
	// ShuttingDown means the bridge is about to stop; it is never selected,
	// and its conferences should move.
	ShuttingDown bool
	// Healthy is the bridge's own health report (for presence-based health
	// checks; selection does not read it).
	Healthy bool
	// Region is where the bridge runs; empty when unknown.
	Region string
	// RelayID is the bridge's id for bridge-to-bridge relays; empty when the
	// bridge cannot relay, which keeps a conference on one bridge.
	RelayID string
	// Version and Release identify the bridge's build; see Bridge.FullVersion.
	Version, Release string
}

// DefaultStats is what a bridge is assumed to be before its first presence:
// healthy and draining, so that it is not preferred before it says it may be.
func DefaultStats() Stats {
	return Stats{Drain: true, Healthy: true}
}

// Apply merges one reported stat, named by an xmpp.Stat* constant, into s;
// other names are ignored. A stat that is absent leaves the field as it was;
// numbers that do not parse (or are not finite) are ignored;
// booleans are true only for "true" in any case. graceful_shutdown and
// shutting_down only ever switch on: a bridge leaves those states by leaving
// the brewery.
func (s *Stats) Apply(st Stat) {
	switch st.Name {
	case xmpp.StatStressLevel:
		if v, ok := parseFinite(st.Value); ok {
			s.StressLevel = v
		}
	case xmpp.StatAverageParticipantStress:
		if v, ok := parseFinite(st.Value); ok {
			s.AverageParticipantStress = v
		}
	case xmpp.StatRegion:
		s.Region = st.Value
	case xmpp.StatRelayID:
		s.RelayID = st.Value
	case xmpp.StatVersion:
		s.Version = st.Value
	case xmpp.StatRelease:
		s.Release = st.Value
	case xmpp.StatDrain:
		s.Drain = isTrue(st.Value)
	case xmpp.StatGracefulShutdown:
		if isTrue(st.Value) {
			s.GracefulShutdown = true
		}
	case xmpp.StatShuttingDown:
		if isTrue(st.Value) {
			s.ShuttingDown = true
		}
	case xmpp.StatHealthy:
		s.Healthy = isTrue(st.Value)
	}
}

func parseFinite(s string) (float64, bool) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

func isTrue(s string) bool { return strings.EqualFold(strings.TrimSpace(s), "true") }
