package cluster

import (
	"bytes"
	"log"
	"log/slog"
	"strings"
	"testing"
)

func TestMemberlistLogLinesKeepTheirLevel(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		Level:       slog.LevelInfo,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { return dropTime(a) },
	}))
	std := log.New(slogWriter{logger}, "", 0)
	std.Printf("[DEBUG] memberlist: Stream connection from=127.0.0.1:1")
	std.Printf("[INFO] memberlist: Marking node-c as failed")
	std.Printf("[WARN] memberlist: Refuting a suspect message")
	std.Printf("[ERR] memberlist: Failed fallback TCP ping")
	std.Printf("unprefixed line")
	want := []string{
		`level=INFO msg="Marking node-c as failed" component=memberlist`,
		`level=WARN msg="Refuting a suspect message" component=memberlist`,
		`level=ERROR msg="Failed fallback TCP ping" component=memberlist`,
		`level=INFO msg="unprefixed line" component=memberlist`,
	}
	if got := strings.Split(strings.TrimSpace(buf.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func dropTime(a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
