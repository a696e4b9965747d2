package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"time"

	"focal/actors/conference"
	"focal/api"
)

// Node is one focus node process. Its address flags stay the same across
// restarts, and so does its name.
type Node struct {
	c        *Cluster
	index    int
	name     string
	http     string
	gossip   string
	remote   string
	liveness string
	proc     *proc
}

// Name is the node's cluster name (--node).
func (n *Node) Name() string { return n.name }

// HTTP is the node's HTTP API address (--http).
func (n *Node) HTTP() string { return n.http }

// Gossip is the node's membership address (--gossip).
func (n *Node) Gossip() string { return n.gossip }

// Remote is the node's protoactor remote address (--remote).
func (n *Node) Remote() string { return n.remote }

// Liveness is the node's liveness address (--liveness).
func (n *Node) Liveness() string { return n.liveness }

// LogPath is the file that collects the output of every run of the node.
func (n *Node) LogPath() string { return n.proc.logPath }

// Running reports whether the node's process is running and has not been
// told to stop (by Kill or Term).
func (n *Node) Running() bool { return n.proc.running() }

// Start starts the node's process and waits until it is healthy (for a
// clustered node: its client stream is up).
func (n *Node) Start() error {
	if err := n.proc.start(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	return n.awaitHealthy(ctx)
}

// Kill ends the node with SIGKILL, as a crash would, and waits until the
// process is gone.
func (n *Node) Kill() error { return n.proc.kill() }

// Term sends SIGTERM and waits for the node to exit; a node that does not
// exit with status 0 (within 30 s) is an error.
func (n *Node) Term() error { return n.proc.term() }

// Pause stops the node's process with SIGSTOP, as a long GC pause, swapping
// or a frozen VM would: its sockets stay open and nothing it does moves
// until Continue. The test's cleanup continues a node left paused, so that
// it can be stopped.
func (n *Node) Pause() error {
	if err := n.proc.sendSignal(syscall.SIGSTOP); err != nil {
		return err
	}
	n.c.t.Cleanup(func() { _ = n.proc.sendSignal(syscall.SIGCONT) })
	return nil
}

// Continue wakes a paused node (SIGCONT).
func (n *Node) Continue() error { return n.proc.sendSignal(syscall.SIGCONT) }

// Restart terminates the node if it is running, then starts it again with
// the same flags and waits until it is healthy.
func (n *Node) Restart() error {
	if n.Running() {
		if err := n.Term(); err != nil {
			return err
		}
	}
	return n.Start()
}

// Cluster is the node's GET /cluster, each member's room lists included
// (a member whose directory does not answer costs the node's one-second
// timeout).
func (n *Node) Cluster(ctx context.Context) (api.ClusterView, error) {
	return n.getCluster(ctx, "/cluster")
}

// Members is the node's GET /cluster without the room lists: membership
// and the component flag only, answered at once.
func (n *Node) Members(ctx context.Context) (api.ClusterView, error) {
	return n.getCluster(ctx, "/cluster?rooms=false")
}

func (n *Node) getCluster(ctx context.Context, path string) (api.ClusterView, error) {
	var v api.ClusterView
	err := n.getJSON(ctx, path, &v)
	return v, err
}

// Conferences is the node's GET /debug/conferences: every conference it
// drives or stands by for.
func (n *Node) Conferences(ctx context.Context) ([]conference.Snapshot, error) {
	var out []conference.Snapshot
	err := n.getJSON(ctx, "/debug/conferences", &out)
	return out, err
}

func (n *Node) getJSON(ctx context.Context, path string, v any) error {
	body, status, err := n.get(ctx, path)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("%s: GET %s: %d %s", n.name, path, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: GET %s: %w", n.name, path, err)
	}
	return nil
}

// get fetches path from the node's HTTP API.
func (n *Node) get(ctx context.Context, path string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.http+path, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", n.name, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: GET %s: %w", n.name, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: GET %s: %w", n.name, path, err)
	}
	return body, resp.StatusCode, nil
}

// awaitHealthy polls /about/health until it answers 200, the process
// exits, or ctx ends.
func (n *Node) awaitHealthy(ctx context.Context) error {
	_, exited := n.proc.current()
	var last string
	for {
		body, status, err := n.get(ctx, "/about/health")
		switch {
		case err != nil:
			last = err.Error()
		case status == http.StatusOK:
			return nil
		default:
			last = fmt.Sprintf("%d %s", status, body)
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited while starting: %v (log: %s)", n.name, n.proc.exitErr(), n.proc.logPath)
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy: %s: %w", n.name, last, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// MemberNames lists the names of the members in a /cluster view.
func MemberNames(v api.ClusterView) []string {
	names := make([]string, len(v.Members))
	for i, m := range v.Members {
		names[i] = m.Name
	}
	return names
}

// PID is the process id of the node's current run, or 0.
func (n *Node) PID() int {
	cmd, _ := n.proc.current()
	if cmd == nil || cmd.Process == nil {
		return 0
	}
	return cmd.Process.Pid
}

// OwnRooms returns the conferences this node's own directory drives, asking
// nobody else (GET /cluster?rooms=self), so that it answers at once even
// while the node is cut off from the others.
func (n *Node) OwnRooms(ctx context.Context) ([]string, error) {
	v, err := n.getCluster(ctx, "/cluster?rooms=self")
	if err != nil {
		return nil, err
	}
	for _, m := range v.Members {
		if m.Name == n.Name() {
			return m.Rooms, nil
		}
	}
	return nil, fmt.Errorf("%s: not in its own /cluster", n.Name())
}
