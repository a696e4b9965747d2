package clustertest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// termTimeout bounds how long a process may take to exit after SIGTERM
// before it is killed.
const termTimeout = 30 * time.Second

// proc is one program the harness runs, possibly several times in a row
// (Restart), with every run's output appended to one log file.
type proc struct {
	name    string
	bin     string
	args    []string
	logPath string
	uid     uint32 // run as this user and group id; 0 keeps the test's

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the current run has exited
	waitErr  error         // the current run's exit, once exited is closed
	stopping bool          // the current run was signalled to stop
	runs     int
}

// start runs the program once more. It fails if it is already running.
func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !isClosed(p.exited) {
		return fmt.Errorf("%s is already running", p.name)
	}
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s: open log: %w", p.name, err)
	}
	p.runs++
	fmt.Fprintf(logFile, "=== clustertest: run %d of %s at %s: %s %q\n", p.runs, p.name, time.Now().Format(time.RFC3339Nano), p.bin, p.args)
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if p.uid != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: p.uid, Gid: p.uid}}
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited, p.waitErr, p.stopping = cmd, exited, nil, false
	go func() {
		err := cmd.Wait()
		logFile.Close()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(exited)
	}()
	return nil
}

// running reports whether the current run has not exited and has not
// been told to stop.
func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !isClosed(p.exited) && !p.stopping
}

// current returns the current run's process and exit channel.
func (p *proc) current() (*exec.Cmd, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd, p.exited
}

// signal marks the current run as stopping and sends it sig.
func (p *proc) signal(sig syscall.Signal) (chan struct{}, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || isClosed(p.exited) {
		return nil, fmt.Errorf("%s is not running", p.name)
	}
	p.stopping = true
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return nil, fmt.Errorf("signal %s: %w", p.name, err)
	}
	return p.exited, nil
}

// sendSignal sends sig to the current run without marking it stopping.
func (p *proc) sendSignal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || isClosed(p.exited) {
		return fmt.Errorf("%s is not running", p.name)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %s to %s: %w", sig, p.name, err)
	}
	return nil
}

// exitErr is the current run's exit status; only valid once it exited.
func (p *proc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// kill sends SIGKILL, as a crash would, and waits until the process is
// gone, so that its ports are free.
func (p *proc) kill() error {
	exited, err := p.signal(syscall.SIGKILL)
	if err != nil {
		return err
	}
	<-exited
	return nil
}

// term sends SIGTERM and waits for the process to exit; it fails when the
// exit status is not 0, or when the process takes longer than termTimeout
// (it is then killed).
func (p *proc) term() error {
	exited, err := p.signal(syscall.SIGTERM)
	if err != nil {
		return err
	}
	select {
	case <-exited:
	case <-time.After(termTimeout):
		_, _ = p.signal(syscall.SIGKILL)
		<-exited
		return fmt.Errorf("%s did not exit within %v of SIGTERM; killed", p.name, termTimeout)
	}
	if err := p.exitErr(); err != nil {
		return fmt.Errorf("%s after SIGTERM: %w", p.name, err)
	}
	return nil
}

// stop ends the current run, if any, for good: with SIGTERM like term, or,
// when it was already signalled, by waiting for it (SIGKILL after
// termTimeout).
func (p *proc) stop() error {
	p.mu.Lock()
	alive := p.cmd != nil && !isClosed(p.exited)
	stopping, exited := p.stopping, p.exited
	p.mu.Unlock()
	switch {
	case !alive:
		return nil
	case !stopping:
		return p.term()
	}
	select {
	case <-exited:
	case <-time.After(termTimeout):
		_, _ = p.signal(syscall.SIGKILL)
		<-exited
		return fmt.Errorf("%s did not exit within %v of being stopped; killed", p.name, termTimeout)
	}
	return nil
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
