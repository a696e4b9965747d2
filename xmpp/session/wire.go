package session

import (
	"time"

	"focal/xmpp"
)

// Wire is what actors need of a stream: to queue a stanza, and to send an
// IQ whose response (or error) comes back through cb. Neither call blocks,
// so an actor may use them inside its Receive; cb runs on the stream's
// goroutine and must not block either. *Session is one.
type Wire interface {
	Send(stanza *xmpp.Element) error
	Request(iq *xmpp.Element, timeout time.Duration, cb ResponseFunc)
}

var _ Wire = (*Session)(nil)
