package selection

import "time"

// Additions records when endpoints were added (to a bridge, or by one
// conference to one bridge) so that the recent ones can be counted. The zero
// value is empty and ready to use. Times are kept in order; an out-of-order
// time is inserted where it belongs.
type Additions struct {
	at []time.Time
}

// Add records an addition at now and forgets those at or before now-keep,
// which bounds the memory to the additions within the window.
func (a *Additions) Add(now time.Time, keep time.Duration) {
	a.forget(now.Add(-keep))
	i := len(a.at)
	for i > 0 && a.at[i-1].After(now) {
		i--
	}
	a.at = append(a.at, time.Time{})
	copy(a.at[i+1:], a.at[i:])
	a.at[i] = now
}

// Since returns how many recorded additions are strictly after t.
func (a *Additions) Since(t time.Time) int {
	// Binary search for the first entry after t.
	lo, hi := 0, len(a.at)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if a.at[mid].After(t) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return len(a.at) - lo
}

// Len returns how many additions are still recorded.
func (a *Additions) Len() int { return len(a.at) }

// forget drops the additions at or before cut.
func (a *Additions) forget(cut time.Time) {
	old := len(a.at) - a.Since(cut)
	if old == 0 {
		return
	}
	n := copy(a.at, a.at[old:])
	clear(a.at[n:])
	a.at = a.at[:n]
}
