package selection

import (
	"fmt"
	"time"
)

// Event says what an Update changed.
type Event int

const (
	// Updated: a known bridge's stats were merged.
	Updated Event = iota
	// Added: the bridge was new.
	Added
	// EnteredShuttingDown: a known bridge started shutting down; its
	// conferences should move.
	EnteredShuttingDown
)

func (e Event) String() string {
	switch e {
	case Updated:
		return "updated"
	case Added:
		return "added"
	case EnteredShuttingDown:
		return "entered-shutting-down"
	}
	return fmt.Sprintf("Event(%d)", int(e))
}

// Selector owns the known bridges and picks one per new participant. It is
// meant to be owned by one actor: it has no locks and is not safe for
// concurrent use; each call takes the current time instead of reading a
// clock.
type Selector struct {
	cfg      Config
	strategy Strategy
	name     string
	byJID    map[string]*Bridge
	all      []*Bridge
	scratch  []*Bridge // candidates of the current Select, reused
}

// New validates cfg and returns an empty Selector using the strategy it
// names.
func New(cfg Config) (*Selector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.RegionGroups = cloneGroups(cfg.RegionGroups)
	strategy, name, err := newStrategy(cfg)
	if err != nil {
		return nil, fmt.Errorf("bridge selection config: %w", err)
	}
	return &Selector{cfg: cfg, strategy: strategy, name: name, byJID: make(map[string]*Bridge)}, nil
}

func cloneGroups(groups [][]string) [][]string {
	if groups == nil {
		return nil
	}
	out := make([][]string, len(groups))
	for i, g := range groups {
		out[i] = append([]string(nil), g...)
	}
	return out
}

// Config returns the configuration in use.
func (s *Selector) Config() Config { return s.cfg }

// Strategy returns the Jicofo class name of the strategy in use.
func (s *Selector) Strategy() string { return s.name }

// Update merges the stats of a brewery presence into the bridge with this
// occupant JID, adding the bridge if it is new, and says what changed.
func (s *Selector) Update(jid string, now time.Time, stats ...Stat) (*Bridge, Event) {
	b, ok := s.byJID[jid]
	ev := Updated
	if !ok {
		b = NewBridge(jid, &s.cfg)
		b.slot = len(s.all)
		s.byJID[jid] = b
		s.all = append(s.all, b)
		ev = Added
	}
	wasShuttingDown := b.stats.ShuttingDown
	for _, st := range stats {
		b.stats.Apply(st)
	}
	b.statsAt = now
	if ev == Updated && !wasShuttingDown && b.stats.ShuttingDown {
		ev = EnteredShuttingDown
	}
	return b, ev
}

// Remove forgets the bridge (its occupant left the brewery) and returns it,
// or nil if unknown. A removed bridge that was in neither graceful shutdown
// nor shutting down was lost.
func (s *Selector) Remove(jid string) *Bridge {
	b, ok := s.byJID[jid]
	if !ok {
		return nil
	}
	delete(s.byJID, jid)
	last := len(s.all) - 1
	s.all[b.slot] = s.all[last]
	s.all[b.slot].slot = b.slot
	s.all[last] = nil
	s.all = s.all[:last]
	b.slot = -1
	return b
}

// Get returns the bridge with this occupant JID, or nil.
func (s *Selector) Get(jid string) *Bridge { return s.byJID[jid] }

// MarkFailed marks the bridge non-operational from now for
// FailureResetThreshold; false if the bridge is unknown.
func (s *Selector) MarkFailed(jid string, now time.Time) bool {
	b, ok := s.byJID[jid]
	if ok {
		b.MarkFailed(now)
	}
	return ok
}

// Len returns the number of known bridges.
func (s *Selector) Len() int { return len(s.all) }

// Bridges returns the known bridges, in no particular order, in a new slice.
func (s *Selector) Bridges() []*Bridge { return append([]*Bridge(nil), s.all...) }

// Select picks the bridge for a new participant of a conference that uses
// conf (empty for its first), from participantRegion (empty when unknown),
// for a conference pinned to pinnedVersion (empty: any). It does not record
// the allocation: call EndpointAdded on the bridge (and Added.Add on the
// conference's entry) once the endpoint is allocated. It runs in O(bridges).
//
// The version is that of the conference's first bridge, else the pinned one;
// a pin that differs from the conference's version fails. Candidates are the
// operational bridges not shutting down, of that version (unless
// Octo.AllowMixedVersions); non-draining ones are preferred over draining,
// then running ones over those in graceful shutdown. The strategy picks
// among what is left.
func (s *Selector) Select(conf ConferenceBridges, participantRegion, pinnedVersion string, now time.Time) (*Bridge, error) {
	version := pinnedVersion
	if len(conf) > 0 {
		if v := conf[0].Bridge.FullVersion(); v != "" {
			if pinnedVersion != "" && pinnedVersion != v {
				return nil, fmt.Errorf("%w: pinned %q, conference on %q", ErrVersionConflict, pinnedVersion, v)
			}
			version = v
		}
	}
	checkVersion := version != "" && !s.cfg.Octo.AllowMixedVersions

	// One pass over all bridges keeps those that may be used at all and
	// counts what the preferences would leave.
	cands := s.scratch[:0]
	var operational, up, active, activeRunning, running int
	for _, b := range s.all {
		if !b.Operational(now) {
			continue
		}
		operational++
		if b.stats.ShuttingDown {
			continue
		}
		up++
		if checkVersion && !b.hasFullVersion(version) {
			continue
		}
		cands = append(cands, b)
		if !b.stats.GracefulShutdown {
			running++
		}
		if !b.stats.Drain {
			active++
			if !b.stats.GracefulShutdown {
				activeRunning++
			}
		}
	}
	s.scratch = cands[:0]
	switch {
	case operational == 0:
		return nil, fmt.Errorf("%w: none of %d bridges is operational", ErrNoBridge, len(s.all))
	case up == 0:
		return nil, fmt.Errorf("%w: all %d operational bridges are shutting down", ErrNoBridge, operational)
	case len(cands) == 0:
		return nil, fmt.Errorf("%w: no bridge has version %q", ErrNoBridge, version)
	}

	// Then the preferences: non-draining, then running, if any are left.
	onlyActive := active > 0 && active < len(cands)
	onlyRunning := running > 0 && running < len(cands)
	if active > 0 {
		onlyRunning = activeRunning > 0 && activeRunning < active
	}
	if onlyActive || onlyRunning {
		kept := cands[:0]
		for _, b := range cands {
			if (onlyActive && b.stats.Drain) || (onlyRunning && b.stats.GracefulShutdown) {
				continue
			}
			kept = append(kept, b)
		}
		clear(cands[len(kept):])
		cands = kept
	}
	chosen := s.strategy.Select(cands, conf, participantRegion, now)
	clear(cands) // keep no bridge alive past its removal
	if chosen == nil {
		return nil, fmt.Errorf("%w: %s found none among %d candidates", ErrNoBridge, s.name, len(cands))
	}
	return chosen, nil
}
