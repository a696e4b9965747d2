package xmpp

import (
	"errors"
	"fmt"
	"testing"
)

func TestStanzaErrorDefaultTypes(t *testing.T) {
	for cond, typ := range map[string]string{
		BadRequest:            ErrorModify,
		NotAcceptable:         ErrorModify,
		NotAuthorized:         ErrorAuth,
		Forbidden:             ErrorAuth,
		RemoteServerTimeout:   ErrorWait,
		ResourceConstraint:    ErrorWait,
		InternalServerError:   ErrorWait,
		Conflict:              ErrorCancel,
		ItemNotFound:          ErrorCancel,
		ServiceUnavailable:    ErrorCancel,
		FeatureNotImplemented: ErrorCancel,
		UndefinedCondition:    ErrorCancel,
	} {
		if got := NewStanzaError(cond, "").Type; got != typ {
			t.Errorf("%s: type %q, want %q", cond, got, typ)
		}
	}
}

func TestStanzaErrorString(t *testing.T) {
	if got := NewStanzaError(BadRequest, "No 'room' specified.").Error(); got != "bad-request (modify): No 'room' specified." {
		t.Errorf("got %q", got)
	}
	if got := NewStanzaError(ItemNotFound, "").Error(); got != "item-not-found (cancel)" {
		t.Errorf("got %q", got)
	}
}

func TestStanzaErrorElement(t *testing.T) {
	se := StanzaError{Condition: NotAcceptable, Text: "session <invalid> & gone",
		App: NewElement(NSFocus, "session-invalid")}
	el := se.Element()
	want := `<error type="modify">` +
		`<not-acceptable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>` +
		`<text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">session &lt;invalid&gt; &amp; gone</text>` +
		`<session-invalid xmlns="http://jitsi.org/protocol/focus"/>` +
		`</error>`
	if got := el.String(); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// The application condition is copied, not shared.
	el.Children[2].SetAttr("x", "y")
	if se.App.AttrValue("x") != "" {
		t.Fatal("Element shares the application condition with the error")
	}
	// An explicit type wins over the default.
	if got := (StanzaError{Type: ErrorWait, Condition: BadRequest}).Element().AttrValue("type"); got != ErrorWait {
		t.Fatalf("type %q", got)
	}
	if got := NewStanzaError(Conflict, "").Element().String(); got != `<error type="cancel"><conflict xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>` {
		t.Fatalf("got %s", got)
	}
}

func TestErrorForAndErrorOfRoundTrip(t *testing.T) {
	req := NewIQ(IQSet, "client@example.com/r", "focus.example.com", "q1",
		NewElement(NSFocus, "conference", "room", "r@conference.example.com"))
	for _, se := range []StanzaError{
		NewStanzaError(BadRequest, "No 'room' specified."),
		NewStanzaError(NotAuthorized, "not authorized user domain"),
		{Type: ErrorModify, Condition: NotAcceptable, App: NewElement(NSFocus, "session-invalid")},
		NewStanzaError(ServiceUnavailable, ""),
	} {
		t.Run(se.Condition, func(t *testing.T) {
			answer := ErrorFor(req, se)
			if answer.AttrValue("type") != IQError || answer.AttrValue("id") != "q1" ||
				answer.AttrValue("to") != "client@example.com/r" || answer.AttrValue("from") != "focus.example.com" {
				t.Fatalf("answer %s", answer)
			}
			if answer.Child(NSFocus, "conference") != nil {
				t.Fatal("the request payload is echoed")
			}
			// Read back after a trip over the wire.
			wire, err := Parse([]byte(`<stream xmlns="jabber:client">` + answer.String() + `</stream>`))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := ErrorOf(wire.FirstChild())
			if !ok {
				t.Fatalf("ErrorOf(%s) is not an error", answer)
			}
			if got.Type != se.Type || got.Condition != se.Condition || got.Text != se.Text {
				t.Fatalf("got %+v, want %+v", got, se)
			}
			if (got.App == nil) != (se.App == nil) || got.App != nil && got.App.Name != se.App.Name {
				t.Fatalf("application condition %v, want %v", got.App, se.App)
			}
		})
	}
}

func TestErrorOfCases(t *testing.T) {
	for _, tc := range []struct {
		name string
		xml  string
		ok   bool
		want StanzaError
	}{
		{"result", `<iq type="result"/>`, false, StanzaError{}},
		{"request", `<iq type="get"><error type="cancel"><conflict xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></iq>`, false, StanzaError{}},
		{"no error child", `<iq type="error"/>`, true, StanzaError{Condition: UndefinedCondition}},
		{"no condition", `<iq type="error"><error type="wait"/></iq>`, true, StanzaError{Type: ErrorWait, Condition: UndefinedCondition}},
		{"Prosody's remote-server-timeout", `<iq xmlns="jabber:client" type="error" from="focus.meet.jitsi" id="x"><error type="wait"><remote-server-timeout xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">Server-to-server connection failed</text></error></iq>`,
			true, StanzaError{Type: ErrorWait, Condition: RemoteServerTimeout, Text: "Server-to-server connection failed"}},
		{"text before condition", `<message type="error"><error type="cancel"><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">t</text><item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></message>`,
			true, StanzaError{Type: ErrorCancel, Condition: ItemNotFound, Text: "t"}},
		{"legacy code attribute", `<presence type="error"><error code="409" type="cancel"><conflict xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></presence>`,
			true, StanzaError{Type: ErrorCancel, Condition: Conflict}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			el, err := Parse([]byte(tc.xml))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := ErrorOf(el)
			if ok != tc.ok {
				t.Fatalf("ok = %v", ok)
			}
			if got.Type != tc.want.Type || got.Condition != tc.want.Condition || got.Text != tc.want.Text || got.App != nil {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	if _, ok := ErrorOf(nil); ok {
		t.Fatal("ErrorOf(nil)")
	}
}

func TestErrorOfApplicationConditions(t *testing.T) {
	el, err := Parse([]byte(`<iq type="error"><error type="cancel">` +
		`<item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>` +
		`<conference-not-found xmlns="jitsi:colibri2"/>` +
		`<detail xmlns="urn:other"/>` +
		`</error></iq>`))
	if err != nil {
		t.Fatal(err)
	}
	se, ok := ErrorOf(el)
	if !ok || se.Condition != ItemNotFound {
		t.Fatalf("got %+v", se)
	}
	if se.App == nil || se.App.Name.Space != "jitsi:colibri2" || se.App.Name.Local != "conference-not-found" {
		t.Fatalf("application condition %v: want the first one", se.App)
	}
}

func TestConditionOf(t *testing.T) {
	se := NewStanzaError(RemoteServerTimeout, "")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{se, RemoteServerTimeout},
		{fmt.Errorf("request to focus: %w", se), RemoteServerTimeout},
		{errors.Join(errors.New("other"), fmt.Errorf("x: %w", NewStanzaError(Forbidden, "no"))), Forbidden},
		{errors.New("plain"), ""},
		{nil, ""},
	} {
		if got := ConditionOf(tc.err); got != tc.want {
			t.Errorf("ConditionOf(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	var target StanzaError
	if !errors.As(fmt.Errorf("wrapped: %w", se), &target) || target.Condition != RemoteServerTimeout {
		t.Fatal("errors.As")
	}
}
