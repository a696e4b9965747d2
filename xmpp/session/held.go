package session

import (
	"errors"
	"time"

	"focal/xmpp"
)

// Held stanzas: the place of a stanza in the server's count, known before
// it is written.
//
// With stream management the server counts the stanzas it receives on a
// session, and a process that resumes the session learns that count
// (<resumed h/>). A stanza's place in the count is fixed once it is
// queued: the writer writes the queue in order, and a resumption by this
// Session writes again, in the same order and at the same places, what
// the server did not get. So a caller that wants another process to know
// whether a stanza reached the server queues it held (SendHeld), tells
// that process its Mark, and only then lets it go (Let). Whoever resumes
// the session later compares the Mark with the count the server gave it
// (TookOver): at or below it, the server has the stanza; above it, the
// stanza was never received, and sending it again is the only way it
// arrives. A held stanza holds back everything queued after it: their
// places depend on it.

// Mark is where a stanza stands in the server session Session's count of
// the stanzas it received from this side (1 for the first after
// <enable/>). A zero Pos means the stanza is not counted (no stream
// management): it is written at once and nothing is known of it.
type Mark struct {
	Session string
	Pos     uint32
}

var (
	// ErrHeld: Flush returned while a held stanza queued before it waits
	// for Let; it and what follows it are not written.
	ErrHeld = errors.New("xmpp session: a held stanza waits to be let go")
	// ErrNotCounted: a stanza cannot be queued held, as the session does
	// not count its stanzas (no stream management, or not yet enabled).
	ErrNotCounted = errors.New("xmpp session: stanzas are not counted")
)

// HeldWire is a Wire that can queue a stanza counted but held. *Session
// is one.
type HeldWire interface {
	Wire
	// SendHeld queues stanza like Send, but not to be written before Let
	// is called with the Mark it returns. It fails, queueing nothing, when
	// the stanza cannot be counted (ErrNotCounted) or the stream is down.
	SendHeld(stanza *xmpp.Element) (Mark, error)
	// RequestHeld is Request with the IQ held as by SendHeld. When it
	// fails, nothing is queued and cb is not called.
	RequestHeld(iq *xmpp.Element, timeout time.Duration, cb ResponseFunc) (Mark, error)
	// Let releases the stanza held at m; a Mark of another session, or of
	// a stanza no longer queued, is ignored.
	Let(m Mark)
	// Received says whether the server has acknowledged the stanza at m.
	Received(m Mark) bool
	// TookOver is the session this Session resumed from another process's
	// state at its start (StreamManagement.Resume), with the server's count
	// of that session's stanzas from this side at that moment: every
	// stanza whose Mark is at or below it reached the server. The zero
	// Mark when the Session took no session over.
	TookOver() Mark
}

var _ HeldWire = (*Session)(nil)

// SendHeld implements HeldWire.
func (s *Session) SendHeld(stanza *xmpp.Element) (Mark, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.queueableLocked(true); err != nil {
		return Mark{}, err
	}
	return s.enqueueLocked(stanza, true), nil
}

// RequestHeld implements HeldWire.
func (s *Session) RequestHeld(iq *xmpp.Element, timeout time.Duration, cb ResponseFunc) (Mark, error) {
	return s.request(iq, timeout, cb, true)
}

// queueableLocked says why a stanza cannot be queued now, held or not.
func (s *Session) queueableLocked(held bool) error {
	switch {
	case s.closed:
		return ErrClosed
	case s.stream == nil:
		return ErrNotConnected
	case held && (s.sm == nil || !s.sm.tracking || s.sm.state.ID == ""):
		return ErrNotCounted
	}
	return nil
}

// Let implements HeldWire.
func (s *Session) Let(m Mark) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sm == nil || m.Pos == 0 || m.Session != s.sm.state.ID {
		return
	}
	for i := range s.queue {
		if it := &s.queue[i]; it.pos == m.Pos && it.el != nil {
			if it.held {
				it.held = false
				s.wakeWriterLocked()
			}
			return
		}
	}
}

// Received implements HeldWire.
func (s *Session) Received(m Mark) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sm != nil && m.Pos > 0 && m.Session == s.sm.state.ID && m.Pos <= s.sm.ackedH
}

// TookOver implements HeldWire.
func (s *Session) TookOver() Mark {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sm == nil {
		return Mark{}
	}
	return s.sm.tookOver
}

// enqueueLocked queues a stanza, counted when the session counts what it
// sends (from <enable/> on, whether or not the server has answered it
// yet), and held if asked (queueableLocked said it can be).
func (s *Session) enqueueLocked(el *xmpp.Element, hold bool) Mark {
	it := outItem{el: el}
	var m Mark
	if s.sm != nil && s.sm.tracking {
		s.sm.lastPos++
		it.pos = s.sm.lastPos
		if hold {
			m = Mark{Session: s.sm.state.ID, Pos: it.pos}
			it.held, it.heldAt = true, time.Now()
		}
	}
	s.queue = append(s.queue, it)
	s.wakeWriterLocked() // held, to time its limit
	return m
}

// writable splits off what the writer may write now: the queue up to the
// first held stanza. A held stanza waiting longer than
// StreamManagement.HoldLimit is let go here, with a warning: whatever
// holds it is stuck, and the session must not stop for it. Flush markers
// behind a held stanza are answered ErrHeld. wait is when the first held
// stanza reaches the limit.
func (s *Session) writableLocked() (batch []outItem, wait time.Duration) {
	n := 0
	for ; n < len(s.queue); n++ {
		it := &s.queue[n]
		if !it.held {
			continue
		}
		limit := s.sm.cfg.HoldLimit
		if limit <= 0 {
			limit = DefaultHoldLimit
		}
		if left := limit - time.Since(it.heldAt); left > 0 {
			wait = left
			break
		}
		s.log.Warn("a held stanza was not let go in time; writing it", "pos", it.pos, "held", time.Since(it.heldAt))
		it.held = false
	}
	batch = s.queue[:n:n]
	rest := s.queue[n:]
	if len(rest) == 0 {
		s.queue = nil
		return batch, 0
	}
	kept := make([]outItem, 0, len(rest))
	for _, it := range rest {
		if it.flushed != nil {
			it.flushed.held = true
			close(it.flushed.done)
			continue
		}
		kept = append(kept, it)
	}
	s.queue = kept
	return batch, wait
}

// DefaultHoldLimit is StreamManagement.HoldLimit's default.
const DefaultHoldLimit = 10 * time.Second
