package jitsimeet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"focal/internal/prosodytest"
)

// binding is the function the page calls to report an event.
const binding = "focalEvent"

// eventBuffer is how many reports may wait between the browser's reader
// and the page's collector; a page reports well under a thousand.
const eventBuffer = 8192

// Event types the page reports: lib-jitsi-meet's own names for its
// events, and the page's own (see page/page.js).
const (
	PageLoaded            = "PAGE_LOADED"
	ConnectionEstablished = "CONNECTION_ESTABLISHED"
	ConnectionFailed      = "CONNECTION_FAILED"
	ConferenceAnswer      = "CONFERENCE_REQUEST_ANSWER" // an answer to the conference request: Detail result or error
	ConferenceJoined      = "CONFERENCE_JOINED"
	ConferenceFailed      = "CONFERENCE_FAILED"
	ConferenceError       = "CONFERENCE_ERROR"
	ConferenceLeft        = "CONFERENCE_LEFT"
	Kicked                = "KICKED"
	MeetingIDSet          = "CONFERENCE_UNIQUE_ID_SET"
	TrackAdded            = "TRACK_ADDED" // remote tracks only
	TrackRemoved          = "TRACK_REMOVED"
	UserJoined            = "USER_JOINED"
	UserLeft              = "USER_LEFT"
	UserRoleChanged       = "USER_ROLE_CHANGED"
	IceState              = "ICE_STATE"        // the JVB session's ICE connection state, in Detail
	IceFailed             = "ICE_FAILED"       // lib-jitsi-meet's ICE failure handling starts
	SessionInitiate       = "SESSION_INITIATE" // a Jingle session from the focus (the first or a new one)
	SessionEnded          = "SESSION_ENDED"
	Stanza                = "stanza" // a focus-protocol stanza, in Detail
	Left                  = "LEFT"   // Page.Leave has finished
	HarnessError          = "HARNESS_ERROR"
	PageError             = "PAGE_ERROR" // an uncaught exception or rejection in the page

	// Room features (mute, AV moderation, breakout rooms, lobby).
	TrackMuteChanged        = "TRACK_MUTE_CHANGED"     // any track, Local for the page's own; Detail muted or unmuted
	AVModerationChanged     = "AV_MODERATION_CHANGED"  // Media, Detail enabled or disabled, Actor
	AVModerationApproved    = "AV_MODERATION_APPROVED" // this page may unmute Media
	AVModerationRejected    = "AV_MODERATION_REJECTED" // this page may no longer unmute Media
	AVParticipantApproved   = "AV_MODERATION_PARTICIPANT_APPROVED"
	BreakoutRoomsUpdated    = "BREAKOUT_ROOMS_UPDATED"      // Detail: the rooms as JSON
	BreakoutRoomsMoveToRoom = "BREAKOUT_ROOMS_MOVE_TO_ROOM" // Detail: the room's JID; the page follows
	MoveLeft                = "MOVE_LEFT"                   // the page left a room to move to another
	MembersOnlyChanged      = "MEMBERS_ONLY_CHANGED"        // lobby on or off, in Detail
	LobbyUserJoined         = "LOBBY_USER_JOINED"           // someone knocks
	LobbyKnock              = "LOBBY_KNOCK"                 // this page found the room members-only and knocks
)

const (
	mediaAudio = "audio"
	mediaVideo = "video"
	// offerAnswerFailed is how lib-jitsi-meet names a rejected description.
	offerAnswerFailed = "offerAnswerFailed"
)

// Event is one report of a page.
type Event struct {
	Type        string  `json:"type"`
	T           float64 `json:"t"` // milliseconds since the page's join() was called
	Participant string  `json:"participant,omitempty"`
	Media       string  `json:"media,omitempty"` // audio or video, for tracks
	Detail      string  `json:"detail,omitempty"`
	Moderator   bool    `json:"moderator,omitempty"` // CONFERENCE_JOINED: isModerator()
	Local       bool    `json:"local,omitempty"`     // USER_ROLE_CHANGED: about this page
	Ready       bool    `json:"ready,omitempty"`     // CONFERENCE_REQUEST_ANSWER
	SID         string  `json:"sid,omitempty"`       // Jingle session id
	Dir         string  `json:"dir,omitempty"`       // stanza: in or out
	Room        string  `json:"room,omitempty"`      // CONFERENCE_JOINED: the room's JID
	Actor       string  `json:"actor,omitempty"`     // AV_MODERATION_CHANGED

	At  time.Time `json:"-"` // when the test received it
	Seq int       `json:"-"` // its index among the page's events (see AwaitAfter)
}

// Since is the event's time after join() as a duration.
func (e Event) Since() time.Duration { return time.Duration(e.T * float64(time.Millisecond)) }

func (e Event) String() string {
	s := fmt.Sprintf("%8.0fms %s", e.T, e.Type)
	for _, f := range []struct{ k, v string }{{"participant", e.Participant}, {"media", e.Media}, {"room", e.Room}, {"sid", e.SID}, {"dir", e.Dir}, {"detail", e.Detail}} {
		if f.v != "" {
			s += " " + f.k + "=" + f.v
		}
	}
	return s
}

// fatal reports whether lib-jitsi-meet has given up on the conference.
func (e Event) fatal() bool {
	switch e.Type {
	case ConferenceFailed, ConnectionFailed, HarnessError:
		return true
	}
	return e.Type == ConferenceError && strings.Contains(e.Detail, offerAnswerFailed)
}

// Config says where a page joins.
type Config struct {
	Domain     string         `json:"domain"`
	MUC        string         `json:"muc"`
	Focus      string         `json:"focus"` // the focus component's JID
	ServiceURL string         `json:"serviceUrl"`
	Room       string         `json:"room"`             // the room's name (node part), lower case
	Conference map[string]any `json:"config,omitempty"` // initJitsiConference options beyond p2p off
	// Knock, if set, is the display name with which the page knocks when
	// the room is members-only (lobby on), as Jitsi Meet does.
	Knock string `json:"knock,omitempty"`
}

// ConfigFor is the configuration of a page joining room on p, through its
// websocket, as a Jitsi Meet deployment configures its clients.
func ConfigFor(p *prosodytest.Server, room string) Config {
	return Config{
		Domain:     p.Domain,
		MUC:        p.MUCDomain(),
		Focus:      p.FocusComponent(),
		ServiceURL: "ws://" + p.HTTPAddr + "/xmpp-websocket?room=" + url.QueryEscape(room),
		Room:       room,
	}
}

// Page is one browser tab running the test page.
type Page struct {
	Name string

	t      testing.TB
	ctx    context.Context // the tab's chromedp context
	cancel context.CancelFunc
	events chan Event
	done   chan struct{} // closed when the collector has stopped

	mu      sync.Mutex
	history []Event
	changed chan struct{} // closed and replaced at each event
	console []string
	dropped int
	closed  bool
}

// Open opens a tab with the test page and waits until the library has
// loaded. The page is closed with the browser, or by Close; a failed test
// gets the page's console errors and its last events in its log.
func (b *Browser) Open(ctx context.Context, tb testing.TB, name string) (*Page, error) {
	tb.Helper()
	p := &Page{
		Name:    name,
		t:       tb,
		events:  make(chan Event, eventBuffer),
		done:    make(chan struct{}),
		changed: make(chan struct{}),
	}
	p.ctx, p.cancel = chromedp.NewContext(b.ctx)
	b.mu.Lock()
	b.pages = append(b.pages, p)
	b.mu.Unlock()
	go p.collect()
	tb.Cleanup(func() {
		if tb.Failed() {
			p.dump()
		}
	})

	if err := chromedp.Listen(p.ctx, p.listen); err != nil {
		return nil, fmt.Errorf("%s: open a tab: %w", name, err)
	}
	if _, err := chromedp.Call(p.ctx, runtime.AddBinding, runtime.AddBindingParams{Name: binding}); err != nil {
		return nil, fmt.Errorf("%s: add the event binding: %w", name, err)
	}
	loadCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := chromedp.Do(p.ctx, chromedp.Navigate(b.url)); err != nil {
		return nil, fmt.Errorf("%s: load the test page: %w", name, err)
	}
	ev, err := p.Await(loadCtx, "page loaded", func(e Event) bool { return e.Type == PageLoaded })
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(ev.Detail, "01daa07c") {
		return nil, fmt.Errorf("%s: the page loaded lib-jitsi-meet %q, not the vendored 01daa07c", name, ev.Detail)
	}
	return p, nil
}

// listen runs on chromedp's reader goroutine: it must not block.
func (p *Page) listen(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventBindingCalled:
		if ev.Name != binding {
			return
		}
		var e Event
		if err := json.Unmarshal([]byte(ev.Payload), &e); err != nil {
			e = Event{Type: HarnessError, Detail: fmt.Sprintf("undecodable report %q: %v", ev.Payload, err)}
		}
		e.At = time.Now()
		select {
		case p.events <- e:
		default:
			p.mu.Lock()
			p.dropped++
			p.mu.Unlock()
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeWarning && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			switch {
			case len(a.Value) > 0:
				parts = append(parts, string(a.Value))
			case a.Description != "":
				parts = append(parts, a.Description)
			default:
				parts = append(parts, string(a.Type))
			}
		}
		p.addConsole(string(ev.Type) + ": " + strings.Join(parts, " "))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
		p.addConsole("exception: " + msg)
	}
}

func (p *Page) addConsole(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.console = append(p.console, line)
}

// collect moves the reports from the channel into the history that Await
// searches, until the tab is closed.
func (p *Page) collect() {
	defer close(p.done)
	for {
		select {
		case e := <-p.events:
			p.mu.Lock()
			e.Seq = len(p.history)
			p.history = append(p.history, e)
			close(p.changed)
			p.changed = make(chan struct{})
			p.mu.Unlock()
		case <-p.ctx.Done():
			return
		}
	}
}

// Join calls the page's join: lib-jitsi-meet connects, creates its local
// audio and video tracks, and joins cfg.Room. It returns once the call is
// made; the outcome arrives as events.
func (p *Page) Join(ctx context.Context, cfg Config) error {
	js, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("%s: encode the join config: %w", p.Name, err)
	}
	if err := chromedp.Do(p.ctx, chromedp.Evaluate[chromedp.Void]("focalJoin("+string(js)+")")); err != nil {
		return fmt.Errorf("%s: call join: %w", p.Name, err)
	}
	return nil
}

// Connect does what Join does up to the XMPP connection, and waits for it
// (CONNECTION_ESTABLISHED); Enter then joins the conference. Times of the
// events are counted from Connect.
func (p *Page) Connect(ctx context.Context, cfg Config) error {
	js, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("%s: encode the join config: %w", p.Name, err)
	}
	if err := chromedp.Do(p.ctx, chromedp.Evaluate[chromedp.Void]("focalConnect("+string(js)+")")); err != nil {
		return fmt.Errorf("%s: call connect: %w", p.Name, err)
	}
	if _, err := p.Await(ctx, "the XMPP connection", func(e Event) bool { return e.Type == ConnectionEstablished }); err != nil {
		return err
	}
	return nil
}

// Enter joins the conference on a page connected with Connect: the
// conference request goes out at once.
func (p *Page) Enter(ctx context.Context) error {
	if err := chromedp.Do(p.ctx, chromedp.Evaluate[chromedp.Void]("focalEnter()")); err != nil {
		return fmt.Errorf("%s: call enter: %w", p.Name, err)
	}
	return nil
}

// Leave leaves the conference and disconnects, as closing Jitsi Meet
// does, and waits until lib-jitsi-meet has done so.
func (p *Page) Leave(ctx context.Context) error {
	if err := chromedp.Do(p.ctx, chromedp.Evaluate[chromedp.Void]("focalLeave()", chromedp.EvalAwaitPromise)); err != nil {
		return fmt.Errorf("%s: leave: %w", p.Name, err)
	}
	return nil
}

// Do runs one of the page's actions (page.js focalDo: muteParticipant,
// unmuteLocal, enableAVModeration, createBreakoutRoom, ...), each a call
// of lib-jitsi-meet's API as Jitsi Meet makes it, and returns its result
// decoded into out (nil: discarded). An action that throws is an error.
func (p *Page) Do(ctx context.Context, out any, action string, args ...any) error {
	if args == nil {
		args = []any{}
	}
	js, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("%s: encode the arguments of %s: %w", p.Name, action, err)
	}
	name, _ := json.Marshal(action)
	res, err := chromedp.Run(p.ctx, chromedp.Evaluate[json.RawMessage]("focalDo("+string(name)+", "+string(js)+")", chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("%s: %s%v: %w", p.Name, action, args, err)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(res, out); err != nil {
		return fmt.Errorf("%s: %s: decode %s: %w", p.Name, action, res, err)
	}
	return nil
}

// Close closes the tab at once, as a user closing it would (lib-jitsi-meet
// gets no chance to leave).
func (p *Page) Close() { p.close() }

func (p *Page) close() {
	p.mu.Lock()
	closed := p.closed
	p.closed = true
	p.mu.Unlock()
	if closed {
		return
	}
	if err := chromedp.Cancel(p.ctx); err != nil && !errors.Is(err, context.Canceled) {
		p.t.Logf("jitsimeet: %s: close the tab: %v", p.Name, err)
	}
	p.cancel()
	<-p.done
}

// Events returns every event so far.
func (p *Page) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.history...)
}

// Mark is the number of events so far: AwaitAfter(mark, ...) looks only at
// the events that come after it.
func (p *Page) Mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.history)
}

// Await returns the first event, since the page opened, that match accepts.
func (p *Page) Await(ctx context.Context, what string, match func(Event) bool) (Event, error) {
	return p.AwaitAfter(ctx, 0, what, match)
}

// AwaitAfter returns the first event at or after index from that match
// accepts, waiting for it if need be. It fails at once if lib-jitsi-meet
// gives up on the conference there first (CONFERENCE_FAILED,
// CONNECTION_FAILED, offerAnswerFailed), unless match accepts that event.
func (p *Page) AwaitAfter(ctx context.Context, from int, what string, match func(Event) bool) (Event, error) {
	for {
		p.mu.Lock()
		events, changed := p.history[min(from, len(p.history)):], p.changed
		p.mu.Unlock()
		for _, e := range events {
			if match(e) {
				return e, nil
			}
			if e.fatal() {
				return Event{}, fmt.Errorf("%s: waiting for %s: %s", p.Name, what, e)
			}
		}
		from += len(events)
		select {
		case <-changed:
		case <-ctx.Done():
			return Event{}, fmt.Errorf("%s: waiting for %s: %w", p.Name, what, ctx.Err())
		case <-p.done:
			return Event{}, fmt.Errorf("%s: waiting for %s: the page is closed", p.Name, what)
		}
	}
}

// AwaitJoined waits for CONFERENCE_JOINED and returns it; its Participant
// is the page's id in the conference (its MUC nick).
func (p *Page) AwaitJoined(ctx context.Context) (Event, error) {
	return p.Await(ctx, "CONFERENCE_JOINED", func(e Event) bool { return e.Type == ConferenceJoined })
}

// ID is the page's participant id, once joined ("" before).
func (p *Page) ID() string {
	for _, e := range p.Events() {
		if e.Type == ConferenceJoined {
			return e.Participant
		}
	}
	return ""
}

// RemoteTracks counts the remote tracks lib-jitsi-meet has now, by
// participant and media type (added minus removed).
func (p *Page) RemoteTracks() map[string]map[string]int {
	return remoteTracks(p.Events())
}

func remoteTracks(events []Event) map[string]map[string]int {
	tracks := map[string]map[string]int{}
	for _, e := range events {
		d := 0
		switch e.Type {
		case TrackAdded:
			d = 1
		case TrackRemoved:
			d = -1
		default:
			continue
		}
		if tracks[e.Participant] == nil {
			tracks[e.Participant] = map[string]int{}
		}
		tracks[e.Participant][e.Media] += d
	}
	return tracks
}

// AwaitRemoteTracks waits until the page has a remote audio and a remote
// video track of each participant in ids, and returns the time after join()
// at which the last of them was created.
func (p *Page) AwaitRemoteTracks(ctx context.Context, ids ...string) (time.Duration, error) {
	var last time.Duration
	have := func(events []Event) bool {
		tracks := remoteTracks(events)
		for _, id := range ids {
			if tracks[id][mediaAudio] < 1 || tracks[id][mediaVideo] < 1 {
				return false
			}
		}
		return true
	}
	var seen []Event
	_, err := p.Await(ctx, fmt.Sprintf("remote audio and video of %v", ids), func(e Event) bool {
		seen = append(seen, e)
		if have(seen) {
			last = e.Since()
			return true
		}
		return false
	})
	if err != nil {
		return 0, fmt.Errorf("%w; remote tracks now %v", err, p.RemoteTracks())
	}
	return last, nil
}

// Failures are the events by which lib-jitsi-meet gave up, and the
// uncaught exceptions in the page.
func (p *Page) Failures() []Event {
	var out []Event
	for _, e := range p.Events() {
		if e.fatal() || e.Type == PageError {
			out = append(out, e)
		}
	}
	return out
}

// Count is the number of events so far that match accepts.
func (p *Page) Count(match func(Event) bool) int {
	n := 0
	for _, e := range p.Events() {
		if match(e) {
			n++
		}
	}
	return n
}

// dumpStanzas is how many of the last focus-protocol stanzas a failed
// test's log shows per page.
const dumpStanzas = 30

// dump logs what a failed test needs to see of the page.
func (p *Page) dump() {
	p.mu.Lock()
	events := append([]Event(nil), p.history...)
	console := append([]string(nil), p.console...)
	dropped := p.dropped
	p.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "jitsimeet: page %s (%d events, %d dropped):\n", p.Name, len(events), dropped)
	var stanzas []Event
	for _, e := range events {
		if e.Type == Stanza {
			stanzas = append(stanzas, e)
			continue
		}
		fmt.Fprintf(&b, "  %s\n", e)
	}
	if len(stanzas) > dumpStanzas {
		stanzas = stanzas[len(stanzas)-dumpStanzas:]
	}
	fmt.Fprintf(&b, " last focus-protocol stanzas:\n")
	for _, e := range stanzas {
		fmt.Fprintf(&b, "  %8.0fms %-3s %s\n", e.T, e.Dir, e.Detail)
	}
	fmt.Fprintf(&b, " console errors and warnings:\n")
	for _, line := range console {
		fmt.Fprintf(&b, "  %s\n", line)
	}
	p.t.Log(b.String())
}
