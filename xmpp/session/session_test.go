package session_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	mxmpp "mellium.im/xmpp"
	"mellium.im/xmpp/component"
	"mellium.im/xmpp/jid"

	"focal/internal/prosodytest"
	"focal/xmpp"
	"focal/xmpp/session"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitLimit bounds every wait for an event; nothing here should take more
// than a fraction of it.
const waitLimit = 15 * time.Second

// nsTest is the namespace of the test payloads a peer answers.
const nsTest = "urn:focal:session-test"

func boundedCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

// await receives from ch within waitLimit.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

type stateEvent struct {
	up   bool
	addr string
}

// peer is a running Session with its callbacks recorded.
type peer struct {
	s       *session.Session
	states  chan stateEvent
	stanzas chan *xmpp.Element // what reached the Handler, apart from test requests
	held    chan *xmpp.Element // "late" requests, to be answered by the test
	cancel  context.CancelFunc
}

// logWriter sends a session's log lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// startPeer runs a session whose handler answers test requests:
//
//	<echo/>     a result carrying the payload back
//	<ignore/>   nothing
//	<impostor/> first a result from another address of the same domain, then the real one
//	<late/>     held in peer.held for the test to answer
//
// Everything else goes to peer.stanzas.
func startPeer(t *testing.T, name string, dial session.Dialer) *peer {
	t.Helper()
	return startPeerWith(t, name, dial, nil)
}

// startPeerWith is startPeer with a last say on the Config (may be nil).
func startPeerWith(t *testing.T, name string, dial session.Dialer, configure func(*session.Config)) *peer {
	t.Helper()
	p := &peer{
		states:  make(chan stateEvent, 64),
		stanzas: make(chan *xmpp.Element, 256),
		held:    make(chan *xmpp.Element, 16),
	}
	var s *session.Session
	handler := func(el *xmpp.Element) {
		payload := el.FirstChild()
		if !xmpp.IsIQRequest(el) || payload == nil || payload.Name.Space != nsTest {
			select {
			case p.stanzas <- el:
			default:
			}
			return
		}
		switch payload.Name.Local {
		case "echo":
			// Where the request stood in the server session (Position).
			id, pos, since := s.Position()
			echo := payload.Clone().SetAttr("answered-by", name).SetAttr("session", id)
			echo.SetAttr("position", strconv.FormatUint(uint64(pos), 10)).SetAttr("since", strconv.FormatUint(uint64(since), 10))
			_ = s.Send(xmpp.ResultFor(el, echo))
		case "impostor":
			fake := xmpp.ResultFor(el, xmpp.NewElement(nsTest, "fake"))
			to, _ := jid.Parse(el.AttrValue("to"))
			fake.SetAttr("from", "impostor@"+to.Domainpart())
			_ = s.Send(fake)
			_ = s.Send(xmpp.ResultFor(el, xmpp.NewElement(nsTest, "genuine")))
		case "late":
			p.held <- el
		case "ignore":
		}
	}
	cfg := session.Config{
		Name:       name,
		Dial:       dial,
		Handler:    handler,
		State:      func(up bool, addr string) { p.states <- stateEvent{up, addr} },
		Logger:     slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name()),
		MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond,
	}
	if configure != nil {
		configure(&cfg)
	}
	s = session.New(cfg)
	p.s = s
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go s.Run(ctx)
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.Done():
		case <-time.After(waitLimit):
			t.Errorf("%s: Run did not return after cancel", name)
		}
	})
	return p
}

func componentDialer(srv *prosodytest.Server) session.Dialer {
	return session.ComponentDialer(srv.ComponentAddr, srv.FocusComponent(), srv.FocusSecret)
}

func focusJID(srv *prosodytest.Server) string {
	return "focus@" + srv.AuthDomain() + "/r1"
}

// checkClientAddr checks the address a client stream is bound to: the focus
// account with exactly the resource asked for.
func checkClientAddr(t *testing.T, srv *prosodytest.Server, addr string) {
	t.Helper()
	if want := focusJID(srv); addr != want {
		t.Fatalf("client bound to %q, want %q", addr, want)
	}
}

func clientDialer(srv *prosodytest.Server) session.Dialer {
	return session.ClientDialer(session.ClientOptions{
		Addr:     srv.C2SAddr,
		JID:      focusJID(srv),
		Password: srv.FocusPassword,
		TLS:      &tls.Config{InsecureSkipVerify: true, ServerName: srv.AuthDomain()},
	})
}

// waitUp waits until p is up and returns the address of its up event.
func (p *peer) waitUp(t *testing.T) string {
	t.Helper()
	ev := await(t, p.states, "stream up")
	if !ev.up {
		t.Fatalf("first state event is down")
	}
	if err := p.s.WaitUp(boundedCtx(t)); err != nil {
		t.Fatalf("WaitUp: %v", err)
	}
	return ev.addr
}

func testIQ(to, local string) *xmpp.Element {
	return xmpp.NewIQ(xmpp.IQGet, "", to, "", xmpp.NewElement(nsTest, local))
}

type response struct {
	el  *xmpp.Element
	err error
}

// request sends iq with Request and returns the channel its one answer
// arrives on; a second call of the callback fails the test.
func request(t *testing.T, s *session.Session, iq *xmpp.Element, timeout time.Duration) <-chan response {
	ch := make(chan response, 1)
	var calls atomic.Int32
	s.Request(iq, timeout, func(el *xmpp.Element, err error) {
		if calls.Add(1) > 1 {
			t.Errorf("response callback called again with %v, %v", el, err)
			return
		}
		ch <- response{el, err}
	})
	return ch
}

func TestSessionsComeUpAndExchangeIQs(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	comp := startPeer(t, "component", componentDialer(srv))
	client := startPeer(t, "client", clientDialer(srv))

	if addr := comp.waitUp(t); addr != srv.FocusComponent() {
		t.Fatalf("component bound to %q, want %q", addr, srv.FocusComponent())
	}
	clientAddr := client.waitUp(t)
	checkClientAddr(t, srv, clientAddr)
	if up, addr := client.s.Up(); !up || addr != clientAddr || client.s.Addr() != addr {
		t.Fatalf("Up() = %v, %q; Addr() = %q; up event at %q", up, addr, client.s.Addr(), clientAddr)
	}

	// Client to component, answered from the component's Handler.
	ctx := boundedCtx(t)
	res, err := client.s.RequestWait(ctx, testIQ(srv.FocusComponent(), "echo"))
	if err != nil {
		t.Fatalf("request to the component: %v", err)
	}
	if res.AttrValue("type") != xmpp.IQResult || res.AttrValue("from") != srv.FocusComponent() {
		t.Fatalf("answer %s", res)
	}
	if e := res.Child(nsTest, "echo"); e == nil || e.AttrValue("answered-by") != "component" {
		t.Fatalf("answer %s does not carry the component's payload", res)
	}

	// Component to client.
	iq := testIQ(clientAddr, "echo")
	res, err = comp.s.RequestWait(ctx, iq)
	if err != nil {
		t.Fatalf("request to the client: %v", err)
	}
	if res.AttrValue("id") != iq.AttrValue("id") || res.Child(nsTest, "echo").AttrValue("answered-by") != "client" {
		t.Fatalf("answer %s", res)
	}

	// The server answers for the account (no 'to') and for its domain.
	ping := xmpp.NewElement("urn:xmpp:ping", "ping")
	if _, err := client.s.RequestWait(ctx, xmpp.NewIQ(xmpp.IQGet, "", "", "", ping)); err != nil {
		t.Fatalf("ping without 'to': %v", err)
	}
	if _, err := client.s.RequestWait(ctx, xmpp.NewIQ(xmpp.IQGet, "", srv.AuthDomain(), "", ping)); err != nil {
		t.Fatalf("ping to the domain: %v", err)
	}

	// A request nobody serves comes back as a stanza error.
	_, err = client.s.RequestWait(ctx, testIQ("nobody@"+srv.AuthDomain(), "echo"))
	if xmpp.ConditionOf(err) == "" {
		t.Fatalf("request to an unknown account: %v, want a stanza error", err)
	}
}

func TestSessionRequestToAbsentComponentGetsProsodysError(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	client := startPeer(t, "client", clientDialer(srv))
	client.waitUp(t)

	res, err := client.s.RequestWait(boundedCtx(t), testIQ(srv.FocusComponent(), "echo"))
	var se xmpp.StanzaError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, %v; want a stanza error", res, err)
	}
	if se.Condition != xmpp.RemoteServerTimeout || se.Type != xmpp.ErrorWait {
		t.Fatalf("error %+v, want remote-server-timeout (wait)", se)
	}
	if res == nil || res.AttrValue("type") != xmpp.IQError {
		t.Fatalf("error stanza %v", res)
	}
}

func TestSessionRequestTimeout(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	comp := startPeer(t, "component", componentDialer(srv))
	client := startPeer(t, "client", clientDialer(srv))
	comp.waitUp(t)
	client.waitUp(t)

	iq := testIQ(srv.FocusComponent(), "late")
	start := time.Now()
	r := await(t, request(t, client.s, iq, 300*time.Millisecond), "timeout")
	if !errors.Is(r.err, session.ErrTimeout) || r.el != nil {
		t.Fatalf("got %v, %v; want ErrTimeout", r.el, r.err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("timed out after %v", d)
	}

	// The component answers after all: too late to be a response, the
	// result reaches the client's Handler like any stanza.
	held := await(t, comp.held, "the late request at the component")
	if err := comp.s.Send(xmpp.ResultFor(held, nil)); err != nil {
		t.Fatal(err)
	}
	late := await(t, client.stanzas, "the late result")
	if late.AttrValue("id") != iq.AttrValue("id") || late.AttrValue("type") != xmpp.IQResult {
		t.Fatalf("handler got %s", late)
	}

	// RequestWait takes its timeout from the context.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := client.s.RequestWait(ctx, testIQ(srv.FocusComponent(), "ignore"))
	if !errors.Is(err, session.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RequestWait: %v", err)
	}
}

func TestSessionResponseFromAnotherAddressIsNotAResponse(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	comp := startPeer(t, "component", componentDialer(srv))
	client := startPeer(t, "client", clientDialer(srv))
	comp.waitUp(t)
	client.waitUp(t)

	iq := testIQ(srv.FocusComponent(), "impostor")
	res, err := client.s.RequestWait(boundedCtx(t), iq)
	if err != nil {
		t.Fatal(err)
	}
	if res.AttrValue("from") != srv.FocusComponent() || res.Child(nsTest, "genuine") == nil {
		t.Fatalf("accepted %s as the response", res)
	}
	// The impostor's result, with the same id, went to the Handler.
	fake := await(t, client.stanzas, "the impostor's result")
	if fake.AttrValue("from") != "impostor@"+srv.FocusComponent() || fake.AttrValue("id") != iq.AttrValue("id") {
		t.Fatalf("handler got %s", fake)
	}
}

// recordingConn keeps a copy of everything written to it.
type recordingConn struct {
	net.Conn
	mu  sync.Mutex
	out bytes.Buffer
}

func (c *recordingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	c.out.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func (c *recordingConn) written() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

func TestSessionFlushWaitsForQueuedStanzas(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	conns := make(chan *recordingConn, 4)
	dial := func(ctx context.Context) (*mxmpp.Session, string, error) {
		raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", srv.ComponentAddr)
		if err != nil {
			return nil, "", err
		}
		rc := &recordingConn{Conn: raw}
		s, err := component.NewSession(ctx, jid.MustParse(srv.FocusComponent()), []byte(srv.FocusSecret), rc)
		if err != nil {
			raw.Close()
			return nil, "", err
		}
		conns <- rc
		return s, xmpp.NSComponent, nil
	}
	comp := startPeer(t, "component", dial)
	comp.waitUp(t)
	rc := await(t, conns, "the component connection")

	// Many stanzas written back to back: each write must get its own write
	// deadline and nothing left over from the previous one.
	var ids []string
	for i := range 1000 {
		id := fmt.Sprintf("flush-%04d", i)
		ids = append(ids, id)
		msg := xmpp.NewElement("", "message", "id", id, "to", "nobody@"+srv.AuthDomain(), "type", "headline").
			Append(xmpp.NewElement("", "body").WithText(strings.Repeat("x", 64)))
		if err := comp.s.Send(msg); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	if err := comp.s.Flush(boundedCtx(t)); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	out := rc.written()
	for _, id := range ids {
		if !strings.Contains(out, `id="`+id+`"`) {
			t.Fatalf("Flush returned before %s was written", id)
		}
	}
	select {
	case ev := <-comp.states:
		t.Fatalf("stream state changed while writing: %+v", ev)
	default:
	}
	// Nothing queued: Flush returns at once.
	if err := comp.s.Flush(boundedCtx(t)); err != nil {
		t.Fatalf("empty Flush: %v", err)
	}
	// Flush gives up with its context.
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := comp.s.Flush(cancelled); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Flush with a cancelled context: %v", err)
	}
}

func TestSessionsComeBackAfterProsodyRestart(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	comp := startPeer(t, "component", componentDialer(srv))
	client := startPeer(t, "client", clientDialer(srv))
	comp.waitUp(t)
	client.waitUp(t)

	// A request in flight when the stream goes is failed, not left hanging.
	inFlight := request(t, client.s, testIQ(srv.FocusComponent(), "late"), time.Hour)
	await(t, comp.held, "the request at the component")

	srv.Restart(t)

	for _, p := range []struct {
		name string
		peer *peer
	}{{"component", comp}, {"client", client}} {
		if ev := await(t, p.peer.states, p.name+" down"); ev.up {
			t.Fatalf("%s: up event %+v before the down event", p.name, ev)
		}
		ev := await(t, p.peer.states, p.name+" up again")
		if !ev.up {
			t.Fatalf("%s: event %+v, want up", p.name, ev)
		}
		if p.peer == comp && ev.addr != srv.FocusComponent() {
			t.Fatalf("component up at %q", ev.addr)
		}
		if p.peer == client {
			checkClientAddr(t, srv, ev.addr)
		}
		if err := p.peer.s.WaitUp(boundedCtx(t)); err != nil {
			t.Fatalf("%s: WaitUp: %v", p.name, err)
		}
	}
	if r := await(t, inFlight, "the in-flight request to fail"); !errors.Is(r.err, session.ErrDisconnected) {
		t.Fatalf("in-flight request: %v, %v; want ErrDisconnected", r.el, r.err)
	}

	res, err := client.s.RequestWait(boundedCtx(t), testIQ(srv.FocusComponent(), "echo"))
	if err != nil {
		t.Fatalf("request after the restart: %v", err)
	}
	if res.Child(nsTest, "echo") == nil {
		t.Fatalf("answer %s", res)
	}
	select {
	case ev := <-comp.states:
		t.Fatalf("component: unexpected state event %+v", ev)
	case ev := <-client.states:
		t.Fatalf("client: unexpected state event %+v", ev)
	default:
	}
}

func TestSessionRunReturnsAfterCancel(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	comp := startPeer(t, "component", componentDialer(srv))
	client := startPeer(t, "client", clientDialer(srv))
	comp.waitUp(t)
	client.waitUp(t)

	pending := request(t, client.s, testIQ(srv.FocusComponent(), "late"), time.Hour)
	await(t, comp.held, "the request at the component")

	client.cancel()
	await(t, client.s.Done(), "Run to return")
	if r := await(t, pending, "the pending request to fail"); !errors.Is(r.err, session.ErrDisconnected) && !errors.Is(r.err, session.ErrClosed) {
		t.Fatalf("pending request: %v, %v", r.el, r.err)
	}
	if ev := await(t, client.states, "down"); ev.up {
		t.Fatalf("state %+v after cancel", ev)
	}

	if err := client.s.Send(testIQ(srv.FocusComponent(), "echo")); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("Send after Run: %v, want ErrClosed", err)
	}
	if r := await(t, request(t, client.s, testIQ(srv.FocusComponent(), "echo"), time.Hour), "Request after Run"); !errors.Is(r.err, session.ErrClosed) {
		t.Fatalf("Request after Run: %v, want ErrClosed", r.err)
	}
	if err := client.s.Flush(boundedCtx(t)); err == nil {
		t.Fatal("Flush after Run succeeded")
	}
	if up, _ := client.s.Up(); up {
		t.Fatal("Up after Run")
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := client.s.WaitUp(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitUp after Run: %v", err)
	}

	// The component is unaffected.
	if up, _ := comp.s.Up(); !up {
		t.Fatal("component went down")
	}
}

func TestSessionBeforeRunAndWithoutServer(t *testing.T) {
	// Nothing listens on this port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	dialed := make(chan error, 1000)
	dial := func(ctx context.Context) (*mxmpp.Session, string, error) {
		s, ns, err := session.ComponentDialer(addr, "focus.example.com", "secret")(ctx)
		dialed <- err
		return s, ns, err
	}
	s := session.New(session.Config{Name: "nowhere", Dial: dial,
		Logger:     slog.New(slog.NewTextHandler(logWriter{t}, nil)),
		MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})

	if err := s.Send(testIQ("x@example.com", "echo")); !errors.Is(err, session.ErrNotConnected) {
		t.Fatalf("Send before Run: %v", err)
	}
	if r := await(t, request(t, s, testIQ("x@example.com", "echo"), time.Hour), "Request before Run"); !errors.Is(r.err, session.ErrNotConnected) {
		t.Fatalf("Request before Run: %v", r.err)
	}
	if err := s.Flush(boundedCtx(t)); !errors.Is(err, session.ErrNotConnected) {
		t.Fatalf("Flush before Run: %v", err)
	}
	if up, addr := s.Up(); up || addr != "" {
		t.Fatalf("Up() = %v, %q", up, addr)
	}

	ctx, cancel := context.WithCancel(context.Background())
	go s.Run(ctx)
	// Let it fail a few times, then stop it while it retries.
	for i := range 3 {
		if err := await(t, dialed, fmt.Sprintf("dial attempt %d", i+1)); err == nil {
			t.Fatal("dial to a closed port succeeded")
		}
	}
	cancel()
	await(t, s.Done(), "Run to return")
	if err := s.Send(testIQ("x@example.com", "echo")); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("Send after Run: %v", err)
	}
}

func TestDialersRefuseBadCredentials(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	ctx := boundedCtx(t)
	if s, _, err := session.ComponentDialer(srv.ComponentAddr, srv.FocusComponent(), "wrong")(ctx); err == nil {
		s.Conn().Close()
		t.Fatal("component handshake with a wrong secret succeeded")
	}
	if s, _, err := session.ComponentDialer(srv.ComponentAddr, "not a domain@@", srv.FocusSecret)(ctx); err == nil {
		s.Conn().Close()
		t.Fatal("component with an invalid domain")
	}
	bad := session.ClientDialer(session.ClientOptions{
		Addr: srv.C2SAddr, JID: focusJID(srv), Password: "wrong",
		TLS: &tls.Config{InsecureSkipVerify: true, ServerName: srv.AuthDomain()},
	})
	if s, _, err := bad(ctx); err == nil {
		s.Conn().Close()
		t.Fatal("client login with a wrong password succeeded")
	}

	// Both dialers work with the right credentials, and anonymously.
	for name, d := range map[string]session.Dialer{
		"component": componentDialer(srv),
		"client":    clientDialer(srv),
		"anonymous": session.ClientDialer(session.ClientOptions{
			Addr: srv.C2SAddr, JID: srv.Domain,
			TLS: &tls.Config{InsecureSkipVerify: true, ServerName: srv.Domain},
		}),
	} {
		s, ns, err := d(ctx)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := xmpp.NSClient
		if name == "component" {
			want = xmpp.NSComponent
		}
		if ns != want {
			t.Errorf("%s: namespace %q, want %q", name, ns, want)
		}
		if name == "anonymous" && (s.LocalAddr().Domainpart() != srv.Domain || s.LocalAddr().Localpart() == "") {
			t.Errorf("anonymous login bound to %s", s.LocalAddr())
		}
		_ = s.Close()
		_ = s.Conn().Close()
	}
}
