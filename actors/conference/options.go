package conference

import (
	"focal/proto"
	"log/slog"
	"strconv"
)

// Options are the conference-wide settings the first request carries.
type Options struct {
	RTCStatsEnabled bool `json:"rtcstatsEnabled"`
	// StartAudioMuted and StartVideoMuted mute every participant beyond that
	// many; -1 when not set.
	StartAudioMuted int `json:"startAudioMuted"`
	StartVideoMuted int `json:"startVideoMuted"`
}

func optionsFrom(props []*focalpb.Property, log *slog.Logger) Options {
	o := Options{RTCStatsEnabled: true, StartAudioMuted: -1, StartVideoMuted: -1}
	for _, p := range props {
		switch p.Name {
		case "rtcstatsEnabled":
			if b, err := strconv.ParseBool(p.Value); err == nil {
				o.RTCStatsEnabled = b
			} else {
				log.Warn("ignoring malformed property", "name", p.Name, "value", p.Value)
			}
		case "startAudioMuted", "startVideoMuted":
			n, err := strconv.Atoi(p.Value)
			if err != nil || n < 0 {
				log.Warn("ignoring malformed property", "name", p.Name, "value", p.Value)
				continue
			}
			if p.Name == "startAudioMuted" {
				o.StartAudioMuted = n
			} else {
				o.StartVideoMuted = n
			}
		}
	}
	return o
}
