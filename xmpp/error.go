package xmpp

import (
	"errors"
	"fmt"
)

// NSStanzas is the namespace of stanza error conditions (RFC 6120 §8.3).
const NSStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"

// Error types (RFC 6120 §8.3.2).
const (
	ErrorCancel   = "cancel"
	ErrorModify   = "modify"
	ErrorAuth     = "auth"
	ErrorWait     = "wait"
	ErrorContinue = "continue"
)

// Conditions used by Focal (RFC 6120 §8.3.3).
const (
	BadRequest            = "bad-request"
	Conflict              = "conflict"
	FeatureNotImplemented = "feature-not-implemented"
	Forbidden             = "forbidden"
	Gone                  = "gone"
	InternalServerError   = "internal-server-error"
	ItemNotFound          = "item-not-found"
	NotAcceptable         = "not-acceptable"
	NotAllowed            = "not-allowed"
	NotAuthorized         = "not-authorized"
	RemoteServerTimeout   = "remote-server-timeout"
	ResourceConstraint    = "resource-constraint"
	ServiceUnavailable    = "service-unavailable"
	UndefinedCondition    = "undefined-condition"
	UnexpectedRequest     = "unexpected-request"
)

// StanzaError is an XMPP stanza error; it is also a Go error, so a failed IQ
// request surfaces as one.
type StanzaError struct {
	Type      string
	Condition string
	Text      string
	// App is an optional application-specific condition element, e.g.
	// <session-invalid xmlns='http://jitsi.org/protocol/focus'/>.
	App *Element
}

// NewStanzaError returns an error with the type RFC 6120 suggests for the
// condition.
func NewStanzaError(condition, text string) StanzaError {
	return StanzaError{Type: defaultErrorType(condition), Condition: condition, Text: text}
}

func defaultErrorType(condition string) string {
	switch condition {
	case BadRequest, NotAcceptable:
		return ErrorModify
	case NotAuthorized, Forbidden:
		return ErrorAuth
	case RemoteServerTimeout, ResourceConstraint, InternalServerError:
		return ErrorWait
	default:
		return ErrorCancel
	}
}

func (e StanzaError) Error() string {
	if e.Text != "" {
		return fmt.Sprintf("%s (%s): %s", e.Condition, e.Type, e.Text)
	}
	return fmt.Sprintf("%s (%s)", e.Condition, e.Type)
}

// Element returns the <error/> child of an error stanza.
func (e StanzaError) Element() *Element {
	typ := e.Type
	if typ == "" {
		typ = defaultErrorType(e.Condition)
	}
	el := NewElement("", "error", "type", typ).Append(NewElement(NSStanzas, e.Condition))
	if e.Text != "" {
		el.Append(NewElement(NSStanzas, "text").WithText(e.Text))
	}
	return el.Append(e.App.Clone())
}

// ErrorOf returns the stanza error carried by an error stanza, or false when
// e is not one.
func ErrorOf(e *Element) (StanzaError, bool) {
	if e == nil || e.AttrValue("type") != IQError {
		return StanzaError{}, false
	}
	se := StanzaError{Condition: UndefinedCondition}
	el := e.Child("", "error")
	if el == nil {
		return se, true
	}
	se.Type = el.AttrValue("type")
	for _, c := range el.Children {
		switch {
		case c.Name.Space == NSStanzas && c.Name.Local == "text":
			se.Text = c.Text
		case c.Name.Space == NSStanzas:
			se.Condition = c.Name.Local
		case se.App == nil:
			// The first application condition is the one that names the
			// error (e.g. a colibri2 reason); later ones add detail.
			se.App = c
		}
	}
	return se, true
}

// ConditionOf returns the stanza error condition of err, or "" if err is not
// a StanzaError.
func ConditionOf(err error) string {
	var se StanzaError
	if errors.As(err, &se) {
		return se.Condition
	}
	return ""
}
