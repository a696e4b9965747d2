package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"focal/bench/bridgesim"
)

// Bridge is one simulated videobridge. All of a cluster's bridges run in
// one bridgesim process, each with its own login and brewery occupant;
// faults are injected per bridge through the process's HTTP controls
// (bridgesim.ControlHandler).
type Bridge struct {
	nick    string
	control string
}

// newBridges makes the bridgesim process for count bridges, jvb1..jvbK.
func (c *Cluster) newBridges(bin string, count, controlPort int, logLevel string) *proc {
	p := c.Prosody
	control := loopback(controlPort)
	for i := range count {
		c.bridges = append(c.bridges, &Bridge{nick: "jvb" + strconv.Itoa(i+1), control: control})
	}
	return &proc{
		name: "bridgesim",
		bin:  bin,
		args: []string{
			"--addr", p.C2SAddr, "--domain", p.AuthDomain(), "--password", p.JVBPassword,
			"--brewery", "jvbbrewery@" + p.BreweryDomain(), "--count", strconv.Itoa(count), "--nick", "jvb",
			"--control", control, "--log-level", logLevel,
		},
		logPath: filepath.Join(c.logDir, "bridgesim.log"),
	}
}

// Nick is the bridge's nickname in the brewery.
func (b *Bridge) Nick() string { return b.nick }

// Status is the bridge's state, with its conferences' endpoints.
func (b *Bridge) Status(ctx context.Context) (bridgesim.Status, error) {
	var st bridgesim.Status
	err := b.call(ctx, http.MethodGet, "/bridges/"+b.nick, &st)
	return st, err
}

// Journal is every conference-modify the bridge received, in order.
func (b *Bridge) Journal(ctx context.Context) ([]bridgesim.Request, error) {
	var j []bridgesim.Request
	err := b.call(ctx, http.MethodGet, "/bridges/"+b.nick+"/journal", &j)
	return j, err
}

// Control runs one of bridgesim's fault actions on the bridge: die, hang,
// resume, stop, start, leave, join, graceful, shutdown (see
// bridgesim.ControlHandler).
func (b *Bridge) Control(ctx context.Context, action string) error {
	return b.call(ctx, http.MethodPost, "/bridges/"+b.nick+"/"+action, nil)
}

func (b *Bridge) call(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+b.control+path, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", b.nick, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %s %s: %w", b.nick, method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s %s: %s", b.nick, method, path, resp.Status)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s: %s %s: %w", b.nick, method, path, err)
	}
	return nil
}

// startBridges runs the bridgesim process and waits until every bridge is
// in the brewery.
func (c *Cluster) startBridges(ctx context.Context) error {
	if err := c.bridgesim.start(); err != nil {
		return err
	}
	_, exited := c.bridgesim.current()
	for _, b := range c.bridges {
		for {
			st, err := b.Status(ctx)
			if err == nil && st.Joined {
				break
			}
			select {
			case <-exited:
				return fmt.Errorf("bridgesim exited while starting: %v (log: %s)", c.bridgesim.exitErr(), c.bridgesim.logPath)
			case <-ctx.Done():
				return fmt.Errorf("%s not in the brewery: %v: %w", b.nick, err, ctx.Err())
			case <-time.After(pollInterval):
			}
		}
	}
	return nil
}

// BridgesPID is the process id of the simulated bridges (one process
// runs them all), or 0.
func (c *Cluster) BridgesPID() int {
	if c.bridgesim == nil {
		return 0
	}
	cmd, _ := c.bridgesim.current()
	if cmd == nil || cmd.Process == nil {
		return 0
	}
	return cmd.Process.Pid
}
