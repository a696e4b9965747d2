package selection

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestDefaultConfigHasJicofoDefaults(t *testing.T) {
	c := DefaultConfig()
	want := Config{
		MaxBridgeParticipants:            80,
		MaxBridgeParticipantsPerInterval: -1,
		MaxBridgeParticipantsInterval:    time.Minute,
		AverageParticipantStress:         0.01,
		ParticipantRampupInterval:        20 * time.Second,
		StressThreshold:                  0.8,
		FailureResetThreshold:            time.Minute,
		SelectionStrategy:                "SingleBridgeSelectionStrategy",
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("DefaultConfig() = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
}

func TestValidateRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name    string
		change  func(*Config)
		problem string
	}{
		{"per-interval cap without interval", func(c *Config) {
			c.MaxBridgeParticipantsPerInterval, c.MaxBridgeParticipantsInterval = 30, 0
		}, "max-bridge-participants-interval"},
		{"negative average stress", func(c *Config) { c.AverageParticipantStress = -0.1 }, "average-participant-stress"},
		{"NaN average stress", func(c *Config) { c.AverageParticipantStress = math.NaN() }, "average-participant-stress"},
		{"negative rampup", func(c *Config) { c.ParticipantRampupInterval = -time.Second }, "participant-rampup-interval"},
		{"zero threshold", func(c *Config) { c.StressThreshold = 0 }, "stress-threshold"},
		{"negative failure reset", func(c *Config) { c.FailureResetThreshold = -time.Second }, "failure-reset-threshold"},
		{"unknown strategy", func(c *Config) { c.SelectionStrategy = "RoundRobin" }, `unknown selection-strategy "RoundRobin"`},
		{"visitor strategy", func(c *Config) { c.SelectionStrategy = "VisitorSelectionStrategy" }, "unknown selection-strategy"},
		{"empty strategy", func(c *Config) { c.SelectionStrategy = "" }, "selection-strategy is empty"},
		{"region in two groups", func(c *Config) {
			c.RegionGroups = [][]string{{"us-east", "us-west"}, {"us-west", "eu-west"}}
		}, `"us-west" is in region-groups[0] and region-groups[1]`},
		{"empty region in a group", func(c *Config) { c.RegionGroups = [][]string{{"us-east", ""}} }, "empty region"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := cfgWith(c.change).Validate()
			if err == nil || !strings.Contains(err.Error(), c.problem) {
				t.Fatalf("Validate() = %v, want an error about %s", err, c.problem)
			}
			if _, nerr := New(cfgWith(c.change)); nerr == nil {
				t.Fatal("New accepted the config")
			}
		})
	}
	t.Run("all problems are reported", func(t *testing.T) {
		err := cfgWith(func(c *Config) { c.StressThreshold = 0; c.SelectionStrategy = "x" }).Validate()
		if err == nil || !strings.Contains(err.Error(), "stress-threshold") || !strings.Contains(err.Error(), "selection-strategy") {
			t.Fatalf("Validate() = %v", err)
		}
	})
}

func TestValidateAcceptsLimitsTurnedOff(t *testing.T) {
	c := cfgWith(func(c *Config) {
		c.MaxBridgeParticipants = -1
		c.MaxBridgeParticipantsPerInterval = 0
		c.MaxBridgeParticipantsInterval = 0
		c.RegionGroups = [][]string{{"us-east", "us-west"}, {"eu-west"}}
	})
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigDecodesFromYAMLOverDefaults(t *testing.T) {
	const doc = `
max-bridge-participants-per-interval: 30
participant-rampup-interval: 10s
stress-threshold: 0.7
selection-strategy: region
local-region: us-east
region-groups:
  - [us-east, us-west]
  - [eu-central, eu-west]
octo:
  enabled: true
`
	c := DefaultConfig()
	if err := yaml.Unmarshal([]byte(doc), &c); err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.MaxBridgeParticipantsPerInterval = 30
	want.ParticipantRampupInterval = 10 * time.Second
	want.StressThreshold = 0.7
	want.SelectionStrategy = "region"
	want.LocalRegion = "us-east"
	want.RegionGroups = [][]string{{"us-east", "us-west"}, {"eu-central", "eu-west"}}
	want.Octo.Enabled = true
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("decoded %+v\nwant    %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
