package clustertest

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"focal/internal/prosodytest"
)

// binaries are the programs a cluster runs.
type binaries struct {
	focusnode, bridgesim string
}

// shared holds the binaries built once for a whole test binary, when its
// TestMain calls Main.
var shared struct {
	dir  string // set by Main; empty means build per test
	once sync.Once
	bins binaries
	err  error
}

// Main runs a package's tests with the binaries built at most once for all
// of them, in a directory removed afterwards, and, when they pass, fails
// them if a goroutine is left over:
//
//	func TestMain(m *testing.M) { os.Exit(clustertest.Main(m)) }
//
// Without it, every Start builds them again into its test's TempDir (the go
// build cache keeps that to the link step).
func Main(m *testing.M) int {
	dir, err := os.MkdirTemp("", "focal-clustertest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "clustertest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	shared.dir = dir
	code := m.Run()
	if code == 0 {
		// Test processes talk HTTP to the nodes; idle keep-alive
		// connections are not leaks.
		http.DefaultClient.CloseIdleConnections()
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	return code
}

// build returns the binaries, building them if need be.
func build(tb testing.TB) binaries {
	tb.Helper()
	if shared.dir != "" {
		shared.once.Do(func() { shared.bins, shared.err = buildInto(shared.dir) })
		if shared.err != nil {
			tb.Fatalf("clustertest: %v", shared.err)
		}
		return shared.bins
	}
	bins, err := buildInto(tb.TempDir())
	if err != nil {
		tb.Fatalf("clustertest: %v", err)
	}
	return bins
}

// buildInto builds focusnode and bridgesim into dir, with the race
// detector when the tests run with it, so that a race in a node fails the
// test that provoked it (see Cluster's cleanup).
func buildInto(dir string) (binaries, error) {
	root, err := prosodytest.RepoRoot()
	if err != nil {
		return binaries{}, err
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/focusnode", "./bench/bridgesim/cmd/bridgesim")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return binaries{}, fmt.Errorf("go %q: %w\n%s", args, err, out)
	}
	// Nodes run as another user (Options.UIDs) must be able to run them.
	if err := os.Chmod(dir, 0o755); err != nil {
		return binaries{}, fmt.Errorf("make %s readable: %w", dir, err)
	}
	return binaries{
		focusnode: filepath.Join(dir, "focusnode"),
		bridgesim: filepath.Join(dir, "bridgesim"),
	}, nil
}
