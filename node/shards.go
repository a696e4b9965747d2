package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/conference"
	"focal/actors/directory"
	"focal/actors/ingress"
	"focal/proto"
	"focal/xmpp"
	"focal/xmpp/session"
)

const (
	// barrierTimeout bounds one wait for the conferences to have handled
	// what the session handed on; past it the barrier is sent again, and
	// the stanzas stay unacknowledged meanwhile (see handOff).
	barrierTimeout = 2 * time.Second
	// barrierAttempts bounds how often a barrier is sent before the
	// stanzas are acknowledged anyway (6 s in all).
	barrierAttempts = 3
	// handOffAttempt bounds one attempt to get the resumption state
	// acknowledged, so that a new successor named meanwhile is tried.
	handOffAttempt = 300 * time.Millisecond
	// releaseTimeout bounds writing what is queued before a session is
	// released or closed.
	releaseTimeout = 2 * time.Second
)

// shardSession is one focus session for the rooms of a shard: a client
// stream with XEP-0198 that ships its resumption state to the node that
// would take the shard over before every acknowledgement.
type shardSession struct {
	*session.Session
	node   *Node
	id     string
	shard  int
	cancel context.CancelFunc

	successor atomic.Pointer[actor.PID]
	mayResume atomic.Bool
	// lastHeardNs is when the server last sent something on the session
	// (unix ns; its opening counts), for mayResumeSince; everUp: the
	// stream has been up (a resumption now is of this node's own session,
	// not a takeover).
	lastHeardNs atomic.Int64
	everUp      atomic.Bool
	// abandoned: the node stalled since the server was last heard on the
	// session; what arrives on it is not handled (see abandon).
	abandoned atomic.Bool

	mu    sync.Mutex
	state session.SMState // the latest, as given to OnState
	// stopWaits is closed when the session may no longer resume (a new one
	// is made once it may again): it ends handOff's waits at once, which
	// hold up reading, and with it the release's wait for the server's
	// acknowledgement (see awaitWhileResumable).
	stopWaits       chan struct{}
	stopWaitsClosed bool
	upID            string // the server session last reported up
	resumeID        string // the session it was opened to resume
}

// openShardSession is the directory.SessionOpener of a clustered node.
func (n *Node) openShardSession(id string, shard int, resume session.SMState) directory.ShardSession {
	cfg := n.cfg
	ss := &shardSession{node: n, id: id, shard: shard, resumeID: resume.ID, state: resume, stopWaits: make(chan struct{})}
	ss.mayResume.Store(true)
	ss.heard()
	// A resource of its own per session and process: binding never evicts
	// another node's session, or a session this node resumed from another.
	jid := cfg.FocusJID() + "/" + cfg.Resource() + "-s" + strconv.Itoa(shard) + "-" + randomSuffix()
	ss.Session = session.New(session.Config{
		Name:     "shard-" + strconv.Itoa(shard),
		IDPrefix: cfg.requestIDPrefix(),
		Dial: n.shardDialer(session.ClientDialer(session.ClientOptions{
			Addr: cfg.clientAddr(), JID: jid, Password: cfg.UserPassword, TLS: cfg.clientTLS(),
		})),
		Handler: func(el *xmpp.Element) {
			if ss.abandoned.Load() {
				return
			}
			if ss.stalledSinceHeard() {
				ss.abandon()
				return
			}
			ss.heard()
			id, pos, since := ss.Session.Position()
			n.system.Root.Send(n.ingress, &ingress.ClientStanza{El: el, Via: ss, At: conference.StreamPos{Session: id, Pos: pos, Since: since}})
		},
		State:  ss.onStreamState,
		Logger: cfg.Logger.With("session", id),
		StreamManagement: &session.StreamManagement{
			Resume:          resume,
			OnState:         ss.handOff,
			MayResume:       ss.mayResumeNow,
			AckRequestDelay: cfg.SMAckRequestDelay,
			AckRequestEvery: cfg.SMAckRequestEvery,
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	ss.cancel = cancel
	n.shardRuns.Add(1)
	go func() {
		defer n.shardRuns.Done()
		ss.Session.Run(ctx)
		if err := ss.Session.Err(); err != nil {
			ss.mu.Lock()
			st := ss.state
			ss.mu.Unlock()
			n.system.Root.Send(n.directory, &directory.SessionEnded{ID: id, Err: err, State: st})
		}
	}()
	return ss
}

// shardDialer resumes a session on a warm stream when one is ready
// (Config.WarmSessions) and dials with cold otherwise.
func (n *Node) shardDialer(cold session.Dialer) session.Dialer {
	if n.warm == nil {
		return cold
	}
	return n.warm.Dialer(cold)
}

// mayResumeNow is the session's StreamManagement.MayResume. A takeover
// (the first resumption of a session another node held) was decided by
// the directory, which fences itself without quorum: it is refused only
// right after a stall, when that decision may rest on a view from before
// it. Resuming this node's own session after a drop needs a quorum held
// without a break since the server was last heard on it (see
// Node.mayResumeSince).
func (ss *shardSession) mayResumeNow(session.SMState) bool {
	if !ss.mayResume.Load() {
		return false
	}
	if !ss.everUp.Load() {
		now := time.Now()
		return ss.node.members == nil || !ss.node.quorum.stalledAfter(now, now.Add(-takeoverAfterStall))
	}
	return ss.node.mayResumeSince(ss.lastHeard())
}

// takeoverAfterStall is how long after a stall a node takes no session
// over: long enough for its directory to have fenced itself and seen the
// cluster afresh.
const takeoverAfterStall = 5 * time.Second

// stalledSinceHeard says whether this node stalled (SIGSTOP, swapping, a
// frozen VM) since the server was last heard on the session while it may
// resume it (not cut off, not handing it over).
func (ss *shardSession) stalledSinceHeard() bool {
	return ss.node.members != nil && ss.mayResume.Load() && ss.node.quorum.stalledAfter(time.Now(), ss.lastHeard())
}

// abandon gives up a session this node may have lost while it stalled: the
// others may have declared it dead and resumed the session, and what
// arrives now (the server's backlog, read on waking) may be answered by
// them too. Nothing more is handled or acknowledged; the connection is cut
// without ending the session, and the directory lets its conferences go
// with the last state the successor was given: its h is at least what the
// server was acknowledged (acknowledgements wait for the successor), so
// resuming from it is safe, and counts only stanzas handled here, so the
// rest are redelivered to whoever resumes; a holder with more ignores it.
func (ss *shardSession) abandon() {
	if !ss.abandoned.CompareAndSwap(false, true) {
		return
	}
	ss.SetMayResume(false)
	ss.mu.Lock()
	st := ss.state
	ss.mu.Unlock()
	ss.node.log.Warn("shard session abandoned: the node stalled since the server was last heard on it", "session", ss.id, "h", st.InboundH)
	ss.node.shardRuns.Add(1)
	go func() {
		defer ss.node.shardRuns.Done()
		ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
		defer cancel()
		if _, err := ss.Detach(ctx); err != nil {
			ss.node.log.Warn("detach an abandoned shard session", "session", ss.id, "err", err)
		}
		ss.node.system.Root.Send(ss.node.directory, &directory.SessionEnded{
			ID: ss.id, Err: fmt.Errorf("%w: the node stalled", session.ErrResumeDeclined), State: st,
		})
	}()
}

func (ss *shardSession) heard() { ss.lastHeardNs.Store(time.Now().UnixNano()) }

func (ss *shardSession) lastHeard() time.Time { return time.Unix(0, ss.lastHeardNs.Load()) }

func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (ss *shardSession) onStreamState(up bool, addr string) {
	root, dir := ss.node.system.Root, ss.node.directory
	if !up {
		root.Send(dir, &directory.SessionDown{ID: ss.id})
		return
	}
	ss.heard()
	ss.everUp.Store(true)
	ss.mu.Lock()
	sid := ss.state.ID
	resumed := sid != "" && (sid == ss.upID || sid == ss.resumeID)
	ss.upID = sid
	ss.mu.Unlock()
	root.Send(dir, &directory.SessionUp{ID: ss.id, Addr: addr, Session: sid, Resumed: resumed})
}

// handOff is the session's OnState: the resumption state goes to the
// successor, and is acknowledged there, before the session acknowledges
// the same stanzas to the server. So the successor never offers the server
// an h below the one acknowledged, which would destroy the session. It
// waits as long as it takes (reading waits with it), unless the session
// may no longer resume (this node is cut off or hands it over): acks are
// held then, and it returns.
func (ss *shardSession) handOff(st session.SMState) {
	ss.mu.Lock()
	ss.state = st
	ss.mu.Unlock()
	if st.ID == "" || !ss.mayResume.Load() {
		return
	}
	// Every stanza counted in st.InboundH has been handed to the ingress;
	// the barrier follows them to their conferences, and returns once the
	// states they lead to are on their way to the replica, ahead of msg.
	// Until it does, the stanzas are not acknowledged: a successor given
	// this h would resume past requests whose effects it may not know of,
	// and nobody would answer them. A conference or participant that is
	// slow (a loaded host) is asked again, barrierAttempts times in all
	// (one that is gone answers at once): reading waits meanwhile, so a
	// barrier that never succeeds must not stop the session for good.
	for attempt := 1; ; attempt++ {
		err := ss.awaitWhileResumable(ss.node.system.Root.RequestFuture(ss.node.ingress, &conference.Barrier{Session: ss.id}, barrierTimeout))
		if err == nil || errors.Is(err, actor.ErrDeadLetter) {
			break // handled, or the node is stopping
		}
		if !ss.mayResume.Load() {
			return
		}
		if attempt == barrierAttempts {
			ss.node.log.Warn("stanzas not known handled; acknowledging them anyway", "session", ss.id, "attempts", attempt, "err", err)
			break
		}
		ss.node.log.Warn("stanzas not known handled yet; holding their acknowledgement", "session", ss.id, "attempt", attempt, "err", err)
	}
	msg := ss.stateMessage(st, false)
	for warned := false; ; {
		to := ss.successor.Load()
		if to == nil || !ss.mayResume.Load() {
			return
		}
		start := time.Now()
		err := ss.awaitWhileResumable(ss.node.system.Root.RequestFuture(to, msg, handOffAttempt))
		if err == nil || errors.Is(err, errNotResumable) {
			return
		}
		if !warned {
			ss.node.log.Warn("resumption state not acknowledged by the successor yet", "session", ss.id, "to", to.Address, "err", err)
			warned = true
		}
		// An attempt can fail at once (no route to a dead node): pace them.
		time.Sleep(handOffAttempt - time.Since(start))
	}
}

// errNotResumable: a wait of handOff ended because the session may no
// longer resume.
var errNotResumable = errors.New("shard session no longer resumable")

// awaitWhileResumable waits for f, or until the session may no longer
// resume. handOff runs on the session's read loop, so its waits hold up
// reading, and with it the server's acknowledgement that a release waits
// for (session.Detach): a release during a barrier that conferences
// handing over left unanswered took the barrier's 2 s (releases of 1.9 s
// in the flapping partition, 2–3 s of SIGTERM's time without service).
func (ss *shardSession) awaitWhileResumable(f *actor.Future) error {
	ss.mu.Lock()
	stop := ss.stopWaits // closed already if the session may not resume
	ss.mu.Unlock()
	done := make(chan error, 1)
	ss.node.shardRuns.Add(1) // the node's Stop waits for it (f's timeout)
	go func() {
		defer ss.node.shardRuns.Done()
		_, err := f.Result()
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-stop:
		return errNotResumable
	}
}

func (ss *shardSession) stateMessage(st session.SMState, final bool) *focalpb.ShardSession {
	return &focalpb.ShardSession{
		Shard: int32(ss.shard), Id: st.ID, Jid: st.JID, H: st.InboundH, MaxMs: st.Max.Milliseconds(),
		Owner: ss.node.cfg.Node, Final: final, SentUnixMs: time.Now().UnixMilli(),
	}
}

func (ss *shardSession) SetSuccessor(pid *actor.PID) {
	old := ss.successor.Swap(pid)
	if pid == nil || (old != nil && old.Equal(pid)) {
		return
	}
	// The new successor has nothing yet: give it the latest state now
	// rather than at the next acknowledgement.
	ss.mu.Lock()
	st := ss.state
	ss.mu.Unlock()
	if st.ID != "" {
		ss.node.system.Root.Send(pid, ss.stateMessage(st, false))
	}
}

// SetMayResume also holds acknowledgements to the server while the
// session may not resume: handOff may then give up before the successor
// has the state, and the server must not get an h it does not have. The
// order matters for that: acks are held before handOff can see the flag.
func (ss *shardSession) SetMayResume(ok bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if !ok {
		ss.HoldAcks(true)
		ss.mayResume.Store(false)
		if !ss.stopWaitsClosed {
			close(ss.stopWaits)
			ss.stopWaitsClosed = true
		}
		return
	}
	if ss.stopWaitsClosed {
		ss.stopWaits, ss.stopWaitsClosed = make(chan struct{}), false
	}
	ss.mayResume.Store(true)
	ss.HoldAcks(false)
}

// Release writes what is queued and hands the session's state on. The
// conferences' Colibri2 requests leave through the session too (to the
// bridges' own JIDs), so the next driver, which begins once it has resumed
// the session, cannot reach a bridge before them: the server reads one
// connection's stanzas in order, and cuts this one at the resumption.
func (ss *shardSession) Release() {
	ss.afterFlush("release", func(ctx context.Context) {
		st, err := ss.Detach(ctx)
		ss.mu.Lock()
		handed := ss.state
		ss.mu.Unlock()
		ss.node.system.Root.Send(ss.node.directory, &directory.SessionReleased{ID: ss.id, State: st, Handed: handed, Err: err})
	})
}

func (ss *shardSession) Close() {
	ss.SetMayResume(false) // ending: nothing to hand off any more
	ss.afterFlush("close", func(context.Context) { ss.cancel() })
}

// afterFlush writes what is queued, then does then, off the caller's
// goroutine (the directory's Receive) and within releaseTimeout in all.
func (ss *shardSession) afterFlush(what string, then func(context.Context)) {
	ss.node.shardRuns.Add(1)
	go func() {
		defer ss.node.shardRuns.Done()
		ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
		defer cancel()
		switch err := ss.Flush(ctx); {
		case err == nil, errors.Is(err, session.ErrNotConnected):
		case errors.Is(err, session.ErrHeld):
			// A conference let go holds stanzas whose places its
			// replica may not have: they stay unwritten, and the next
			// driver sends them.
			ss.node.log.Info("stanzas held at "+what+" stay unwritten", "session", ss.id)
		default:
			ss.node.log.Warn("flush before "+what, "session", ss.id, "err", err)
		}
		then(ctx)
	}()
}
