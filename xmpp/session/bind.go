package session

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	mxmpp "mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stream"

	"focal/xmpp"
)

// nsBind is the namespace of resource binding (RFC 6120 §7).
const nsBind = "urn:ietf:params:xml:ns:xmpp-bind"

// bindFeature is the last step of a client login: it binds the resource of
// want, or, when the Session asked for it through the dial context, resumes
// an XEP-0198 session instead (a resumed session keeps the resource it had,
// and binding first would make resumption impossible).
//
// mellium's own BindResource cannot bind a chosen resource in v0.22: its
// request writes the payload's (empty) JID field inside <resource/> instead
// of the resource, so every request goes out as <resource></resource> and the
// server picks a random resource. (Prosody's stream header does carry
// to='user@domain/resource', so mellium knows the resource; it just does not
// send it.)
func bindFeature(want jid.JID) mxmpp.StreamFeature {
	return mxmpp.StreamFeature{
		Name:       xml.Name{Space: nsBind, Local: "bind"},
		Necessary:  mxmpp.Authn,
		Prohibited: mxmpp.Ready,
		// List is only used by servers.
		Parse: func(ctx context.Context, d *xml.Decoder, start *xml.StartElement) (bool, any, error) {
			var skip struct{}
			return true, nil, d.DecodeElement(&skip, start)
		},
		Negotiate: func(ctx context.Context, s *mxmpp.Session, _ any) (mxmpp.SessionState, io.ReadWriter, error) {
			if req, ok := ctx.Value(smDialKey{}).(*smDial); ok && req.resume.ID != "" {
				return mxmpp.Ready, nil, resumeSession(s, req, want)
			}
			return mxmpp.Ready, nil, bindResource(s, want)
		},
	}
}

// bindResource binds want's resource, or lets the server pick one when want
// has none (anonymous logins). A server that binds another resource than the
// one asked for is refused: Focal tells its sessions apart by resource.
func bindResource(s *mxmpp.Session, want jid.JID) error {
	id := "bind-" + xmpp.NewID()
	payload := xmpp.NewElement(nsBind, "bind")
	if res := want.Resourcepart(); res != "" {
		payload.Append(xmpp.NewElement(nsBind, "resource").WithText(res))
	}
	req := xmpp.NewElement(xmpp.NSClient, "iq", "type", xmpp.IQSet, "id", id).Append(payload)
	if err := writeNegotiation(s, req); err != nil {
		return fmt.Errorf("bind resource: %w", err)
	}
	resp, err := readNegotiation(s)
	if err != nil {
		return fmt.Errorf("bind resource: %w", err)
	}
	xmpp.StripStreamNamespace(resp, xmpp.NSClient)
	if resp.Name.Local != xmpp.KindIQ || resp.AttrValue("id") != id {
		return fmt.Errorf("bind resource: unexpected answer %s", resp)
	}
	if se, isErr := xmpp.ErrorOf(resp); isErr {
		return fmt.Errorf("bind resource %q: %w", want.Resourcepart(), se)
	}
	if resp.AttrValue("type") != xmpp.IQResult {
		return fmt.Errorf("bind resource: unexpected answer %s", resp)
	}
	text := strings.TrimSpace(resp.Child(nsBind, "bind").Child(nsBind, "jid").Text)
	got, err := jid.Parse(text)
	if err != nil {
		return fmt.Errorf("bind resource: server bound an invalid address %q: %w", text, err)
	}
	if got.Resourcepart() == "" {
		return fmt.Errorf("bind resource: server bound %q, which has no resource", text)
	}
	if want.Localpart() != "" && !strings.EqualFold(got.Bare().String(), want.Bare().String()) {
		return fmt.Errorf("bind resource: server bound %s, not an address of %s", got, want.Bare())
	}
	if res := want.Resourcepart(); res != "" && got.Resourcepart() != res {
		return fmt.Errorf("bind resource: server bound %s instead of resource %q", got, res)
	}
	s.UpdateAddr(got)
	return nil
}

// resumeSession asks the server to resume req.resume in place of binding.
// A <failed/> answer, or a stream error in its place, is a *ResumeError; a
// connection lost before any answer is not (the server may not have seen the
// request), so the Session tries again and a second attempt gets a definite
// answer.
func resumeSession(s *mxmpp.Session, req *smDial, want jid.JID) error {
	st := req.resume
	if _, ok := s.Feature(nsSM); !ok {
		return &ResumeError{PrevID: st.ID, H: st.InboundH, Condition: "feature-not-implemented",
			Text: "the server does not offer stream management"}
	}
	addr := want
	if st.JID != "" {
		j, err := jid.Parse(st.JID)
		if err != nil {
			return fmt.Errorf("resume %s: address %q: %w", st.ID, st.JID, err)
		}
		addr = j
	}
	el := xmpp.NewElement(nsSM, "resume", "previd", st.ID, "h", formatH(st.InboundH))
	if err := writeNegotiation(s, el); err != nil {
		return fmt.Errorf("resume %s: %w", st.ID, err)
	}
	resp, err := readNegotiation(s)
	if err != nil {
		var se stream.Error
		if errors.As(err, &se) {
			return &ResumeError{PrevID: st.ID, H: st.InboundH, Condition: se.Err, Text: streamErrorTextOf(se), Stream: true}
		}
		req.noAnswer = true
		return fmt.Errorf("resume %s: no answer: %w", st.ID, err)
	}
	switch {
	case resp.Name.Space == nsSM && resp.Name.Local == "resumed":
		h, err := parseH(resp.AttrValue("h"))
		if err != nil {
			return fmt.Errorf("resume %s: <resumed/> with %w", st.ID, err)
		}
		if prev := resp.AttrValue("previd"); prev != "" && prev != st.ID {
			return fmt.Errorf("resume %s: server resumed %q", st.ID, prev)
		}
		req.resumed, req.serverH = true, h
		s.UpdateAddr(addr)
		return nil
	case resp.Name.Space == nsSM && resp.Name.Local == "failed":
		return failedError(resp, st)
	default:
		return fmt.Errorf("resume %s: unexpected answer %s", st.ID, resp)
	}
}

// writeNegotiation writes el during stream negotiation, when mellium does not
// yet add the stream namespace to stanzas: el must name its own.
func writeNegotiation(s *mxmpp.Session, el *xmpp.Element) error {
	w := s.TokenWriter()
	defer w.Close()
	r := el.TokenReader()
	for {
		tok, err := r.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := w.EncodeToken(tok); err != nil {
			return err
		}
	}
	return w.Flush()
}

// readNegotiation reads the next element during stream negotiation. A
// stream error comes back as a mellium stream.Error.
func readNegotiation(s *mxmpp.Session) (*xmpp.Element, error) {
	r := s.TokenReader()
	defer r.Close()
	for {
		tok, err := r.Token()
		if err != nil {
			if err == io.EOF {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if start, ok := tok.(xml.StartElement); ok {
			return xmpp.ReadElement(r, start, xmpp.DefaultLimits)
		}
	}
}

// streamErrorOf returns the condition and text of a stream error that ended
// a read (mellium's reader turns <stream:error/> into a stream.Error).
func streamErrorOf(err error) (condition, text string, ok bool) {
	var se stream.Error
	if !errors.As(err, &se) {
		return "", "", false
	}
	return se.Err, streamErrorTextOf(se), true
}

func streamErrorTextOf(se stream.Error) string {
	var parts []string
	for _, t := range se.Text {
		parts = append(parts, t.Value)
	}
	return strings.Join(parts, "; ")
}
