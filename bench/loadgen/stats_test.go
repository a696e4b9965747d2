package loadgen

import (
	"os"
	"testing"
	"time"
)

func TestPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p := PercentilesOf(ds)
	want := Percentiles{N: 100, P50: 50 * time.Millisecond, P95: 95 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if p != want {
		t.Errorf("percentiles %+v, want %+v", p, want)
	}
	if one := PercentilesOf([]time.Duration{7}); one.P50 != 7 || one.P99 != 7 || one.Max != 7 {
		t.Errorf("one sample: %+v", one)
	}
	if none := PercentilesOf(nil); none != (Percentiles{}) {
		t.Errorf("no samples: %+v", none)
	}
}

func TestCPUTimeOfThisProcessGrows(t *testing.T) {
	before := cpuTime(os.Getpid())
	deadline := time.Now().Add(5 * time.Second)
	x := 0
	for cpuTime(os.Getpid()) == before && time.Now().Before(deadline) {
		for i := range 1_000_000 {
			x += i
		}
	}
	if cpuTime(os.Getpid()) <= before {
		t.Fatalf("CPU time did not grow from %v (%d)", before, x)
	}
	if cpuTime(-1) != 0 {
		t.Error("a process that does not exist has CPU time")
	}
}

func TestRSSOfThisProcess(t *testing.T) {
	rss := rssOf(map[string]int{"self": os.Getpid(), "gone": -1})
	if rss["self"] < 1<<20 {
		t.Errorf("this process's RSS %d bytes", rss["self"])
	}
	if _, ok := rss["gone"]; ok {
		t.Error("a process that does not exist has an RSS")
	}
}
