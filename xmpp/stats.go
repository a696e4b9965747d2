package xmpp

// NSColibriStats is the namespace of the stats bridges (and Jigasi) publish
// in their brewery presence.
const NSColibriStats = "http://jitsi.org/protocol/colibri"

// Names of the stats a bridge publishes in its brewery presence that a focus
// reads to select, drain and move bridges. They are wire vocabulary shared by
// the selector and the simulated bridge, so they live here, once.
const (
	// StatStressLevel is the bridge's own load estimate; 1 means full.
	StatStressLevel = "stress_level"
	// StatAverageParticipantStress is the stress one more endpoint adds.
	StatAverageParticipantStress = "average_participant_stress"
	// StatRegion is where the bridge runs.
	StatRegion = "region"
	// StatRelayID is the bridge's id for bridge-to-bridge relays (Octo);
	// absent when the bridge cannot relay.
	StatRelayID = "relay_id"
	// StatVersion and StatRelease identify the bridge's build.
	StatVersion = "version"
	StatRelease = "release"
	// StatDrain asks the focus not to put new conferences on the bridge.
	StatDrain = "drain"
	// StatGracefulShutdown says the bridge is winding down.
	StatGracefulShutdown = "graceful_shutdown"
	// StatShuttingDown says the bridge is about to stop.
	StatShuttingDown = "shutting_down"
	// StatHealthy is the bridge's own health report.
	StatHealthy = "healthy"
)

// ParseStats returns the name → value pairs of the <stats/> child of a
// presence, and false when it has none (the occupant is not a bridge).
func ParseStats(presence *Element) (map[string]string, bool) {
	stats := presence.Child(NSColibriStats, "stats")
	if stats == nil {
		return nil, false
	}
	out := make(map[string]string, len(stats.Children))
	for _, s := range stats.ChildrenNamed(NSColibriStats, "stat") {
		if name := s.AttrValue("name"); name != "" {
			out[name] = s.AttrValue("value")
		}
	}
	return out, true
}

// StatsElement builds a <stats/> element from name → value pairs, in the
// order of names.
func StatsElement(names []string, values map[string]string) *Element {
	el := NewElement(NSColibriStats, "stats")
	for _, n := range names {
		el.Append(NewElement(NSColibriStats, "stat", "name", n, "value", values[n]))
	}
	return el
}
