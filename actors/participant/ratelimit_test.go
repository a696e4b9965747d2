package participant

import (
	"testing"
	"time"
)

func TestRestartLimit(t *testing.T) {
	l := newRestartLimit()
	t0 := time.Unix(1_000_000, 0)
	steps := []struct {
		at   time.Duration
		want bool
	}{
		{0, true},
		{4 * time.Second, false}, // closer than 5 s to the last grant
		{5 * time.Second, true},
		{10 * time.Second, true},
		{15 * time.Second, true},
		{20 * time.Second, true},  // fifth in the minute
		{25 * time.Second, false}, // sixth within a minute
		{59 * time.Second, false},
		{60 * time.Second, true}, // the first grant left the window
		{61 * time.Second, false},
	}
	for _, s := range steps {
		if got := l.allow(t0.Add(s.at)); got != s.want {
			t.Fatalf("allow at +%v = %v, want %v", s.at, got, s.want)
		}
	}
}
