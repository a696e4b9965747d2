package conference

// The conference actor tested alone: a scripted wire stands for the
// focus's session in the room and another for the bridges' (Colibri2), a
// scripted brewery answers bridge selections when the test says so, and a
// recorder is the conference's parent, its replica and the sender of
// what the directory would send it. Every expectation is awaited with a
// deadline that fails the test; nothing sleeps.

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"focal/actors/bridge"
	"focal/actors/participant"
	"focal/media/offer"
	"focal/media/sources"
	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/session"
)

func TestMain(m *testing.M) {
	// protoactor's dead-letter throttle keeps a goroutine per actor system
	// for a second after the system is gone.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"))
}

const (
	testDomain    = "meet.example.com"
	testFocusJID  = "focus@auth.meet.example.com"
	testFocusAddr = "focus@auth.meet.example.com/focus"
	testVersion   = "1.2.3-test"
	jvb1          = "jvbbrewery@internal.auth.meet.example.com/jvb1"
	jvb2          = "jvbbrewery@internal.auth.meet.example.com/jvb2"
	jvb3          = "jvbbrewery@internal.auth.meet.example.com/jvb3"

	// awaitTimeout bounds every wait: generous, for -race on a shared
	// machine; a passing test never waits that long.
	awaitTimeout = 10 * time.Second
)

// defaultFeatures is what a Jitsi Meet web client advertises (without
// JSON-encoded sources, so that sources travel as ssma elements).
var defaultFeatures = []string{
	offer.FeatureAudio, offer.FeatureVideo, offer.FeatureSCTP,
	offer.FeatureRTX, offer.FeatureTCC, offer.FeatureOpusRED,
}

// queue is what a scripted party has seen and the test has not yet taken:
// the test takes the first item matching what it expects, awaiting it.
type queue[T any] struct {
	mu      sync.Mutex
	items   []T
	changed chan struct{}
}

func (q *queue[T]) push(v T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items = append(q.items, v)
	if q.changed != nil {
		close(q.changed)
		q.changed = nil
	}
}

// take removes and returns the first item that matches, awaiting one until
// the deadline; past it the test fails, listing what is there instead.
func (q *queue[T]) take(t testing.TB, what string, match func(T) bool) T {
	t.Helper()
	_, v := q.takeUntil(t, what, match, func(T) bool { return false })
	return v
}

// takeUntil is take that also removes and returns, in order, the items
// before the match for which also holds.
func (q *queue[T]) takeUntil(t testing.TB, what string, match, also func(T) bool) ([]T, T) {
	t.Helper()
	deadline := time.NewTimer(awaitTimeout)
	defer deadline.Stop()
	for {
		q.mu.Lock()
		if i := slices.IndexFunc(q.items, match); i >= 0 {
			target := q.items[i]
			var before, rest []T
			for j, v := range q.items {
				switch {
				case j == i:
				case j < i && also(v):
					before = append(before, v)
				default:
					rest = append(rest, v)
				}
			}
			q.items = rest
			q.mu.Unlock()
			return before, target
		}
		if q.changed == nil {
			q.changed = make(chan struct{})
		}
		ch := q.changed
		q.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out awaiting %s; there are instead:\n%s", what, q.describe())
		}
	}
}

// pending returns (without taking) what the test has not taken.
func (q *queue[T]) pending() []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.items)
}

// drop removes every item that matches, returning them.
func (q *queue[T]) drop(match func(T) bool) []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []T
	q.items = slices.DeleteFunc(q.items, func(v T) bool {
		if match(v) {
			out = append(out, v)
			return true
		}
		return false
	})
	return out
}

func (q *queue[T]) describe() string {
	var b strings.Builder
	for _, v := range q.pending() {
		s := fmt.Sprint(v)
		if len(s) > 400 {
			s = s[:400] + "…"
		}
		fmt.Fprintf(&b, "  %s\n", s)
	}
	if b.Len() == 0 {
		return "  (nothing)"
	}
	return b.String()
}

// wireItem is a stanza the conference (or one of its children) put on a
// scripted wire: sent, or (cb set) a request the test answers.
type wireItem struct {
	el *xmpp.Element
	cb session.ResponseFunc
}

func (it *wireItem) String() string {
	kind := "sent"
	if it.cb != nil {
		kind = "request"
	}
	return kind + " " + it.el.String()
}

// result answers the request with a result carrying payload (may be nil).
func (it *wireItem) result(payload *xmpp.Element) {
	it.cb(xmpp.ResultFor(it.el, payload), nil)
}

// fail answers the request with a stanza error.
func (it *wireItem) fail(condition string) {
	se := xmpp.NewStanzaError(condition, "")
	it.cb(xmpp.ErrorFor(it.el, se), se)
}

// scriptedWire is a session.Wire that records what is sent and asked on
// it; the test awaits each stanza and answers each request itself.
//
// It is a session.HeldWire too. Once counting (count), a stanza sent
// held gets the next place in a count of server session sid, and shows
// on the wire only once let go, as the session writes it; until then it
// holds nothing else back, which a test does not need. Otherwise it
// refuses to hold (session.ErrNotCounted).
type scriptedWire struct {
	name string
	q    queue[*wireItem]

	mu    sync.Mutex
	sid   string // counting when set
	pos   uint32
	held  map[uint32]*wireItem
	lets  int
	acked uint32       // the server's acknowledgement (Received)
	took  session.Mark // TookOver
}

var _ session.HeldWire = (*scriptedWire)(nil)

func (w *scriptedWire) Send(el *xmpp.Element) error {
	w.q.push(&wireItem{el: el.Clone()})
	return nil
}

func (w *scriptedWire) Request(iq *xmpp.Element, _ time.Duration, cb session.ResponseFunc) {
	w.q.push(&wireItem{el: iq.Clone(), cb: cb})
}

// count makes the wire count what it sends as server session sid, which
// a new owner resumed with the server having took of it.
func (w *scriptedWire) count(sid string, took session.Mark) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sid, w.took, w.held = sid, took, make(map[uint32]*wireItem)
}

func (w *scriptedWire) hold(it *wireItem) (session.Mark, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sid == "" {
		return session.Mark{}, session.ErrNotCounted
	}
	w.pos++
	w.held[w.pos] = it
	return session.Mark{Session: w.sid, Pos: w.pos}, nil
}

func (w *scriptedWire) SendHeld(el *xmpp.Element) (session.Mark, error) {
	return w.hold(&wireItem{el: el.Clone()})
}

func (w *scriptedWire) RequestHeld(iq *xmpp.Element, _ time.Duration, cb session.ResponseFunc) (session.Mark, error) {
	return w.hold(&wireItem{el: iq.Clone(), cb: cb})
}

func (w *scriptedWire) Let(m session.Mark) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if it := w.held[m.Pos]; it != nil && m.Session == w.sid {
		delete(w.held, m.Pos)
		w.lets++
		w.q.push(it)
	}
}

// stillHeld says how many stanzas wait to be let go.
func (w *scriptedWire) stillHeld() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.held)
}

func (w *scriptedWire) Received(m session.Mark) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return m.Session == w.sid && m.Pos > 0 && m.Pos <= w.acked
}

func (w *scriptedWire) TookOver() session.Mark {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.took
}

// awaitRequest takes the first request that matches.
func (w *scriptedWire) awaitRequest(t testing.TB, what string, match func(*xmpp.Element) bool) *wireItem {
	t.Helper()
	return w.q.take(t, what+" (request on the "+w.name+" wire)", func(it *wireItem) bool { return it.cb != nil && match(it.el) })
}

// awaitSent takes the first stanza sent (not asked) that matches.
func (w *scriptedWire) awaitSent(t testing.TB, what string, match func(*xmpp.Element) bool) *xmpp.Element {
	t.Helper()
	return w.q.take(t, what+" (sent on the "+w.name+" wire)", func(it *wireItem) bool { return it.cb == nil && match(it.el) }).el
}

// Stanza matchers.

func isIQ(el *xmpp.Element, typ, to string) bool {
	return el.Name.Local == xmpp.KindIQ && el.AttrValue("type") == typ && (to == "" || el.AttrValue("to") == to)
}

func jingleOf(el *xmpp.Element) *xmpp.Jingle {
	payload := el.Child(xmpp.JingleNS, "jingle")
	if payload == nil {
		return nil
	}
	var j xmpp.Jingle
	if err := payload.Decode(&j); err != nil {
		return nil
	}
	return &j
}

// jingleTo matches a Jingle request with action to an occupant.
func jingleTo(occupant string, action xmpp.JingleAction) func(*xmpp.Element) bool {
	return func(el *xmpp.Element) bool {
		j := jingleOf(el)
		return isIQ(el, xmpp.IQSet, occupant) && j != nil && j.Action == action
	}
}

func discoTo(occupant string) func(*xmpp.Element) bool {
	return func(el *xmpp.Element) bool {
		return isIQ(el, xmpp.IQGet, occupant) && el.Child(participant.NSDiscoInfo, "query") != nil
	}
}

func colibriOf(el *xmpp.Element) *xmpp.Colibri2ConferenceModify {
	payload := el.Child(xmpp.Colibri2NS, "conference-modify")
	if payload == nil {
		return nil
	}
	var mod xmpp.Colibri2ConferenceModify
	if err := payload.Decode(&mod); err != nil {
		return nil
	}
	return &mod
}

// colibriTo matches a conference-modify to bridge for which match holds.
func colibriTo(bridgeJID string, match func(*xmpp.Colibri2ConferenceModify) bool) func(*xmpp.Element) bool {
	return func(el *xmpp.Element) bool {
		mod := colibriOf(el)
		return isIQ(el, xmpp.IQGet, bridgeJID) && mod != nil && match(mod)
	}
}

func createsEndpoint(id string) func(*xmpp.Colibri2ConferenceModify) bool {
	return func(mod *xmpp.Colibri2ConferenceModify) bool {
		ep := mod.Endpoint(id)
		return ep != nil && ep.Create
	}
}

func expiresEndpoint(id string) func(*xmpp.Colibri2ConferenceModify) bool {
	return func(mod *xmpp.Colibri2ConferenceModify) bool {
		ep := mod.Endpoint(id)
		return ep != nil && ep.Expire
	}
}

func updatesEndpoint(id string) func(*xmpp.Colibri2ConferenceModify) bool {
	return func(mod *xmpp.Colibri2ConferenceModify) bool {
		ep := mod.Endpoint(id)
		return ep != nil && !ep.Create && !ep.Expire
	}
}

func expiresConference(mod *xmpp.Colibri2ConferenceModify) bool {
	return mod.Expire && len(mod.Endpoints) == 0
}

// replyTo matches the answer (result or error) to the IQ with id.
func replyTo(id, typ string) func(*xmpp.Element) bool {
	return func(el *xmpp.Element) bool {
		return el.Name.Local == xmpp.KindIQ && el.AttrValue("id") == id && el.AttrValue("type") == typ
	}
}

// conditionOf is the defined condition of an error stanza.
func conditionOf(el *xmpp.Element) string {
	se, _ := xmpp.ErrorOf(el)
	return se.Condition
}

// selectReq is one Select the scripted brewery got.
type selectReq struct {
	sel  *bridge.Select
	from *actor.PID
}

func (r *selectReq) String() string {
	var bs []string
	for _, b := range r.sel.Bridges {
		bs = append(bs, fmt.Sprintf("%s(%d)", b.JID, b.Participants))
	}
	return fmt.Sprintf("Select room=%s bridges=%v", r.sel.Room, bs)
}

// scriptedBrewery hands every Select to the test, which answers it when
// and how it chooses. It counts, per room, the Selects not yet answered,
// and notes every Select that arrives while its room has one outstanding.
type scriptedBrewery struct {
	q           queue[*selectReq]
	mu          sync.Mutex
	outstanding map[string]int
	most        map[string]int // most Selects outstanding at once, per room
	failed      queue[string]  // bridges reported with bridge.Failed
}

func newScriptedBrewery() *scriptedBrewery {
	return &scriptedBrewery{outstanding: map[string]int{}, most: map[string]int{}}
}

func (b *scriptedBrewery) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *bridge.Select:
		b.mu.Lock()
		b.outstanding[msg.Room]++
		b.most[msg.Room] = max(b.most[msg.Room], b.outstanding[msg.Room])
		b.mu.Unlock()
		b.q.push(&selectReq{sel: msg, from: ctx.Sender()})
	case *bridge.Failed:
		b.failed.push(msg.Bridge)
	case *brewerySync:
		ctx.Respond(msg)
	}
}

// brewerySync is answered once the brewery has handled everything sent
// to it before.
type brewerySync struct{}

// sync returns once the brewery has recorded every Select sent to it
// before the call.
func (h *harness) syncBrewery() {
	h.t.Helper()
	if _, err := h.root.RequestFuture(h.breweryPID, &brewerySync{}, awaitTimeout).Result(); err != nil {
		h.t.Fatalf("brewery sync: %v", err)
	}
}

// answer sends the answer to r (its request is no longer outstanding).
func (b *scriptedBrewery) answer(root *actor.RootContext, r *selectReq, res *bridge.Selected) {
	b.mu.Lock()
	b.outstanding[r.sel.Room]--
	b.mu.Unlock()
	res.ID = r.sel.ID
	root.Send(r.from, res)
}

// mostOutstanding is the most Selects of room ever outstanding at once.
func (b *scriptedBrewery) mostOutstanding(room string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.most[room]
}

// recorder is a conference's parent, its replica and the requester of
// what the test sends it: everything the conference sends any of them
// arrives in one mailbox, in the order it was sent.
//
// As a replica it acknowledges every state, as the real one does, unless
// withhold is set: then it keeps the acknowledgements back (a replica
// cut off from the owner) until release.
type recorder struct {
	props *actor.Props
	child chan *actor.PID
	q     queue[any]

	mu       sync.Mutex
	withhold bool
	held     []heldAck
}

type heldAck struct {
	to  *actor.PID
	ack *focalpb.StateAck
}

func (r *recorder) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		r.child <- ctx.Spawn(r.props)
	case *actor.Stopping, *actor.Stopped, *actor.Restarting, *actor.Terminated:
	case *focalpb.EncodedConferenceState:
		// What the owner sends its replica: the state, encoded.
		st := &focalpb.ConferenceState{}
		if err := proto.Unmarshal(msg.State, st); err != nil {
			panic(err)
		}
		r.record(ctx, st)
	case *focalpb.ConferenceState:
		r.record(ctx, msg)
	default:
		r.q.push(msg)
	}
}

// record keeps a state the conference sent, and acknowledges it as the
// replica does (unless withholding).
func (r *recorder) record(ctx actor.Context, msg *focalpb.ConferenceState) {
	r.q.push(msg)
	if ctx.Sender() == nil {
		return
	}
	ack := &focalpb.StateAck{Room: msg.Room, Version: msg.Version}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.withhold {
		r.held = append(r.held, heldAck{to: ctx.Sender(), ack: ack})
		return
	}
	ctx.Respond(ack)
}

// withholdAcks makes the replica keep its acknowledgements back.
func (r *recorder) withholdAcks() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.withhold = true
}

// releaseHeld sends the acknowledgements kept back so far, and keeps
// withholding the next ones.
func (r *recorder) releaseHeld(root *actor.RootContext) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range r.held {
		root.Send(h.to, h.ack)
	}
	r.held = nil
}

// releaseHeldUpTo sends the acknowledgements kept back of the versions
// up to v, and keeps the others back.
func (r *recorder) releaseHeldUpTo(root *actor.RootContext, v uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	kept := r.held[:0]
	for _, h := range r.held {
		if h.ack.Version <= v {
			root.Send(h.to, h.ack)
		} else {
			kept = append(kept, h)
		}
	}
	r.held = kept
}

// loseHeld drops the acknowledgements kept back (lost on the way), and
// acknowledges at once from now on.
func (r *recorder) loseHeld() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.withhold, r.held = false, nil
}

// releaseAcks sends the acknowledgements kept back, and acknowledges at
// once from now on.
func (r *recorder) releaseAcks(root *actor.RootContext) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range r.held {
		root.Send(h.to, h.ack)
	}
	r.withhold, r.held = false, nil
}

// harness is one actor system with a scripted brewery, and the
// conferences a test starts in it.
type harness struct {
	t       *testing.T
	sys     *actor.ActorSystem
	root    *actor.RootContext
	brewery *scriptedBrewery
	// breweryPID is the scripted brewery's actor (Config.Bridges).
	breweryPID *actor.PID
	cfg        Config
	// addresses: bridges whose own JID the brewery shows (occupant JID →
	// own JID); Colibri2 to them goes on the room's wire.
	addresses map[string]string
}

// newHarness starts an actor system and a scripted brewery; the config has
// Jicofo's defaults except short timeouts where a test awaits them, and
// long ones where it must not be disturbed.
func newHarness(t *testing.T, mutate ...func(*Config)) *harness {
	t.Helper()
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return testLogger() }))
	h := &harness{t: t, sys: sys, root: sys.Root, brewery: newScriptedBrewery()}
	breweryPID := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return h.brewery }))
	h.breweryPID = breweryPID
	cfg := DefaultConfig()
	cfg.FocusJID = testFocusJID
	cfg.Version = testVersion
	cfg.InitialTimeout = time.Minute
	cfg.EmptyTimeout = 50 * time.Millisecond
	cfg.JoinTimeout = time.Minute
	cfg.RequestTimeout = time.Minute
	cfg.Bridges = breweryPID
	cfg.JSONSources = true
	cfg.Logger = testLogger()
	for _, m := range mutate {
		m(&cfg)
	}
	h.cfg = cfg
	t.Cleanup(func() {
		_ = sys.Root.StopFuture(breweryPID).Wait()
		sys.Shutdown()
	})
	return h
}

// testLogger discards, unless FOCAL_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("FOCAL_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// tconf is one conference under test: its actor, its wires, and the
// recorder that is its parent.
type tconf struct {
	h          *harness
	t          *testing.T
	room       string
	wire       *scriptedWire // the focus's session in the room
	bridgeWire *scriptedWire // Colibri2
	rec        *recorder
	recPID     *actor.PID
	pid        *actor.PID
	join       *xmpp.Element // the join presence start took
}

// start spawns the conference of room, its stream up as testFocusAddr, and
// awaits its join presence.
func (h *harness) start(room string) *tconf {
	h.t.Helper()
	c := &tconf{
		h: h, t: h.t, room: room,
		wire:       &scriptedWire{name: "room"},
		bridgeWire: &scriptedWire{name: "bridge"},
	}
	c.rec = &recorder{
		props: Props(h.cfg, Start{Room: room, Wire: c.wire, BridgeWire: c.bridgeWire, Addr: testFocusAddr, Session: "sm-1"}),
		child: make(chan *actor.PID, 1),
	}
	c.recPID = h.root.Spawn(actor.PropsFromProducer(func() actor.Actor { return c.rec }))
	c.pid = <-c.rec.child
	h.t.Cleanup(func() { _ = h.root.StopFuture(c.recPID).Wait() })
	join := c.wire.awaitSent(h.t, "the join presence", func(el *xmpp.Element) bool {
		return el.Name.Local == xmpp.KindPresence && el.AttrValue("to") == room+"/focus" && el.AttrValue("type") == ""
	})
	if join.Child(xmpp.NSMUC, "x") == nil {
		h.t.Fatalf("join presence without <x xmlns=%q/>: %s", xmpp.NSMUC, join)
	}
	c.join = join
	return c
}

// send delivers msg to the conference as the directory would, with the
// recorder as its sender.
func (c *tconf) send(msg any) {
	c.h.root.RequestWithCustomSender(c.pid, msg, c.recPID)
}

func (c *tconf) occupant(nick string) string { return c.room + "/" + nick }

// presence delivers a MUC presence from the room about nick.
func (c *tconf) presence(nick, typ, realJID, affiliation, role string, codes ...int) {
	item := xmpp.NewElement(xmpp.NSMUCUser, "item", "affiliation", affiliation, "role", role)
	if realJID != "" {
		item.SetAttr("jid", realJID)
	}
	x := xmpp.NewElement(xmpp.NSMUCUser, "x").Append(item)
	for _, code := range codes {
		x.Append(xmpp.NewElement(xmpp.NSMUCUser, "status", "code", fmt.Sprint(code)))
	}
	c.send(&Stanza{Room: c.room, El: xmpp.NewPresence(typ, c.occupant(nick), testFocusAddr, x)})
}

// selfPresence is the room's answer to the focus's join: owner, status 110.
func (c *tconf) selfPresence() {
	c.presence("focus", "", testFocusAddr, xmpp.AffiliationOwner, xmpp.RoleModerator, xmpp.StatusSelfPresence, 100)
}

// joins makes nick an occupant (a participant, with realJID when given).
func (c *tconf) joins(nick, realJID string) {
	c.presence(nick, "", realJID, xmpp.AffiliationNone, xmpp.RoleParticipant)
}

func (c *tconf) leaves(nick string) {
	c.presence(nick, xmpp.PresenceUnavailable, "", xmpp.AffiliationNone, xmpp.RoleNone)
}

// request sends a conference request with properties name=value pairs.
func (c *tconf) request(props ...string) {
	req := &focalpb.ConferenceRequest{Room: c.room, From: "client@" + testDomain + "/web"}
	for i := 0; i+1 < len(props); i += 2 {
		req.Properties = append(req.Properties, &focalpb.Property{Name: props[i], Value: props[i+1]})
	}
	c.send(req)
}

// awaitRecorded takes the first message of type T the recorder got.
func awaitRecorded[T any](c *tconf, what string, match func(T) bool) T {
	c.t.Helper()
	v := c.rec.q.take(c.t, what, func(v any) bool {
		x, ok := v.(T)
		return ok && (match == nil || match(x))
	})
	return v.(T)
}

// barrier sends a Barrier and awaits its answer: by then the conference
// has handled everything sent before it, and whatever it sent the
// recorder meanwhile is recorded.
func (c *tconf) barrier() {
	c.t.Helper()
	b := &Barrier{Session: "sm-1"}
	c.send(b)
	awaitRecorded(c, "the barrier's answer", func(x *Barrier) bool { return x == b })
}

// snapshot asks the conference for its snapshot.
func (c *tconf) snapshot() Snapshot {
	c.t.Helper()
	c.send(&GetSnapshot{})
	return awaitRecorded[Snapshot](c, "a snapshot", nil)
}

// member returns nick's entry of the snapshot.
func (s Snapshot) member(nick string) (MemberSnapshot, bool) {
	for _, m := range s.Participants {
		if m.Nick == nick {
			return m, true
		}
	}
	return MemberSnapshot{}, false
}

// ready answers nick's disco#info with features (nil: defaultFeatures).
func (c *tconf) ready(nick string, features ...string) {
	c.t.Helper()
	if features == nil {
		features = defaultFeatures
	}
	q := xmpp.NewElement(participant.NSDiscoInfo, "query")
	for _, f := range features {
		q.Append(xmpp.NewElement(participant.NSDiscoInfo, "feature", "var", f))
	}
	c.wire.awaitRequest(c.t, "disco#info to "+nick, discoTo(c.occupant(nick))).result(q)
}

// awaitSelect takes the next Select of this conference.
func (c *tconf) awaitSelect() *selectReq {
	c.t.Helper()
	return c.h.brewery.q.take(c.t, "a Select for "+c.room, func(r *selectReq) bool { return r.sel.Room == c.room })
}

// answerSelect answers the next Select of this conference with jid.
func (c *tconf) answerSelect(jid string) *selectReq {
	c.t.Helper()
	r := c.awaitSelect()
	c.h.brewery.answer(c.h.root, r, &bridge.Selected{Bridge: jid, Address: c.h.addresses[jid]})
	return r
}

// bridgeOn is the wire Colibri2 to the bridge jid leaves on, and the
// address it goes to.
func (c *tconf) bridgeOn(jid string) (*scriptedWire, string) {
	if addr := c.h.addresses[jid]; addr != "" {
		return c.wire, addr
	}
	return c.bridgeWire, jid
}

// conferenceModified is the bridge's answer allocating endpoint id: the
// golden answer of xmpp/testdata, for that endpoint.
func conferenceModified(t testing.TB, id string) *xmpp.Element {
	t.Helper()
	golden, err := os.ReadFile("../../xmpp/testdata/colibri2/conference-modified.xml")
	if err != nil {
		t.Fatal(err)
	}
	el, err := xmpp.Parse([]byte(strings.ReplaceAll(string(golden), `id="7b2f3c1d"`, `id="`+id+`"`)))
	if err != nil {
		t.Fatal(err)
	}
	return el.Child(xmpp.Colibri2NS, "conference-modified")
}

// allocate awaits the allocation of nick's endpoint on bridge and answers
// it; it returns what was asked.
func (c *tconf) allocate(nick, bridgeJID string) *xmpp.Colibri2ConferenceModify {
	c.t.Helper()
	wire, to := c.bridgeOn(bridgeJID)
	it := wire.awaitRequest(c.t, "allocation of "+nick+" on "+bridgeJID, colibriTo(to, createsEndpoint(nick)))
	it.result(conferenceModified(c.t, nick))
	return colibriOf(it.el)
}

// awaitInitiate awaits nick's session-initiate and acknowledges it.
func (c *tconf) awaitInitiate(nick string) *xmpp.Jingle {
	c.t.Helper()
	it := c.wire.awaitRequest(c.t, "session-initiate to "+nick, jingleTo(c.occupant(nick), xmpp.JingleSessionInitiate))
	it.result(nil)
	return jingleOf(it.el)
}

// iqFrom delivers an IQ set from nick to the focus carrying j; it returns
// the IQ's id.
func (c *tconf) iqFrom(nick string, j *xmpp.Jingle) string {
	c.t.Helper()
	payload, err := xmpp.ElementOf(j)
	if err != nil {
		c.t.Fatal(err)
	}
	id := xmpp.NewID()
	c.send(&Stanza{Room: c.room, El: xmpp.NewIQ(xmpp.IQSet, c.occupant(nick), testFocusAddr, id, payload)})
	return id
}

// awaitResult awaits the result answering the IQ id.
func (c *tconf) awaitResult(id, what string) {
	c.t.Helper()
	c.wire.awaitSent(c.t, "the result of "+what, replyTo(id, xmpp.IQResult))
}

// awaitError awaits the error answering the IQ id, and returns its
// condition.
func (c *tconf) awaitError(id, what string) string {
	c.t.Helper()
	return conditionOf(c.wire.awaitSent(c.t, "the error answering "+what, replyTo(id, xmpp.IQError)))
}

// clientTransport is a participant's ICE/DTLS transport.
func clientTransport(nick string) *xmpp.JingleICETransport {
	return &xmpp.JingleICETransport{
		Ufrag: nick + "uf", Pwd: nick + "-password-0123456789",
		Fingerprints: []xmpp.JingleFingerprint{{Hash: "sha-256", Setup: xmpp.JingleSetupActive, Value: "AB:CD"}},
		Candidates: []xmpp.JingleCandidate{{
			Component: 1, Foundation: "1", ID: nick + "c1", IP: "192.0.2.1", Network: 1, Port: 40000,
			Priority: 2130706431, Protocol: "udp", Type: "host",
		}},
	}
}

// sourcesOf is a camera and a microphone of nick, SSRCs from base.
func sourcesOf(nick string, base int64) sources.Set {
	return sources.Set{Sources: []sources.Source{
		{SSRC: base + 1, Media: sources.Audio, Name: nick + "-a0", MSID: nick + "-audio-1 a-" + nick},
		{SSRC: base + 2, Media: sources.Video, Name: nick + "-v0", MSID: nick + "-video-1 v-" + nick, VideoType: sources.VideoCamera},
	}}
}

// accept sends nick's session-accept of sid with sources and its
// transport, and awaits the result.
func (c *tconf) accept(nick, sid string, srcs sources.Set) {
	c.t.Helper()
	j := &xmpp.Jingle{Action: xmpp.JingleSessionAccept, SID: sid, Responder: c.occupant(nick),
		Contents: srcs.JingleContents("")}
	if len(j.Contents) == 0 {
		j.Contents = []xmpp.JingleContent{{Name: xmpp.JingleContentAudio,
			Description: &xmpp.JingleRTPDescription{Media: string(sources.Audio)}}}
	}
	for i := range j.Contents {
		j.Contents[i].Creator, j.Contents[i].Senders = xmpp.JingleCreatorResponder, xmpp.JingleSendersBoth
		j.Contents[i].Transport = clientTransport(nick)
	}
	id := c.iqFrom(nick, j)
	c.awaitResult(id, nick+"'s session-accept")
}

// sourceChange sends a source-add (or source-remove) of nick's session
// sid; it returns the IQ's id.
func (c *tconf) sourceChange(nick, sid string, action xmpp.JingleAction, set sources.Set) string {
	c.t.Helper()
	return c.iqFrom(nick, &xmpp.Jingle{Action: action, SID: sid, Contents: set.JingleContents("")})
}

// ssrcsIn lists the SSRCs of a Jingle element's contents, by owner.
func ssrcsIn(j *xmpp.Jingle) map[string][]int64 {
	out := map[string][]int64{}
	for _, c := range j.Contents {
		if c.Description == nil {
			continue
		}
		for _, s := range c.Description.Sources {
			owner := ""
			if s.SSRCInfo != nil {
				owner = s.SSRCInfo.Owner
			}
			out[owner] = append(out[owner], s.SSRC)
		}
	}
	for _, ssrcs := range out {
		slices.Sort(ssrcs)
	}
	return out
}

// colibriSSRCs lists the SSRCs an endpoint of a conference-modify signals.
func colibriSSRCs(ep *xmpp.Colibri2Endpoint) []int64 {
	var out []int64
	if ep == nil || ep.Sources == nil {
		return nil
	}
	set, err := sources.FromColibri2(ep.Sources, false)
	if err != nil {
		return nil
	}
	for _, s := range set.Sources {
		out = append(out, s.SSRC)
	}
	slices.Sort(out)
	return out
}

// ssrcs are a source set's SSRCs, sorted.
func ssrcs(set sources.Set) []int64 {
	var out []int64
	for _, s := range set.Sources {
		out = append(out, s.SSRC)
	}
	slices.Sort(out)
	return out
}

// joined starts a conference whose focus is in the room (a request
// answered ready), and returns it.
func (h *harness) joined(room string) *tconf {
	h.t.Helper()
	c := h.start(room)
	c.request()
	c.selfPresence()
	if res := awaitRecorded[*focalpb.ConferenceResponse](c, "the answer to the request", nil); !res.Ready {
		h.t.Fatalf("request answered %v", res)
	}
	c.roomInfo("")
	return c
}

// isPresenceUpdate matches a presence update of the focus in the room: a
// presence to its occupant without the MUC <x/> of a join, nor a type.
func (c *tconf) isPresenceUpdate(el *xmpp.Element) bool {
	return el.Name.Local == xmpp.KindPresence && el.AttrValue("to") == c.occupant("focus") &&
		el.AttrValue("type") == "" && el.Child(xmpp.NSMUC, "x") == nil
}

// awaitPresenceUpdate takes the focus's next presence update in the room
// and returns what it carries; it fails the test if that is not what
// match expects.
func (c *tconf) awaitPresenceUpdate(what string, match func(xmpp.FocusPresence) bool) xmpp.FocusPresence {
	c.t.Helper()
	el := c.wire.awaitSent(c.t, "a presence update of the focus ("+what+")", c.isPresenceUpdate)
	p := xmpp.ParseFocusPresence(el)
	if !match(p) {
		c.t.Fatalf("presence update %s, want %s", el, what)
	}
	return p
}

// awaitBridgeCount takes the focus's next presence update and checks it
// says n bridges (and a bridge available).
func (c *tconf) awaitBridgeCount(n int) {
	c.t.Helper()
	c.awaitPresenceUpdate(fmt.Sprintf("bridge-count %d", n), func(p xmpp.FocusPresence) bool {
		v, _ := p.Property(xmpp.PropBridgeCount)
		return v == fmt.Sprint(n) && !p.BridgeNotAvailable
	})
}

// isRoomInfo matches the focus's disco#info query to the room.
func (c *tconf) isRoomInfo(el *xmpp.Element) bool {
	return isIQ(el, xmpp.IQGet, c.room) && el.Child(xmpp.NSDiscoInfo, "query") != nil
}

// roomInfo awaits the focus's disco#info query to the room and answers it
// as Prosody does: with meetingID in the muc#roominfo form, as
// mod_muc_meeting_id adds it, or ("") without one.
func (c *tconf) roomInfo(meetingID string) {
	c.t.Helper()
	field := func(name, value string) *xmpp.Element {
		return xmpp.NewElement(xmpp.NSDataForm, "field", "var", name).Append(xmpp.NewElement(xmpp.NSDataForm, "value").WithText(value))
	}
	form := xmpp.NewElement(xmpp.NSDataForm, "x", "type", "result").Append(
		field("FORM_TYPE", xmpp.FormTypeRoomInfo),
		field("muc#roominfo_occupants", "1"))
	if meetingID != "" {
		form.Append(field(xmpp.FieldRoomInfoMeetingID, meetingID))
	}
	q := xmpp.NewElement(xmpp.NSDiscoInfo, "query").Append(
		xmpp.NewElement(xmpp.NSDiscoInfo, "identity", "category", "conference", "type", "text"),
		xmpp.NewElement(xmpp.NSDiscoInfo, "feature", "var", xmpp.NSMUC),
		form)
	c.wire.awaitRequest(c.t, "disco#info to the room", c.isRoomInfo).result(q)
}

// ownerGrant matches the muc#admin request making user an owner.
func ownerGrant(room, user string) func(*xmpp.Element) bool {
	return func(el *xmpp.Element) bool {
		q := el.Child(xmpp.NSMUCAdmin, "query")
		if !isIQ(el, xmpp.IQSet, room) || q == nil {
			return false
		}
		item := q.Child(xmpp.NSMUCAdmin, "item")
		return item != nil && item.AttrValue("affiliation") == xmpp.AffiliationOwner && item.AttrValue("jid") == user
	}
}

// inCall brings nicks into a joined conference, in order, each with a real
// JID (the first is granted owner), ready, allocated on bridgeJID (the
// brewery's answer to every Select) and invited; it returns each one's
// offer. Nobody accepts yet.
func (c *tconf) inCall(bridgeJID string, nicks ...string) map[string]*xmpp.Jingle {
	c.t.Helper()
	for i, nick := range nicks {
		c.joins(nick, nick+"@"+testDomain+"/web")
		if i == 0 {
			c.wire.awaitRequest(c.t, "owner grant", ownerGrant(c.room, nick+"@"+testDomain)).result(nil)
			c.presence(nick, "", nick+"@"+testDomain+"/web", xmpp.AffiliationOwner, xmpp.RoleModerator)
		}
	}
	for _, nick := range nicks {
		// One at a time: participants report to the conference each on
		// its own, and the order they are placed in is the order the
		// conference learnt they were ready.
		c.ready(nick)
		c.barrier()
	}
	bridges := c.snapshot().Bridges
	newBridge := !slices.ContainsFunc(bridges, func(b BridgeSnapshot) bool { return b.JID == bridgeJID })
	offers := map[string]*xmpp.Jingle{}
	for _, nick := range nicks {
		c.answerSelect(bridgeJID)
		if newBridge {
			// The focus's presence tells the room of the new bridge.
			c.awaitBridgeCount(len(bridges) + 1)
			newBridge = false
		}
		c.allocate(nick, bridgeJID)
		offers[nick] = c.awaitInitiate(nick)
	}
	return offers
}
