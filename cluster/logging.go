package cluster

import (
	"bytes"
	"context"
	"log/slog"
)

// slogWriter carries memberlist's log lines into slog. memberlist only takes
// a *log.Logger and marks each line's level with a prefix such as
// "[WARN] memberlist: "; slogWriter turns that prefix back into a slog level
// so that its DEBUG chatter can be filtered like everything else.
type slogWriter struct{ logger *slog.Logger }

var memberlistLevels = []struct {
	prefix string
	level  slog.Level
}{
	{"[DEBUG]", slog.LevelDebug},
	{"[INFO]", slog.LevelInfo},
	{"[WARN]", slog.LevelWarn},
	{"[ERR]", slog.LevelError},
	{"[ERROR]", slog.LevelError},
}

// Write logs one line; log.Logger calls it once per line.
func (w slogWriter) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := slog.LevelInfo
	for _, l := range memberlistLevels {
		if rest, ok := bytes.CutPrefix(line, []byte(l.prefix)); ok {
			level, line = l.level, bytes.TrimSpace(rest)
			break
		}
	}
	ctx := context.Background()
	if !w.logger.Enabled(ctx, level) {
		return len(p), nil
	}
	line, _ = bytes.CutPrefix(line, []byte("memberlist: "))
	w.logger.Log(ctx, level, string(line), "component", "memberlist")
	return len(p), nil
}
