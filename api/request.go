package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"focal/proto"
	"focal/xmpp"
)

// MaxRequestBody caps a conference request body; a real one is a few hundred
// bytes.
const MaxRequestBody = 64 << 10

// ConferenceRequest is the JSON body of POST /conference-request/v1, in
// Jicofo's camelCase. Unknown fields are ignored.
type ConferenceRequest struct {
	Room       string                     `json:"room"`
	Ready      *bool                      `json:"ready,omitempty"`
	FocusJID   string                     `json:"focusJid,omitempty"`
	SessionID  string                     `json:"sessionId,omitempty"`
	MachineUID string                     `json:"machineUid,omitempty"`
	Identity   string                     `json:"identity,omitempty"`
	VNode      string                     `json:"vnode,omitempty"`
	Properties map[string]json.RawMessage `json:"properties,omitempty"`
}

// ConferenceResponse is the JSON answer; empty fields are left out.
type ConferenceResponse struct {
	Room       string            `json:"room,omitempty"`
	Ready      bool              `json:"ready"`
	FocusJID   string            `json:"focusJid,omitempty"`
	SessionID  string            `json:"sessionId,omitempty"`
	Identity   string            `json:"identity,omitempty"`
	VNode      string            `json:"vnode,omitempty"`
	Properties map[string]string `json:"properties,omitempty"`
}

// ParseConferenceRequest decodes and checks a request body. Errors are meant
// for the client: they say what is wrong.
func ParseConferenceRequest(body io.Reader, token string) (*focalpb.ConferenceRequest, error) {
	data, err := io.ReadAll(io.LimitReader(body, MaxRequestBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	if len(data) > MaxRequestBody {
		return nil, fmt.Errorf("body larger than %d bytes", MaxRequestBody)
	}
	var in ConferenceRequest
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	// Only whitespace may follow the object. (dec.More would miss a stray
	// '}' or ']'.)
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("malformed JSON: trailing data after the object")
	}
	if in.Room == "" {
		return nil, errors.New("no 'room' specified")
	}
	if _, err := xmpp.ParseRoomJID(in.Room); err != nil {
		return nil, err
	}
	for name, v := range map[string]string{"focusJid": in.FocusJID, "sessionId": in.SessionID, "machineUid": in.MachineUID, "identity": in.Identity, "vnode": in.VNode, "room": in.Room} {
		if len(v) > xmpp.MaxAttrLen {
			return nil, fmt.Errorf("'%s' is longer than %d bytes", name, xmpp.MaxAttrLen)
		}
	}
	if len(token) > xmpp.MaxTokenLen {
		return nil, fmt.Errorf("token is longer than %d bytes", xmpp.MaxTokenLen)
	}
	if len(in.Properties) > xmpp.MaxConferenceProperties {
		return nil, fmt.Errorf("more than %d properties", xmpp.MaxConferenceProperties)
	}
	req := &focalpb.ConferenceRequest{
		Room:       in.Room,
		SessionId:  in.SessionID,
		MachineUid: in.MachineUID,
		Identity:   in.Identity,
		Vnode:      in.VNode,
		Token:      token,
	}
	for name, raw := range in.Properties {
		value, err := scalarString(raw)
		if err != nil {
			return nil, fmt.Errorf("property '%s': %w", name, err)
		}
		if name == "" || len(name) > xmpp.MaxPropertyNameLen {
			return nil, fmt.Errorf("property name must have 1 to %d bytes", xmpp.MaxPropertyNameLen)
		}
		if len(value) > xmpp.MaxPropertyValueLen {
			return nil, fmt.Errorf("property '%s' value longer than %d bytes", name, xmpp.MaxPropertyValueLen)
		}
		req.Properties = append(req.Properties, &focalpb.Property{Name: name, Value: value})
	}
	return req, nil
}

// scalarString accepts the JSON scalars clients send as property values
// ("true", true, 5, "5") and refuses objects and arrays.
func scalarString(raw json.RawMessage) (string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	switch t := v.(type) {
	case string:
		return t, nil
	case bool:
		return strconv.FormatBool(t), nil
	case float64:
		return strings.TrimSpace(string(raw)), nil
	case nil:
		return "", nil
	default:
		return "", errors.New("value must be a string, number or boolean")
	}
}

// ResponseOf converts a conference's answer to the JSON answer.
func ResponseOf(r *focalpb.ConferenceResponse) ConferenceResponse {
	out := ConferenceResponse{
		Room:      r.Room,
		Ready:     r.Ready,
		FocusJID:  r.FocusJid,
		SessionID: r.SessionId,
		Identity:  r.Identity,
		VNode:     r.Vnode,
	}
	if len(r.Properties) > 0 {
		out.Properties = make(map[string]string, len(r.Properties))
		for _, p := range r.Properties {
			out.Properties[p.Name] = p.Value
		}
	}
	return out
}
