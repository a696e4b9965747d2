package participant

import (
	"slices"

	"focal/media/sources"
	"focal/proto"
	"focal/xmpp"
)

// SourceEncoding is how one client is told of the others' sources: as
// compact JSON or as ssma elements in the contents, with the simulcast
// layers the bridge rewrites stripped or not. The participant uses it for
// its offer; the conference, which batches the later changes, for
// source-add and source-remove.
type SourceEncoding struct {
	// Room is the room the client is in: its ssma owners are occupant
	// JIDs there.
	Room           string
	JSON           bool
	StripSimulcast bool
}

// EncodingFor is the encoding of a client in room with the given features,
// under the conference's settings (Jicofo's use-json-encoded-sources and
// strip-simulcast).
func EncodingFor(room string, features []string, jsonSources, stripSimulcast bool) SourceEncoding {
	return SourceEncoding{Room: room, JSON: jsonSources && slices.Contains(features, FeatureJSONSources), StripSimulcast: stripSimulcast}
}

// Put adds the sources of each owner to j.
func (e SourceEncoding) Put(j *xmpp.Jingle, byOwner map[string]sources.Set) {
	if len(byOwner) == 0 {
		return
	}
	if e.StripSimulcast {
		stripped := make(map[string]sources.Set, len(byOwner))
		for owner, set := range byOwner {
			stripped[owner] = set.StripSimulcast()
		}
		byOwner = stripped
	}
	if e.JSON {
		j.JSONMessage = sources.NewJSONMessage(byOwner)
		return
	}
	// In <ssrc-info owner/> a participant's sources belong to its occupant
	// JID (lib-jitsi-meet takes the endpoint id from its resource); the
	// bridge's stay "jvb".
	byJID := make(map[string]sources.Set, len(byOwner))
	for owner, set := range byOwner {
		if owner != sources.OwnerBridge {
			owner = e.Room + "/" + owner
		}
		byJID[owner] = set
	}
	j.Contents = sources.JingleContentsWith(j.Contents, byJID)
}

// SourceChange is the source-add (or, with remove, source-remove) of
// Jingle session sid telling the occupant of the changes in byOwner.
func SourceChange(occupant, sid string, remove bool, byOwner map[string]sources.Set, e SourceEncoding) (*xmpp.Element, error) {
	action := xmpp.JingleSourceAdd
	if remove {
		action = xmpp.JingleSourceRemove
	}
	j := &xmpp.Jingle{Action: action, SID: sid}
	e.Put(j, byOwner)
	el, err := xmpp.ElementOf(j)
	if err != nil {
		return nil, err
	}
	return xmpp.NewIQ(xmpp.IQSet, "", occupant, "", el), nil
}

// SessionAccepted says whether st is session sid, accepted and not ended: the
// session the others' source changes can be signalled on.
func SessionAccepted(st *focalpb.JingleState, sid string) bool {
	return st.GetState() == sessionActive && st.GetSid() == sid
}
