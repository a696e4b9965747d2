package conference

import (
	"log/slog"
	"strconv"

	"focal/proto"
)

// optionsFrom reads the conference-wide options of the first request.
// StartAudioMuted and StartVideoMuted mute every participant beyond that
// many; -1 when not set.
func optionsFrom(props []*focalpb.Property, log *slog.Logger) *focalpb.ConferenceOptions {
	o := defaultOptions()
	o.Set = true
	for _, p := range props {
		switch p.Name {
		case "rtcstatsEnabled":
			if b, err := strconv.ParseBool(p.Value); err == nil {
				o.RtcstatsEnabled = b
			} else {
				log.Warn("ignoring malformed property", "name", p.Name, "value", p.Value)
			}
		case "startAudioMuted", "startVideoMuted":
			n, err := strconv.ParseInt(p.Value, 10, 32)
			if err != nil || n < 0 {
				log.Warn("ignoring malformed property", "name", p.Name, "value", p.Value)
				continue
			}
			if p.Name == "startAudioMuted" {
				o.StartAudioMuted = int32(n)
			} else {
				o.StartVideoMuted = int32(n)
			}
		}
	}
	return o
}

func defaultOptions() *focalpb.ConferenceOptions {
	return &focalpb.ConferenceOptions{RtcstatsEnabled: true, StartAudioMuted: -1, StartVideoMuted: -1}
}

// options are the conference's options: the first request's, or the
// defaults until one came.
func (c *conference) options() *focalpb.ConferenceOptions {
	if c.st.Options == nil {
		return defaultOptions()
	}
	return c.st.Options
}

// startMuted says whether the participant that joined seq-th starts muted
// under the option limit (-1: nobody does).
func startMuted(limit, seq int32) bool {
	return limit >= 0 && seq > limit
}
