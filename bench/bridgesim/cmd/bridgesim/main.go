// Command bridgesim runs simulated Jitsi Videobridges that join a brewery and
// answer Colibri2 over XMPP, with fault controls over loopback HTTP.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"focal/bench/bridgesim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bridgesim:", err)
		os.Exit(1)
	}
}

type options struct {
	addr, domain, user, password, brewery string
	nick, region, version, control        string
	wsBase, candidateIP, logLevel         string
	count, candidatePort                  int
	stress                                float64
	relayIDs                              bool
	startTimeout                          time.Duration
}

func parseFlags() (options, error) {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:5222", "c2s address of the XMPP server")
	flag.StringVar(&o.domain, "domain", "auth.meet.jitsi", "domain of the bridge account")
	flag.StringVar(&o.user, "user", "jvb", "bridge account; every bridge logs in as it, with resource = nick")
	flag.StringVar(&o.password, "password", "", "password of the account (default $BRIDGESIM_PASSWORD)")
	flag.StringVar(&o.brewery, "brewery", "", "brewery room JID (default jvbbrewery@internal.<domain>)")
	flag.IntVar(&o.count, "count", 1, "number of bridges")
	flag.StringVar(&o.nick, "nick", "jvb", "nickname prefix: bridges are <nick>1..<nick>N")
	flag.StringVar(&o.region, "region", "", "region stat of every bridge")
	flag.Float64Var(&o.stress, "stress", 0, "stress_level stat of every bridge")
	flag.StringVar(&o.version, "version", "bridgesim", "version stat of every bridge")
	flag.BoolVar(&o.relayIDs, "relay-ids", false, "publish relay_id = nick, so that a focus may cascade the bridges")
	flag.StringVar(&o.control, "control", "", "loopback host:port for the HTTP fault controls (off when empty)")
	flag.StringVar(&o.wsBase, "websocket", "", "base URL of colibri web-sockets in endpoint transports (none when empty)")
	flag.StringVar(&o.candidateIP, "candidate-ip", bridgesim.DefaultCandidateIP, "IP of the host candidate in transports")
	flag.IntVar(&o.candidatePort, "candidate-port", bridgesim.DefaultCandidatePort, "port of the host candidate in transports")
	flag.DurationVar(&o.startTimeout, "start-timeout", time.Minute, "how long to wait for every bridge to join the brewery")
	flag.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	flag.Parse()
	if flag.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if o.password == "" {
		o.password = os.Getenv("BRIDGESIM_PASSWORD")
	}
	if o.brewery == "" {
		o.brewery = "jvbbrewery@internal." + o.domain
	}
	if o.count < 1 {
		return o, errors.New("--count must be at least 1")
	}
	if o.control != "" {
		if err := checkLoopback(o.control); err != nil {
			return o, err
		}
	}
	return o, nil
}

// checkLoopback refuses control addresses off the loopback interface: the
// controls kill bridges and take no credentials.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--control %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--control %q: not a loopback address", addr)
	}
	return nil
}

func run() error {
	o, err := parseFlags()
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	bridges := make([]*bridgesim.Bridge, o.count)
	for i := range bridges {
		nick := o.nick + strconv.Itoa(i+1)
		stats := bridgesim.Stats{StressLevel: o.stress, Region: o.region, Version: o.version}
		if o.relayIDs {
			stats.RelayID = nick
		}
		bridges[i] = bridgesim.New(bridgesim.Config{
			Addr: o.addr, Domain: o.domain, User: o.user, Password: o.password,
			Brewery: o.brewery, Nick: nick, Stats: stats, Logger: log,
			CandidateIP: o.candidateIP, CandidatePort: o.candidatePort, WebSocketBase: o.wsBase,
		})
	}
	defer stopAll(bridges)

	var srv *http.Server
	srvDone := make(chan error, 1)
	if o.control != "" {
		ln, err := net.Listen("tcp", o.control)
		if err != nil {
			return fmt.Errorf("control listener: %w", err)
		}
		srv = &http.Server{Handler: bridgesim.ControlHandler(bridges), ReadHeaderTimeout: 5 * time.Second}
		go func() { srvDone <- srv.Serve(ln) }()
		log.Info("control API listening", "addr", ln.Addr().String())
	}

	startCtx, cancelStart := context.WithTimeout(ctx, o.startTimeout)
	err = startAll(startCtx, bridges)
	cancelStart()
	if ctx.Err() != nil {
		return nil // a signal during start-up: stop like after it
	}
	if err != nil {
		return err
	}
	log.Info("bridges in the brewery", "count", len(bridges), "brewery", o.brewery)

	select {
	case <-ctx.Done():
		log.Info("signal received; leaving the brewery")
	case err := <-srvDone:
		return fmt.Errorf("control server: %w", err)
	}
	if srv != nil {
		shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutCtx)
	}
	return nil
}

func startAll(ctx context.Context, bridges []*bridgesim.Bridge) error {
	errs := make([]error, len(bridges))
	var wg sync.WaitGroup
	for i, b := range bridges {
		wg.Go(func() { errs[i] = b.Start(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func stopAll(bridges []*bridgesim.Bridge) {
	var wg sync.WaitGroup
	for _, b := range bridges {
		wg.Go(b.Stop)
	}
	wg.Wait()
}
