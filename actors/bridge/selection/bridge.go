package selection

import (
	"cmp"
	"log/slog"
	"time"
)

// Bridge is what the selector knows about one videobridge. Every question
// that depends on time takes the current time as now; nothing here reads a
// clock. A Bridge belongs to the actor that owns its Selector and is not safe
// for concurrent use.
type Bridge struct {
	// The fields a selection reads come first, to share cache lines.
	cfg      *Config
	failedAt time.Time // zero: never failed
	stats    Stats
	added    Additions
	jid      string
	statsAt  time.Time
	slot     int // index in Selector.all; -1 once removed
}

var defaultConfig = DefaultConfig()

// NewBridge returns a bridge with DefaultStats, judged by cfg (nil means
// DefaultConfig). cfg is kept, not copied, and must not change afterwards.
// Selector.Update creates bridges itself; NewBridge is for strategies used
// on their own.
func NewBridge(jid string, cfg *Config) *Bridge {
	if cfg == nil {
		cfg = &defaultConfig
	}
	return &Bridge{jid: jid, cfg: cfg, stats: DefaultStats(), slot: -1}
}

// JID is the bridge's occupant JID in the brewery room.
func (b *Bridge) JID() string { return b.jid }

// Stats returns what the bridge last reported, merged over earlier reports.
func (b *Bridge) Stats() Stats { return b.stats }

// StatsAt is when the bridge's last presence arrived; zero before the first.
func (b *Bridge) StatsAt() time.Time { return b.statsAt }

// Region is the bridge's region, empty when unknown.
func (b *Bridge) Region() string { return b.stats.Region }

// RelayID is the bridge's relay id, empty when it cannot relay.
func (b *Bridge) RelayID() string { return b.stats.RelayID }

// FullVersion is "version-release" when the bridge reports both, else its
// version alone, else empty.
func (b *Bridge) FullVersion() string {
	if b.stats.Version != "" && b.stats.Release != "" {
		return b.stats.Version + "-" + b.stats.Release
	}
	return b.stats.Version
}

// hasFullVersion reports whether FullVersion() == v without building it.
func (b *Bridge) hasFullVersion(v string) bool {
	ver, rel := b.stats.Version, b.stats.Release
	if ver == "" || rel == "" {
		return ver == v
	}
	return len(v) == len(ver)+1+len(rel) && v[:len(ver)] == ver && v[len(ver)] == '-' && v[len(ver)+1:] == rel
}

// Draining reports whether the bridge asks for no new conferences. A bridge
// counts as draining until its presence says otherwise.
func (b *Bridge) Draining() bool { return b.stats.Drain }

// GracefulShutdown reports whether the bridge is winding down.
func (b *Bridge) GracefulShutdown() bool { return b.stats.GracefulShutdown }

// ShuttingDown reports whether the bridge is about to stop.
func (b *Bridge) ShuttingDown() bool { return b.stats.ShuttingDown }

// EndpointAdded records that an endpoint was just allocated on the bridge,
// which raises its corrected stress for ParticipantRampupInterval.
func (b *Bridge) EndpointAdded(now time.Time) {
	b.added.Add(now, b.cfg.ParticipantRampupInterval)
}

// RecentEndpoints returns how many endpoints were added within
// ParticipantRampupInterval before now.
func (b *Bridge) RecentEndpoints(now time.Time) int {
	return b.added.Since(now.Add(-b.cfg.ParticipantRampupInterval))
}

// CorrectedStress is the reported stress plus the expected stress of the
// endpoints added within ParticipantRampupInterval, which the bridge's
// reports do not show yet. It can exceed 1.
func (b *Bridge) CorrectedStress(now time.Time) float64 {
	return b.correctedStress(now.Add(-b.cfg.ParticipantRampupInterval))
}

// correctedStress counts the endpoints added after cut.
func (b *Bridge) correctedStress(cut time.Time) float64 {
	if len(b.added.at) == 0 {
		return b.stats.StressLevel
	}
	per := b.stats.AverageParticipantStress
	if per <= 0 {
		per = b.cfg.AverageParticipantStress
	}
	return b.stats.StressLevel + float64(b.added.Since(cut))*per
}

// Overloaded reports whether the corrected stress reached StressThreshold.
func (b *Bridge) Overloaded(now time.Time) bool {
	return b.CorrectedStress(now) >= b.cfg.StressThreshold
}

// MarkFailed records a failure (failed health check, allocation error or
// timeout) at now: the bridge is not operational for FailureResetThreshold.
// Marking it again restarts that period.
func (b *Bridge) MarkFailed(now time.Time) { b.failedAt = now }

// FailedAt is the time of the last failure; zero if none.
func (b *Bridge) FailedAt() time.Time { return b.failedAt }

// Operational reports whether the bridge may be used: false within
// FailureResetThreshold of its last failure.
func (b *Bridge) Operational(now time.Time) bool {
	return b.failedAt.IsZero() || now.Sub(b.failedAt) >= b.cfg.FailureResetThreshold
}

// Compare orders bridges from most to least able to take an endpoint:
// operational and running, then operational in graceful shutdown, then
// non-operational; within a class, lower corrected stress first; equal
// bridges by JID, so that the order is total and selection deterministic.
// It returns a negative number when b comes first.
func (b *Bridge) Compare(o *Bridge, now time.Time) int {
	return rankOf(b, now).compare(rankOf(o, now))
}

// LogValue lets a Bridge be logged under the "bridge" key.
func (b *Bridge) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("jid", b.jid),
		slog.String("region", b.stats.Region),
		slog.String("version", b.FullVersion()),
		slog.Float64("stress", b.stats.StressLevel),
	)
}

// String returns the JID.
func (b *Bridge) String() string { return b.jid }

// rank is a bridge's place in the selection order at one instant, computed
// once per bridge per selection.
type rank struct {
	b          *Bridge
	class      int8 // 1 operational, 2 operational in graceful shutdown, 3 non-operational
	stress     float64
	overloaded bool
}

func rankOf(b *Bridge, now time.Time) rank {
	return rankAt(b, now, now.Add(-b.cfg.ParticipantRampupInterval))
}

// ranker ranks many bridges at one instant, computing the ramp-up cut (now
// - ParticipantRampupInterval) once per config rather than once per bridge.
type ranker struct {
	now, cut time.Time
	cfg      *Config
}

func newRanker(now time.Time) ranker { return ranker{now: now} }

func (k *ranker) rank(b *Bridge) rank {
	if b.cfg != k.cfg {
		k.cfg, k.cut = b.cfg, k.now.Add(-b.cfg.ParticipantRampupInterval)
	}
	return rankAt(b, k.now, k.cut)
}

func rankAt(b *Bridge, now, cut time.Time) rank {
	r := rank{b: b, class: 3, stress: b.correctedStress(cut)}
	r.overloaded = r.stress >= b.cfg.StressThreshold
	if b.Operational(now) {
		r.class = 1
		if b.stats.GracefulShutdown {
			r.class = 2
		}
	}
	return r
}

func (r rank) compare(o rank) int {
	if c := cmp.Compare(r.class, o.class); c != 0 {
		return c
	}
	if c := cmp.Compare(r.stress, o.stress); c != 0 {
		return c
	}
	return cmp.Compare(r.b.jid, o.b.jid)
}

// best keeps the first bridge in rank order among those offered.
type best struct {
	r  rank
	ok bool
}

func (x *best) offer(r rank) {
	if !x.ok || r.compare(x.r) < 0 {
		x.r, x.ok = r, true
	}
}

// bridge returns the kept bridge, or nil.
func (x *best) bridge() *Bridge {
	if !x.ok {
		return nil
	}
	return x.r.b
}
