package sources

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"focal/xmpp"
)

// ErrNoJSONSources is returned by DecodeJSON for a JSON
// message that is not about sources.
var ErrNoJSONSources = errors.New("jingle: json-message carries no sources")

// EncodeJSON encodes the sources of each owner in Jicofo's
// compact form, the text of a <json-message/>:
//
//	{"sources":{"<owner>":[[videoSources],[videoGroups],[audioSources],[audioGroups]]}}
//
// A source is {"s":ssrc,"n":name,"m":msid} plus "v":"d" for desktop video; a
// group is ["s"|"f",ssrc…]. The audio-group list is left out when empty, as
// Jicofo does. Owners are written in sorted order. Groups with semantics
// other than SIM and FID cannot be expressed and are left out.
func EncodeJSON(sources map[string]Set) string {
	owners := make([]string, 0, len(sources))
	for o := range sources {
		owners = append(owners, o)
	}
	sort.Strings(owners)
	var b bytes.Buffer
	b.WriteString(`{"sources":{`)
	for i, owner := range owners {
		if i > 0 {
			b.WriteByte(',')
		}
		jsonString(&b, owner)
		b.WriteString(":[")
		set := sources[owner]
		jsonSourceList(&b, set, Video)
		b.WriteByte(',')
		jsonGroupList(&b, set, Video)
		b.WriteByte(',')
		jsonSourceList(&b, set, Audio)
		if slices.ContainsFunc(set.Groups, func(g Group) bool { return g.Media == Audio && jsonSemantics(g.Semantics) != "" }) {
			b.WriteByte(',')
			jsonGroupList(&b, set, Audio)
		}
		b.WriteByte(']')
	}
	b.WriteString("}}")
	return b.String()
}

// NewJSONMessage returns the <json-message/> carrying sources.
func NewJSONMessage(sources map[string]Set) *xmpp.JingleJSONMessage {
	return &xmpp.JingleJSONMessage{Text: EncodeJSON(sources)}
}

func jsonString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // encoding a string cannot fail
	b.Truncate(b.Len() - 1) // the encoder's newline
}

func jsonSemantics(sem string) string {
	switch sem {
	case xmpp.JingleSemanticsSIM:
		return "s"
	case xmpp.JingleSemanticsFID:
		return "f"
	}
	return ""
}

func jsonSourceList(b *bytes.Buffer, set Set, media Media) {
	b.WriteByte('[')
	n := 0
	for _, src := range set.Sources {
		if src.Media != media {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		b.WriteString(`{"s":`)
		b.WriteString(strconv.FormatInt(src.SSRC, 10))
		if src.Name != "" {
			b.WriteString(`,"n":`)
			jsonString(b, src.Name)
		}
		if src.MSID != "" {
			b.WriteString(`,"m":`)
			jsonString(b, src.MSID)
		}
		if src.VideoType == VideoDesktop {
			b.WriteString(`,"v":"d"`)
		}
		b.WriteByte('}')
	}
	b.WriteByte(']')
}

func jsonGroupList(b *bytes.Buffer, set Set, media Media) {
	b.WriteByte('[')
	n := 0
	for _, g := range set.Groups {
		sem := jsonSemantics(g.Semantics)
		if g.Media != media || sem == "" {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		b.WriteString(`["` + sem + `"`)
		for _, s := range g.SSRCs {
			b.WriteByte(',')
			b.WriteString(strconv.FormatInt(s, 10))
		}
		b.WriteByte(']')
	}
	b.WriteByte(']')
}

// DecodeJSON decodes the compact sources of a <json-message/>
// (see EncodeJSON). Missing trailing lists are empty. An SSRC may
// be a JSON number or a string of digits. A video type is set (to desktop)
// only when "v" is present and truthy, as clients read it. Ranges are not
// checked here; Validator does that.
func DecodeJSON(text string) (map[string]Set, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &top); err != nil {
		return nil, fmt.Errorf("jingle: json-message: %w", err)
	}
	raw, ok := top["sources"]
	if !ok || string(raw) == "null" {
		return nil, ErrNoJSONSources
	}
	var owners map[string][]json.RawMessage
	if err := json.Unmarshal(raw, &owners); err != nil {
		return nil, fmt.Errorf("jingle: json-message sources: %w", err)
	}
	out := make(map[string]Set, len(owners))
	for owner, lists := range owners {
		var set Set
		for i, list := range lists {
			var err error
			switch i {
			case 0:
				set.Sources, err = jsonDecodeSources(list, Video, set.Sources)
			case 1:
				set.Groups, err = jsonDecodeGroups(list, Video, set.Groups)
			case 2:
				set.Sources, err = jsonDecodeSources(list, Audio, set.Sources)
			case 3:
				set.Groups, err = jsonDecodeGroups(list, Audio, set.Groups)
			}
			if err != nil {
				return nil, fmt.Errorf("jingle: json-message sources of %q: %w", owner, err)
			}
		}
		out[owner] = set
	}
	return out, nil
}

type jsonSource struct {
	S json.RawMessage `json:"s"`
	N string          `json:"n"`
	M string          `json:"m"`
	V json.RawMessage `json:"v"`
}

func jsonDecodeSources(raw json.RawMessage, media Media, into []Source) ([]Source, error) {
	var list []jsonSource
	if err := json.Unmarshal(raw, &list); err != nil {
		return into, err
	}
	for _, js := range list {
		ssrc, err := jsonSSRC(js.S)
		if err != nil {
			return into, err
		}
		src := Source{SSRC: ssrc, Media: media, Name: js.N, MSID: js.M}
		if jsonTruthy(js.V) {
			src.VideoType = VideoDesktop
		}
		into = append(into, src)
	}
	return into, nil
}

func jsonDecodeGroups(raw json.RawMessage, media Media, into []Group) ([]Group, error) {
	var list [][]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return into, err
	}
	for _, items := range list {
		if len(items) == 0 {
			return into, errors.New("empty ssrc group")
		}
		var sem string
		if err := json.Unmarshal(items[0], &sem); err != nil {
			return into, fmt.Errorf("ssrc group semantics: %w", err)
		}
		g := Group{Media: media, SSRCs: []int64{}}
		switch sem {
		case "s":
			g.Semantics = xmpp.JingleSemanticsSIM
		case "f":
			g.Semantics = xmpp.JingleSemanticsFID
		default:
			return into, fmt.Errorf("unknown ssrc group semantics %q", sem)
		}
		for _, it := range items[1:] {
			ssrc, err := jsonSSRC(it)
			if err != nil {
				return into, err
			}
			g.SSRCs = append(g.SSRCs, ssrc)
		}
		into = append(into, g)
	}
	return into, nil
}

func jsonSSRC(raw json.RawMessage) (int64, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return 0, fmt.Errorf("ssrc: %w", err)
	}
	var s string
	switch t := v.(type) {
	case json.Number:
		s = t.String()
	case string:
		s = t
	default:
		return 0, fmt.Errorf("ssrc: not a number: %s", raw)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("ssrc: %w", err)
	}
	return n, nil
}

func jsonTruthy(raw json.RawMessage) bool {
	switch strings.TrimSpace(string(raw)) {
	case "", "null", "false", `""`, "0":
		return false
	}
	return true
}
