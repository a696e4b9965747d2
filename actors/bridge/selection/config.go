package selection

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Config holds the bridge selection knobs. The YAML keys are Jicofo's own
// (jicofo.bridge.*, jicofo.local-region, jicofo.octo.*), hyphenated exactly as
// in jicofo.conf; durations use Go syntax ("20s", "1m"), not HOCON's
// "20 seconds". Decode YAML over DefaultConfig() so absent keys keep
// Jicofo's defaults.
type Config struct {
	// MaxBridgeParticipants caps one conference's endpoints on one bridge;
	// past it the strategies look for another bridge. Zero or less: no cap.
	// A conference that may not span bridges (see Octo) ignores it.
	MaxBridgeParticipants int `yaml:"max-bridge-participants"`
	// MaxBridgeParticipantsPerInterval caps how many endpoints one
	// conference may add to one bridge within MaxBridgeParticipantsInterval,
	// because during a join burst the bridge's stress reports (every 5-10 s)
	// lag behind. Zero or less: off (Jicofo's default, -1; 30 is the
	// suggested production value).
	MaxBridgeParticipantsPerInterval int `yaml:"max-bridge-participants-per-interval"`
	// MaxBridgeParticipantsInterval is the window for the cap above.
	MaxBridgeParticipantsInterval time.Duration `yaml:"max-bridge-participants-interval"`
	// AverageParticipantStress is the stress assumed for one endpoint when
	// the bridge does not report its own figure.
	AverageParticipantStress float64 `yaml:"average-participant-stress"`
	// ParticipantRampupInterval is how long a new endpoint counts towards its
	// bridge's corrected stress before it shows in the bridge's own reports.
	// Longer spreads bursts more; shorter trusts reports sooner.
	ParticipantRampupInterval time.Duration `yaml:"participant-rampup-interval"`
	// StressThreshold is the corrected stress at and above which a bridge is
	// overloaded.
	StressThreshold float64 `yaml:"stress-threshold"`
	// FailureResetThreshold is how long a bridge stays non-operational after
	// a failure (a failed health check or allocation).
	FailureResetThreshold time.Duration `yaml:"failure-reset-threshold"`
	// SelectionStrategy names the strategy: Jicofo's class names
	// (SingleBridgeSelectionStrategy, RegionBasedBridgeSelectionStrategy,
	// IntraRegionBridgeSelectionStrategy, SplitBridgeSelectionStrategy, also
	// with the org.jitsi.jicofo.bridge. prefix) or the short names single,
	// region, intra-region and split.
	SelectionStrategy string `yaml:"selection-strategy"`
	// LocalRegion is the region this focus runs in (jicofo.local-region); the
	// region-based strategy falls back to it.
	LocalRegion string `yaml:"local-region"`
	// RegionGroups lists groups of regions close to each other; a region in
	// no group is a group of its own. A region may be in one group only.
	RegionGroups [][]string `yaml:"region-groups"`
	// Octo is whether a conference may span bridges (jicofo.octo.*).
	Octo OctoConfig `yaml:"octo"`
}

// OctoConfig controls cascading a conference over several bridges.
type OctoConfig struct {
	// Enabled lets the strategies add bridges to a conference whose first
	// bridge can relay. Off (Jicofo's default), every conference stays on its
	// first bridge whatever the strategy, except split, which always
	// cascades.
	Enabled bool `yaml:"enabled"`
	// AllowMixedVersions lets a conference use bridges of different versions;
	// off, new bridges must match the version of the conference's first.
	AllowMixedVersions bool `yaml:"allow-mixed-versions"`
}

// DefaultConfig returns Jicofo's defaults.
func DefaultConfig() Config {
	return Config{
		MaxBridgeParticipants:            80,
		MaxBridgeParticipantsPerInterval: -1,
		MaxBridgeParticipantsInterval:    time.Minute,
		AverageParticipantStress:         0.01,
		ParticipantRampupInterval:        20 * time.Second,
		StressThreshold:                  0.8,
		FailureResetThreshold:            time.Minute,
		SelectionStrategy:                "SingleBridgeSelectionStrategy",
	}
}

// Validate reports every problem with c, joined, or nil.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("bridge selection config: "+format, args...))
	}
	if c.MaxBridgeParticipantsPerInterval > 0 && c.MaxBridgeParticipantsInterval <= 0 {
		bad("max-bridge-participants-interval must be positive when max-bridge-participants-per-interval is set, got %v",
			c.MaxBridgeParticipantsInterval)
	}
	if !(c.AverageParticipantStress >= 0) || math.IsInf(c.AverageParticipantStress, 0) {
		bad("average-participant-stress must be a non-negative number, got %v", c.AverageParticipantStress)
	}
	if c.ParticipantRampupInterval < 0 {
		bad("participant-rampup-interval must not be negative, got %v", c.ParticipantRampupInterval)
	}
	if !(c.StressThreshold > 0) || math.IsInf(c.StressThreshold, 0) {
		bad("stress-threshold must be a positive number, got %v", c.StressThreshold)
	}
	if c.FailureResetThreshold < 0 {
		bad("failure-reset-threshold must not be negative, got %v", c.FailureResetThreshold)
	}
	if _, err := parseStrategy(c.SelectionStrategy); err != nil {
		errs = append(errs, fmt.Errorf("bridge selection config: %w", err))
	}
	if _, err := groupIndex(c.RegionGroups); err != nil {
		errs = append(errs, fmt.Errorf("bridge selection config: %w", err))
	}
	return errors.Join(errs...)
}

// strategyKind is a built-in strategy.
type strategyKind int

const (
	kindSingle strategyKind = iota
	kindRegionBased
	kindIntraRegion
	kindSplit
)

const jicofoPackage = "org.jitsi.jicofo.bridge."

var strategyNames = map[string]strategyKind{
	"SingleBridgeSelectionStrategy":      kindSingle,
	"RegionBasedBridgeSelectionStrategy": kindRegionBased,
	"IntraRegionBridgeSelectionStrategy": kindIntraRegion,
	"SplitBridgeSelectionStrategy":       kindSplit,
	"single":                             kindSingle,
	"region":                             kindRegionBased,
	"intra-region":                       kindIntraRegion,
	"split":                              kindSplit,
}

// canonicalNames maps each kind to the name reported by Selector.Strategy.
var canonicalNames = [...]string{
	kindSingle:      "SingleBridgeSelectionStrategy",
	kindRegionBased: "RegionBasedBridgeSelectionStrategy",
	kindIntraRegion: "IntraRegionBridgeSelectionStrategy",
	kindSplit:       "SplitBridgeSelectionStrategy",
}

func parseStrategy(name string) (strategyKind, error) {
	if k, ok := strategyNames[name]; ok {
		return k, nil
	}
	if short, ok := strings.CutPrefix(name, jicofoPackage); ok && strings.HasSuffix(short, "Strategy") {
		if k, ok := strategyNames[short]; ok {
			return k, nil
		}
	}
	if name == "" {
		return 0, errors.New("selection-strategy is empty")
	}
	return 0, fmt.Errorf("unknown selection-strategy %q (want single, region, intra-region, split or a Jicofo class name)", name)
}

// groupIndex maps each grouped region to the index of its group.
func groupIndex(groups [][]string) (map[string]int, error) {
	idx := make(map[string]int)
	for g, regions := range groups {
		for _, r := range regions {
			if r == "" {
				return nil, fmt.Errorf("region-groups[%d] has an empty region", g)
			}
			if prev, ok := idx[r]; ok && prev != g {
				return nil, fmt.Errorf("region %q is in region-groups[%d] and region-groups[%d]", r, prev, g)
			}
			idx[r] = g
		}
	}
	return idx, nil
}
