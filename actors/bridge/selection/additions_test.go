package selection

import (
	"testing"
	"time"
)

func TestAdditionsCountOnlyThoseAfterTheCut(t *testing.T) {
	var a Additions
	for _, s := range []int{0, 5, 10, 15} {
		a.Add(t0.Add(time.Duration(s)*time.Second), time.Minute)
	}
	cases := []struct {
		since time.Duration
		want  int
	}{
		{-time.Second, 4},
		{0, 3}, // strictly after the cut
		{7 * time.Second, 2},
		{15 * time.Second, 0},
	}
	for _, c := range cases {
		if got := a.Since(t0.Add(c.since)); got != c.want {
			t.Errorf("Since(t0%+v) = %d, want %d", c.since, got, c.want)
		}
	}
}

func TestAdditionsForgetEntriesOutsideTheWindowOnAdd(t *testing.T) {
	var a Additions
	a.Add(t0, 20*time.Second)
	a.Add(t0.Add(10*time.Second), 20*time.Second)
	a.Add(t0.Add(25*time.Second), 20*time.Second)
	if a.Len() != 2 {
		t.Fatalf("Len = %d, want 2 (the one at t0 is 25 s old)", a.Len())
	}
	a.Add(t0.Add(time.Hour), 20*time.Second)
	if a.Len() != 1 {
		t.Fatalf("Len = %d, want 1", a.Len())
	}
}

func TestAdditionsAcceptOutOfOrderTimes(t *testing.T) {
	var a Additions
	a.Add(t0.Add(10*time.Second), time.Minute)
	a.Add(t0, time.Minute)
	a.Add(t0.Add(5*time.Second), time.Minute)
	if got := a.Since(t0.Add(4 * time.Second)); got != 2 {
		t.Errorf("Since(t0+4s) = %d, want 2", got)
	}
	for i := 1; i < len(a.at); i++ {
		if a.at[i].Before(a.at[i-1]) {
			t.Fatalf("times out of order: %v", a.at)
		}
	}
}

func TestZeroAdditionsCountNothing(t *testing.T) {
	var a Additions
	if a.Since(t0) != 0 || a.Len() != 0 {
		t.Fatal("zero Additions is not empty")
	}
}
