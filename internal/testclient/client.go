// Package testclient is a scripted XMPP participant for tests and load
// generators: a real anonymous c2s connection that records what it receives.
package testclient

import (
	"context"
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"focal/xmpp"
	"focal/xmpp/session"
)

// Client is one participant connection.
type Client struct {
	S      *session.Session
	cancel context.CancelFunc

	mu       sync.Mutex
	received []*xmpp.Element
	changed  chan struct{} // closed and replaced on every new stanza
	// onIQ is Options.OnIQ; iqHandler, set by SetIQHandler, is asked first.
	onIQ      func(*xmpp.Element) *xmpp.Element
	iqHandler IQHandler
}

// IQHandler answers an IQ request the client received. A nil resp leaves the
// request to Options.OnIQ (and then to the empty result). then, when not nil,
// runs once resp is queued: a Jingle responder answers session-initiate and
// only then sends its session-accept, and the focus may rely on that order.
// It runs on the stream's read loop, so it must not block.
type IQHandler func(req *xmpp.Element) (resp *xmpp.Element, then func())

// Options of a client.
type Options struct {
	Addr   string // c2s address
	Domain string // anonymous domain, e.g. meet.jitsi
	// User (user@domain) and Password log in as that user instead.
	User, Password string
	// OnIQ answers IQ requests the client receives that the IQHandler (see
	// SetIQHandler) left unanswered; nil answers with an empty result.
	OnIQ func(req *xmpp.Element) *xmpp.Element
}

// Dial connects (anonymously, unless Options.User is set) and waits until
// the stream is up.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	c := &Client{changed: make(chan struct{}), onIQ: opts.OnIQ}
	login, domain := opts.Domain, opts.Domain
	if opts.User != "" {
		login = opts.User
		_, domain, _ = strings.Cut(opts.User, "@")
	}
	c.S = session.New(session.Config{
		Name: "testclient",
		Dial: session.ClientDialer(session.ClientOptions{
			Addr:     opts.Addr,
			JID:      login,
			Password: opts.Password,
			// mellium negotiates STARTTLS whenever the server offers it; test
			// servers use self-signed certificates.
			TLS: &tls.Config{ServerName: domain, InsecureSkipVerify: true},
		}),
		Handler:    c.handle,
		MinBackoff: 50 * time.Millisecond,
		MaxBackoff: 500 * time.Millisecond,
	})
	runCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go c.S.Run(runCtx)
	if err := c.S.WaitUp(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect test client to %s: %w", opts.Addr, err)
	}
	return c, nil
}

// JID is the client's full JID.
func (c *Client) JID() string { return c.S.Addr() }

// Close ends the stream and waits for its goroutines.
func (c *Client) Close() {
	c.cancel()
	<-c.S.Done()
}

// SetIQHandler installs h (nil removes it) for IQ requests received from now
// on, so that something built on a dialled client, such as a Media endpoint,
// can answer them.
func (c *Client) SetIQHandler(h IQHandler) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.iqHandler = h
}

func (c *Client) handle(el *xmpp.Element) {
	if xmpp.IsIQRequest(el) {
		c.mu.Lock()
		h, onIQ := c.iqHandler, c.onIQ
		c.mu.Unlock()
		var resp *xmpp.Element
		var then func()
		if h != nil {
			resp, then = h(el)
		}
		if resp == nil && onIQ != nil {
			resp = onIQ(el)
		}
		if resp == nil {
			resp = xmpp.ResultFor(el, nil)
		}
		_ = c.S.Send(resp)
		if then != nil {
			then()
		}
	}
	c.mu.Lock()
	c.received = append(c.received, el)
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// Received returns a copy of every stanza received so far.
func (c *Client) Received() []*xmpp.Element {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.received)
}

// Await returns the first stanza received, now or later, that match accepts.
func (c *Client) Await(ctx context.Context, match func(*xmpp.Element) bool) (*xmpp.Element, error) {
	seen := 0
	for {
		c.mu.Lock()
		batch := c.received[seen:]
		seen = len(c.received)
		changed := c.changed
		c.mu.Unlock()
		for _, el := range batch {
			if match(el) {
				return el, nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("awaiting stanza: %w", ctx.Err())
		}
	}
}

// AwaitPresence returns the first occupant presence from room that match
// accepts.
func (c *Client) AwaitPresence(ctx context.Context, room string, match func(xmpp.OccupantPresence) bool) (xmpp.OccupantPresence, error) {
	var found xmpp.OccupantPresence
	_, err := c.Await(ctx, func(el *xmpp.Element) bool {
		p, ok := xmpp.ParseOccupantPresence(el)
		if ok && p.Room == room && match(p) {
			found = p
			return true
		}
		return false
	})
	return found, err
}

// RequestConference sends a ConferenceIQ to the focus component and returns
// the answer's payload, or the error the focus answered with.
func (c *Client) RequestConference(ctx context.Context, component string, req xmpp.ConferenceIQ) (xmpp.ConferenceIQ, error) {
	res, err := c.S.RequestWait(ctx, xmpp.NewIQ(xmpp.IQSet, "", component, "", req.Element()))
	if err != nil {
		return xmpp.ConferenceIQ{}, err
	}
	return xmpp.ParseConferenceIQ(res.Child(xmpp.NSFocus, "conference"))
}

// Join enters room as nick and waits for the room's self-presence; extra
// goes in the join presence (e.g. Media.Caps).
func (c *Client) Join(ctx context.Context, room, nick string, extra ...*xmpp.Element) (xmpp.OccupantPresence, error) {
	if err := c.S.Send(xmpp.JoinPresence(room, nick, extra...)); err != nil {
		return xmpp.OccupantPresence{}, err
	}
	return c.AwaitPresence(ctx, room, func(p xmpp.OccupantPresence) bool {
		return p.Nick == nick && (p.Self || p.Error != nil)
	})
}

// Leave leaves room.
func (c *Client) Leave(room, nick string) error {
	return c.S.Send(xmpp.LeavePresence(room, nick))
}
