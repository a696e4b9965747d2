package main

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"focal/visitors"
)

// nestedSections are the config file's sections that set no flags and are
// read on their own (unlike those in sections).
var nestedSections = map[string]bool{"visitors": true}

// visitorsSection is the config file's visitors: section:
//
//	visitors:
//	  enabled: true
//	  max-participants: 50        # main-room participants before redirecting
//	  max-visitors-per-node: 500
//	  join-latency: 60s           # a redirect counts as a visitor this long
//	  nodes:
//	    - id: v1                  # the node's domain is v1.meet.jitsi for Jitsi's modules
//	      host: 127.0.0.1
//	      port: 5222
//	      domain: v1.meet.jitsi
//	      muc: conference.v1.meet.jitsi
//	      user: focus@auth.v1.meet.jitsi
//	      password: secret
type visitorsSection struct {
	Enabled            bool          `yaml:"enabled"`
	MaxParticipants    int           `yaml:"max-participants"`
	MaxVisitorsPerNode int           `yaml:"max-visitors-per-node"`
	JoinLatency        time.Duration `yaml:"join-latency"`
	Nodes              []struct {
		ID       string `yaml:"id"`
		Host     string `yaml:"host"`
		Port     int    `yaml:"port"`
		Domain   string `yaml:"domain"`
		MUC      string `yaml:"muc"`
		User     string `yaml:"user"`
		Password string `yaml:"password"`
	} `yaml:"nodes"`
}

// applyVisitors reads the visitors: section of the config file, if any,
// refusing unknown keys, and checks it.
func applyVisitors(path string, into *visitors.Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var file map[string]any
	if err := yaml.Unmarshal(data, &file); err != nil {
		return fmt.Errorf("--config %s: %w", path, err)
	}
	raw, ok := file["visitors"]
	if !ok {
		return nil
	}
	// Through YAML again, so that the section's own keys are checked.
	section, err := yaml.Marshal(raw)
	if err != nil {
		return fmt.Errorf("--config %s: visitors: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(section))
	dec.KnownFields(true)
	var v visitorsSection
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("--config %s: visitors: %w", path, err)
	}
	cfg := visitors.Config{
		Enabled:            v.Enabled,
		MaxParticipants:    v.MaxParticipants,
		MaxVisitorsPerNode: v.MaxVisitorsPerNode,
		JoinLatency:        v.JoinLatency,
	}
	for _, n := range v.Nodes {
		cfg.Nodes = append(cfg.Nodes, visitors.Node{ID: n.ID, Host: n.Host, Port: n.Port,
			Domain: n.Domain, MUC: n.MUC, User: n.User, Password: n.Password})
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("--config %s: %w", path, err)
	}
	*into = cfg.WithDefaults()
	return nil
}
