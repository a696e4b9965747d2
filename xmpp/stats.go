package xmpp

// NSColibriStats is the namespace of the stats bridges (and Jigasi) publish
// in their brewery presence.
const NSColibriStats = "http://jitsi.org/protocol/colibri"

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
