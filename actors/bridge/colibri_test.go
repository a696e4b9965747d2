package bridge

import (
	"testing"

	"focal/xmpp"
)

// Jicofo's handling of a failed allocation (handleResponse) and of a failed
// update (sendRequest), jicofo.md §1.5.
func TestClassifyColibriErrors(t *testing.T) {
	cases := []struct {
		condition  string
		reason     xmpp.Colibri2ErrorReason
		allocate   bool
		scope      Scope
		markFailed bool
	}{
		{xmpp.BadRequest, "", true, ScopeRequest, false},
		{xmpp.ItemNotFound, xmpp.Colibri2ConferenceNotFound, true, ScopeSession, false},
		{xmpp.ItemNotFound, "", true, ScopeRequest, false},
		{xmpp.Conflict, "", true, ScopeSession, false},
		{xmpp.Conflict, xmpp.Colibri2ConferenceAlreadyExists, true, ScopeSession, false},
		{xmpp.ServiceUnavailable, xmpp.Colibri2GracefulShutdown, true, ScopeSession, false},
		{xmpp.ServiceUnavailable, "", true, ScopeSession, true},
		{xmpp.InternalServerError, "", true, ScopeSession, true},
		{xmpp.ItemNotFound, xmpp.Colibri2UnknownEndpoint, false, ScopeEndpoint, false},
		{xmpp.ItemNotFound, xmpp.Colibri2ConferenceNotFound, false, ScopeSession, false},
		{xmpp.BadRequest, "", false, ScopeSession, false},
	}
	for _, c := range cases {
		scope, mark := classify(c.condition, c.reason, c.allocate)
		if scope != c.scope || mark != c.markFailed {
			t.Errorf("classify(%s, %q, allocate=%v) = %v, %v; want %v, %v",
				c.condition, c.reason, c.allocate, scope, mark, c.scope, c.markFailed)
		}
	}
}

func TestColibriReasonReadsReasonAndEndpoint(t *testing.T) {
	res, err := xmpp.Parse([]byte(`<iq xmlns='jabber:client' type='error' id='1'><error type='cancel'>` +
		`<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>` +
		`<error xmlns='jitsi:colibri2' reason='unknown_endpoint'/><endpoint xmlns='jitsi:colibri2' id='abcd'/></error></iq>`))
	if err != nil {
		t.Fatal(err)
	}
	reason, ep := colibriReason(res)
	if reason != xmpp.Colibri2UnknownEndpoint || ep != "abcd" {
		t.Errorf("colibriReason = %q, %q", reason, ep)
	}
	if r, ep := colibriReason(nil); r != "" || ep != "" {
		t.Errorf("colibriReason(nil) = %q, %q", r, ep)
	}
}

func TestExpireConferenceIQ(t *testing.T) {
	iq := ExpireConferenceIQ("brewery@internal.auth.meet.jitsi/jvb1", "m-1")
	if iq.AttrValue("to") != "brewery@internal.auth.meet.jitsi/jvb1" || iq.AttrValue("type") != xmpp.IQGet {
		t.Fatalf("iq = %s", iq)
	}
	var mod xmpp.Colibri2ConferenceModify
	if err := iq.Child(xmpp.Colibri2NS, "conference-modify").Decode(&mod); err != nil {
		t.Fatal(err)
	}
	if mod.MeetingID != "m-1" || !mod.Expire || mod.Create || len(mod.Endpoints) != 0 {
		t.Errorf("conference-modify = %+v", mod)
	}
}
