package bridgesim

import (
	"fmt"
	"strconv"

	"focal/xmpp"
)

// statOrder is the order stats are written in presence.
var statOrder = []string{
	xmpp.StatStressLevel, xmpp.StatAverageParticipantStress, xmpp.StatRegion, xmpp.StatRelayID, xmpp.StatVersion,
	xmpp.StatDrain, xmpp.StatGracefulShutdown, xmpp.StatShuttingDown, xmpp.StatHealthy,
}

// Stats is what the bridge tells the focus about itself. The zero value is an
// idle, healthy, running bridge with no region and no relay id.
type Stats struct {
	StressLevel              float64
	AverageParticipantStress float64
	Region                   string // omitted from presence when empty
	RelayID                  string // omitted when empty: the bridge cannot be cascaded
	Version                  string // omitted when empty
	Drain                    bool
	GracefulShutdown         bool // new conferences are refused with reason graceful_shutdown
	ShuttingDown             bool // likewise; a focus moves conferences away
	// Unhealthy fails health checks and is published as healthy=false.
	Unhealthy bool
}

// Map returns the stats as the name → value pairs of the presence; empty
// strings are left out.
func (s Stats) Map() map[string]string {
	m := map[string]string{
		xmpp.StatStressLevel:              formatFloat(s.StressLevel),
		xmpp.StatAverageParticipantStress: formatFloat(s.AverageParticipantStress),
		xmpp.StatDrain:                    strconv.FormatBool(s.Drain),
		xmpp.StatGracefulShutdown:         strconv.FormatBool(s.GracefulShutdown),
		xmpp.StatShuttingDown:             strconv.FormatBool(s.ShuttingDown),
		xmpp.StatHealthy:                  strconv.FormatBool(!s.Unhealthy),
	}
	for name, v := range map[string]string{xmpp.StatRegion: s.Region, xmpp.StatRelayID: s.RelayID, xmpp.StatVersion: s.Version} {
		if v != "" {
			m[name] = v
		}
	}
	return m
}

// Element returns <stats xmlns='http://jitsi.org/protocol/colibri'> with one
// <stat name value/> per published stat.
func (s Stats) Element() *xmpp.Element {
	m := s.Map()
	names := make([]string, 0, len(m))
	for _, n := range statOrder {
		if _, ok := m[n]; ok {
			names = append(names, n)
		}
	}
	return xmpp.StatsElement(names, m)
}

// Set changes the stat name to value, parsed as a presence would carry it
// (floats for stresses, booleans for flags). "stress" is accepted for
// stress_level.
func (s *Stats) Set(name, value string) error {
	var err error
	switch name {
	case xmpp.StatStressLevel, "stress":
		s.StressLevel, err = strconv.ParseFloat(value, 64)
	case xmpp.StatAverageParticipantStress:
		s.AverageParticipantStress, err = strconv.ParseFloat(value, 64)
	case xmpp.StatRegion:
		s.Region = value
	case xmpp.StatRelayID:
		s.RelayID = value
	case xmpp.StatVersion:
		s.Version = value
	case xmpp.StatDrain:
		s.Drain, err = strconv.ParseBool(value)
	case xmpp.StatGracefulShutdown:
		s.GracefulShutdown, err = strconv.ParseBool(value)
	case xmpp.StatShuttingDown:
		s.ShuttingDown, err = strconv.ParseBool(value)
	case xmpp.StatHealthy:
		var healthy bool
		healthy, err = strconv.ParseBool(value)
		s.Unhealthy = !healthy
	default:
		return fmt.Errorf("unknown stat %q", name)
	}
	if err != nil {
		return fmt.Errorf("stat %s: %w", name, err)
	}
	return nil
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
