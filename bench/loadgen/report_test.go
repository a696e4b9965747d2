package loadgen

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// wellFormed fails t unless svg parses as XML with an <svg> root.
func wellFormed(t *testing.T, name, svg string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	root := ""
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: not well-formed XML: %v\n%s", name, err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Fatalf("%s: root element %q", name, root)
	}
}

func TestChartsAreWellFormedSVGNamingTheirSeries(t *testing.T) {
	line := LineChart("a <title> & more", "x", "y", []Series{
		{Name: "p99", X: []float64{0, 1, 2}, Y: []float64{0.5, 2, 0}},
		{Name: "node<1>", X: []float64{0, 1}, Y: []float64{0.001, 0.01}},
	}, true)
	wellFormed(t, "log line chart", line)
	for _, want := range []string{"p99", "node&lt;1&gt;", "a &lt;title&gt; &amp; more", "<polyline"} {
		if !strings.Contains(line, want) {
			t.Errorf("line chart lacks %q", want)
		}
	}
	wellFormed(t, "empty linear chart", LineChart("empty", "x", "y", nil, false))
	hist := Histogram("latency", map[string][]time.Duration{
		"join": {time.Millisecond, 2 * time.Millisecond, time.Hour, 0},
		"ping": {300 * time.Microsecond},
	})
	wellFormed(t, "histogram", hist)
	if !strings.Contains(hist, "join (n 4)") || !strings.Contains(hist, "ping (n 1)") {
		t.Errorf("histogram legend lacks its series:\n%s", hist)
	}
	// Out-of-range samples land in the first and last buckets: one bar
	// per bucket hit.
	if bars := strings.Count(hist, `fill-opacity="0.25"`); bars != 5 {
		t.Errorf("%d bars, want 5 (join: 1 ms, 2 ms, 0 and 1 h clamped to the ends; ping: 300 µs)", bars)
	}
}

func TestMergeAddsUpRecordingsOfOneRun(t *testing.T) {
	start := time.Now()
	a := &Recording{Start: start, Participants: 2, Join: []Sample{{At: time.Second, D: 10 * time.Millisecond}},
		CPU: map[string]time.Duration{"loadgen": time.Second, "prosody": 3 * time.Second}, CPUSeries: map[string][]float64{"loadgen": {0.5}}, Elapsed: 2 * time.Second}
	b := &Recording{Start: start, Participants: 3, Join: []Sample{{At: 2 * time.Second, D: 30 * time.Millisecond}, {At: 3 * time.Second, D: 20 * time.Millisecond}},
		Failures: []Failure{{At: time.Second, Err: "boom"}},
		CPU:      map[string]time.Duration{"loadgen": 2 * time.Second}, CPUSeries: map[string][]float64{"loadgen": {0.25, 1}}, Elapsed: 3 * time.Second}
	m := &Recording{Start: start}
	m.Merge(a)
	m.Merge(b)
	r := ResultOf(m)
	if r.Participants != 5 || r.InSession != 3 || r.Errors != 1 || r.ErrorSamples[0] != "boom" {
		t.Errorf("merged result %+v", r)
	}
	if r.Join.P50 != 20*time.Millisecond || r.Join.Max != 30*time.Millisecond {
		t.Errorf("join percentiles over both: %+v", r.Join)
	}
	if m.CPU["loadgen"] != 3*time.Second || m.CPU["prosody"] != 3*time.Second {
		t.Errorf("CPU %v", m.CPU)
	}
	if got := m.CPUSeries["loadgen"]; len(got) != 2 || got[0] != 0.75 || got[1] != 1 {
		t.Errorf("CPU series %v", got)
	}
	if m.Elapsed != 3*time.Second || r.Throughput != 1 {
		t.Errorf("elapsed %v, throughput %v", m.Elapsed, r.Throughput)
	}
	if got := r.CPUPer1000Joins["loadgen"]; got != 1000 {
		t.Errorf("loadgen CPU per 1,000 joins %v, want 1000 (3 s over 3 joins)", got)
	}
}

func TestReportWritesPageChartsAndJSON(t *testing.T) {
	rec := &Recording{Participants: 2, Ping: []Sample{{At: 0, D: time.Millisecond}},
		Join:      []Sample{{At: 500 * time.Millisecond, D: 40 * time.Millisecond}, {At: 1500 * time.Millisecond, D: 60 * time.Millisecond}},
		Probe:     []Sample{{At: time.Second, D: 2 * time.Millisecond}},
		CPU:       map[string]time.Duration{"prosody": time.Second},
		CPUSeries: map[string][]float64{"prosody": {0.9, 1}}, Unread: map[string][]int64{"node1": {0, 4096}, "others": {0, 0}}, Elapsed: 2 * time.Second}
	res := ResultOf(rec)
	dir := t.TempDir()
	r := Report{Title: "t", Preamble: "cmd", Sections: []Section{
		{Name: "Join storm, 1 node", Text: Summary(res), Result: &res},
		{Name: "extra", Text: "x", Charts: []Chart{{Name: "c", SVG: LineChart("c", "x", "y", nil, false)}}, JSON: map[string]int{"k": 1}},
	}}
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"join-storm-1-node-latency.svg", "join-storm-1-node-joins.svg", "join-storm-1-node-join-latency.svg", "join-storm-1-node-cpu.svg", "join-storm-1-node-unread.svg", "extra-c.svg"} {
		svg, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatalf("chart %s: %v", file, err)
		}
		wellFormed(t, file, string(svg))
		if !strings.Contains(string(page), `src="`+file+`"`) {
			t.Errorf("report.html does not show %s", file)
		}
	}
	var results map[string]json.RawMessage
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &results); err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(results["Join storm, 1 node"], &back); err != nil || back.Join.N != 2 || back.Recording == nil || len(back.Recording.Unread["node1"]) != 2 {
		t.Errorf("results.json's run: %+v, %v", back, err)
	}
	if string(results["extra"]) != `{"k":1}` && !strings.Contains(string(results["extra"]), `"k": 1`) {
		t.Errorf("results.json's extra section: %s", results["extra"])
	}
}

func TestUnreadBytesSeesWhatAServerHasNotRead(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.Accept() // accepted, never read
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	me := map[string]int{"client": os.Getpid()}
	if n := unreadBytes([]int{port}, me); n["client"] != 0 || n["others"] != 0 {
		t.Fatalf("%v bytes unread before anything was sent", n)
	}
	const sent = 5000
	if _, err := c.Write(make([]byte, sent)); err != nil {
		t.Fatal(err)
	}
	// Loopback delivers into the receive queue as the write returns; the
	// kernel's accounting may lag a moment: wait for it, bounded.
	deadline := time.Now().Add(5 * time.Second)
	for unreadBytes([]int{port}, me)["client"] < sent && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := unreadBytes([]int{port}, me); n["client"] != sent || n["others"] != 0 {
		t.Errorf("%v bytes unread, want %d from the client", n, sent)
	}
	if n := unreadBytes([]int{port}, nil); n["others"] != sent {
		t.Errorf("%v bytes unread with no process named, want %d from others", n, sent)
	}
	if _, err := io.ReadFull(s, make([]byte, sent)); err != nil {
		t.Fatal(err)
	}
	if n := unreadBytes([]int{port}, me); n["client"] != 0 {
		t.Errorf("%v bytes unread after the server read everything", n)
	}
}
