package loadgen

import (
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Report is the written account of several runs: one HTML page with a
// section per run (its summary, a latency histogram and time series of
// joins, latency and CPU per process), each chart also as an SVG file, and
// every result as JSON.
type Report struct {
	Title    string
	Preamble string // plain text: the command, the machine's load
	Sections []Section
}

// Section is one run in a report.
type Section struct {
	Name   string
	Text   string  // plain text shown before the charts (a summary)
	Result *Result // nil: text and Charts only
	Charts []Chart // extra charts
	// JSON is what results.json holds for the section (default Result).
	JSON any
}

// Chart is an SVG with the file name it is written under.
type Chart struct {
	Name string
	SVG  string
}

// Charts are the standard charts of a result: a histogram of the ping,
// request, join and source-add latencies; joins completed and join
// p50/p99 second by second (with the probe's pings); CPU per process second
// by second; the server's unread input, if sampled.
func Charts(r *Result) []Chart {
	if r == nil || r.Recording == nil {
		return nil
	}
	rec := r.Recording
	lat := map[string][]time.Duration{}
	for name, ss := range map[string][]Sample{"ping": rec.Ping, "ping c→c": rec.PingClient, "request": rec.Request, "join": rec.Join, "join, first of its conference": rec.FirstJoin, "source-add": rec.SourceAdd} {
		if len(ss) > 0 {
			lat[name] = durations(ss)
		}
	}
	rate, p50, p99 := perSecond(slices.Concat(rec.Join, rec.FirstJoin))
	probeSeries := Series{Name: "server ping (probe)"}
	for _, p := range rec.Probe {
		probeSeries.X, probeSeries.Y = append(probeSeries.X, p.At.Seconds()), append(probeSeries.Y, p.D.Seconds())
	}
	var failures Series
	failures.Name = "errors"
	perSec := map[int]float64{}
	for _, f := range rec.Failures {
		perSec[int(f.At/time.Second)]++
	}
	for i := range len(rate.X) {
		failures.X = append(failures.X, float64(i))
		failures.Y = append(failures.Y, perSec[i])
	}
	var cpu []Series
	names := make([]string, 0, len(rec.CPUSeries))
	for name := range rec.CPUSeries {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		s := Series{Name: name}
		for i, v := range rec.CPUSeries[name] {
			s.X, s.Y = append(s.X, float64(i+1)), append(s.Y, v)
		}
		cpu = append(cpu, s)
	}
	var unread []Series
	senders := make([]string, 0, len(rec.Unread))
	for name := range rec.Unread {
		senders = append(senders, name)
	}
	slices.Sort(senders)
	for _, name := range senders {
		s := Series{Name: "from " + name}
		for i, v := range rec.Unread[name] {
			s.X, s.Y = append(s.X, float64(i+1)), append(s.Y, float64(v)/1024)
		}
		unread = append(unread, s)
	}
	charts := []Chart{
		{"latency", Histogram("Latency distribution", lat)},
		{"joins", LineChart("Participants in session per second", "seconds since start", "joins / s", []Series{rate, failures}, false)},
		{"join-latency", LineChart("Join latency (request → session-initiate), by second it completed", "seconds since start", "seconds (log)", []Series{p99, p50, probeSeries}, true)},
		{"cpu", LineChart("CPU by process", "seconds since start", "cores", cpu, false)},
	}
	if len(rec.Unread) > 0 {
		charts = append(charts, Chart{"unread", LineChart("Bytes sent to the XMPP server and not yet read by it, by sender", "seconds since start", "KiB", unread, false)})
	}
	return charts
}

// perSecond buckets samples by the second they completed in: their count,
// p50 and p99 (in seconds).
func perSecond(ss []Sample) (count, p50, p99 Series) {
	count.Name, p50.Name, p99.Name = "in session", "p50", "p99"
	buckets := map[int][]time.Duration{}
	last := -1
	for _, s := range ss {
		i := int(s.At / time.Second)
		buckets[i] = append(buckets[i], s.D)
		last = max(last, i)
	}
	for i := 0; i <= last; i++ {
		count.X, count.Y = append(count.X, float64(i)), append(count.Y, float64(len(buckets[i])))
		if len(buckets[i]) > 0 {
			p := PercentilesOf(buckets[i])
			p50.X, p50.Y = append(p50.X, float64(i)), append(p50.Y, p.P50.Seconds())
			p99.X, p99.Y = append(p99.X, float64(i)), append(p99.Y, p.P99.Seconds())
		}
	}
	return count, p50, p99
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// Write writes the report into dir: report.html, the charts as
// <section>-<chart>.svg and results.json.
func (r Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var page strings.Builder
	fmt.Fprintf(&page, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title></head>\n<body style=\"font-family:sans-serif;max-width:60em\">\n<h1>%s</h1>\n<pre>%s</pre>\n",
		html.EscapeString(r.Title), html.EscapeString(r.Title), html.EscapeString(r.Preamble))
	results := map[string]any{}
	for _, s := range r.Sections {
		slug := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(s.Name), "-"), "-")
		fmt.Fprintf(&page, "<h2>%s</h2>\n<pre>%s</pre>\n", html.EscapeString(s.Name), html.EscapeString(s.Text))
		for _, c := range append(Charts(s.Result), s.Charts...) {
			file := slug + "-" + c.Name + ".svg"
			if err := os.WriteFile(filepath.Join(dir, file), []byte(c.SVG), 0o644); err != nil {
				return fmt.Errorf("report: %w", err)
			}
			fmt.Fprintf(&page, "<p><img src=\"%s\" alt=\"%s\"></p>\n", file, html.EscapeString(c.Name))
		}
		switch {
		case s.JSON != nil:
			results[s.Name] = s.JSON
		case s.Result != nil:
			results[s.Name] = s.Result
		}
	}
	page.WriteString("</body></html>\n")
	if err := os.WriteFile(filepath.Join(dir, "report.html"), []byte(page.String()), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	b, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, "results.json"), append(b, '\n'), 0o644)
}
