package xmpp

import (
	"errors"
	"fmt"
	"strings"
)

// Jitsi Meet's mute requests: an occupant asks the focus to mute (or
// unmute) an occupant's audio, video or screen share with
// <mute xmlns='http://jitsi.org/jitmeet/audio' jid='ROOM/nick'>true</mute>
// in an IQ set; the focus tells a participant muted by someone else with
// the same element, sent to it, naming the actor.

// Namespaces of <mute/>, one per kind of media.
const (
	NSMuteAudio   = "http://jitsi.org/jitmeet/audio"
	NSMuteVideo   = "http://jitsi.org/jitmeet/video"
	NSMuteDesktop = "http://jitsi.org/jitmeet/desktop"
)

// MuteMedia is what a mute request is about.
type MuteMedia string

// The kinds of media a mute request may be about.
const (
	MuteAudio   MuteMedia = "audio"
	MuteVideo   MuteMedia = "video"
	MuteDesktop MuteMedia = "desktop"
)

// Namespace is the namespace of <mute/> for m.
func (m MuteMedia) Namespace() string {
	switch m {
	case MuteVideo:
		return NSMuteVideo
	case MuteDesktop:
		return NSMuteDesktop
	}
	return NSMuteAudio
}

// MuteMediaOf says which media a <mute/> namespace is about.
func MuteMediaOf(ns string) (MuteMedia, bool) {
	switch ns {
	case NSMuteAudio:
		return MuteAudio, true
	case NSMuteVideo:
		return MuteVideo, true
	case NSMuteDesktop:
		return MuteDesktop, true
	}
	return "", false
}

// MuteRequest is a parsed <mute/>.
type MuteRequest struct {
	Media MuteMedia
	JID   string // the occupant to mute; a notification has none
	Mute  bool
	Actor string // who muted (in the focus's notification)
}

// ErrNotMute says an element is not a <mute/> of a known namespace.
var ErrNotMute = errors.New("not a jitmeet <mute/>")

// ParseMute reads a <mute/> element.
func ParseMute(el *Element) (MuteRequest, error) {
	if el == nil || el.Name.Local != "mute" {
		return MuteRequest{}, ErrNotMute
	}
	media, ok := MuteMediaOf(el.Name.Space)
	if !ok {
		return MuteRequest{}, ErrNotMute
	}
	r := MuteRequest{Media: media, JID: el.AttrValue("jid"), Actor: el.AttrValue("actor")}
	switch strings.TrimSpace(el.Text) {
	case "true":
		r.Mute = true
	case "false":
	default:
		return r, fmt.Errorf("mute: want true or false, not %q", el.Text)
	}
	return r, nil
}

// Element is the <mute/> for r.
func (r MuteRequest) Element() *Element {
	el := NewElement(r.Media.Namespace(), "mute")
	if r.JID != "" {
		el.SetAttr("jid", r.JID)
	}
	if r.Actor != "" {
		el.SetAttr("actor", r.Actor)
	}
	el.WithText(fmt.Sprint(r.Mute))
	return el
}
