package bridgesim

import (
	"slices"
	"time"

	"focal/xmpp"
)

// The request journal records every conference-modify a bridge received:
// who sent it and which SSRCs it put on or took off the conference's
// endpoints. It lets a test judge a focus cluster from the bridge's side
// alone: the requests for one conference must come from one focus at a time,
// and a source signalled once must reach the bridge once.

// maxJournal bounds the journal; the oldest requests are dropped first.
const maxJournal = 200_000

// Request is one conference-modify, as the bridge saw it.
type Request struct {
	Seq     int       `json:"seq"` // 1, 2, ... in the order received
	At      time.Time `json:"at"`
	From    string    `json:"from"`
	ID      string    `json:"id"` // the request's, as its sender chose it
	Meeting string    `json:"meeting"`
	Room    string    `json:"room,omitempty"`  // the conference's name, once created
	Error   string    `json:"error,omitempty"` // the error condition answered
	// Added and Removed are the SSRCs of endpoint sources that the request
	// made appear or disappear (a re-sent set that changes nothing adds
	// nothing).
	Added   []int64 `json:"added,omitempty"`
	Removed []int64 `json:"removed,omitempty"`
}

// endpointSSRCsLocked is every SSRC of the endpoints of a conference.
func (b *Bridge) endpointSSRCsLocked(meeting string) map[int64]bool {
	out := map[int64]bool{}
	conf := b.confs[meeting]
	if conf == nil {
		return out
	}
	for _, e := range conf.Endpoints {
		if e.Sources == nil {
			continue
		}
		for _, ms := range e.Sources.MediaSources {
			for _, s := range ms.Sources {
				out[s.SSRC] = true
			}
		}
	}
	return out
}

// recordLocked adds a conference-modify to the journal, given the SSRCs its
// conference had before and the answer.
func (b *Bridge) recordLocked(req, payload *xmpp.Element, before map[int64]bool, resp *xmpp.Element) {
	meeting := payload.AttrValue("meeting-id")
	r := Request{Seq: b.journalSeq + 1, At: time.Now(), From: req.AttrValue("from"), ID: req.AttrValue("id"), Meeting: meeting}
	b.journalSeq++
	if conf := b.confs[meeting]; conf != nil {
		r.Room = conf.Name
	} else {
		r.Room = b.names[meeting]
	}
	if r.Room != "" {
		b.names[meeting] = r.Room
	}
	if se, isErr := xmpp.ErrorOf(resp); isErr {
		r.Error = se.Condition
	}
	after := b.endpointSSRCsLocked(meeting)
	for ssrc := range after {
		if !before[ssrc] {
			r.Added = append(r.Added, ssrc)
		}
	}
	for ssrc := range before {
		if !after[ssrc] {
			r.Removed = append(r.Removed, ssrc)
		}
	}
	slices.Sort(r.Added)
	slices.Sort(r.Removed)
	if len(b.journal) >= maxJournal {
		b.journal = slices.Delete(b.journal, 0, len(b.journal)/2)
	}
	b.journal = append(b.journal, r)
}

// Journal returns the conference-modify requests received so far, in order.
func (b *Bridge) Journal() []Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.journal)
}
