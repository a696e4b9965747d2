package participant

import "time"

// restartLimit is Jicofo's restart-request rate limit: a client asking for
// a new session (or ICE restart) over and over would make the focus
// re-allocate on the bridge in a loop. Requests must be at least
// minInterval apart and at most max within window.
type restartLimit struct {
	minInterval time.Duration
	window      time.Duration
	max         int
	granted     []time.Time // within the last window, oldest first
}

func newRestartLimit() *restartLimit {
	return &restartLimit{minInterval: 5 * time.Second, window: time.Minute, max: 5}
}

// allow records and grants a request at now, or refuses it.
func (l *restartLimit) allow(now time.Time) bool {
	keep := l.granted[:0]
	for _, t := range l.granted {
		if now.Sub(t) < l.window {
			keep = append(keep, t)
		}
	}
	l.granted = keep
	if n := len(l.granted); n > 0 && now.Sub(l.granted[n-1]) < l.minInterval {
		return false
	}
	if len(l.granted) >= l.max {
		return false
	}
	l.granted = append(l.granted, now)
	return true
}
