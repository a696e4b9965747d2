package sources

import (
	"errors"
	"reflect"
	"testing"

	"focal/internal/stanzatest"
	"focal/xmpp"
)

// A client's source-add encodes as the golden json-message Jicofo sends.
func TestSourceAddEncodesAsGoldenJSON(t *testing.T) {
	iq := stanzatest.Decode(t, "jingle", "source-add.xml")
	set, err := FromJingle(iq.Jingle.Contents)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range set.Sources {
		if s.VideoType != VideoDesktop || s.Media != Video {
			t.Fatalf("source %+v", s)
		}
	}

	jsonIQ := stanzatest.Decode(t, "jingle", "source-add-json.xml")
	want := jsonIQ.Jingle.JSONMessage.Text
	if got := EncodeJSON(map[string]Set{"7b2f3c1d": set}); got != want {
		t.Fatalf("JSON encoding:\ngot  %s\nwant %s", got, want)
	}
	decoded, err := DecodeJSON(want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(decoded, map[string]Set{"7b2f3c1d": set}) {
		t.Fatalf("decoded %v, want %v", decoded, set)
	}
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]Set
		wantErr bool
	}{
		{
			name: "all four lists, strings for ssrcs, truthy v",
			in:   `{"sources":{"ep":[[{"s":"1","n":"ep-v0","m":"x y","v":true}],[["s","1",2],["f",1,3]],[{"s":4,"n":"ep-a0"}],[["f",4,5]]]}}`,
			want: map[string]Set{"ep": {
				Sources: []Source{
					{SSRC: 1, Media: Video, Name: "ep-v0", MSID: "x y", VideoType: VideoDesktop},
					{SSRC: 4, Media: Audio, Name: "ep-a0"},
				},
				Groups: []Group{
					{Semantics: xmpp.JingleSemanticsSIM, Media: Video, SSRCs: []int64{1, 2}},
					{Semantics: xmpp.JingleSemanticsFID, Media: Video, SSRCs: []int64{1, 3}},
					{Semantics: xmpp.JingleSemanticsFID, Media: Audio, SSRCs: []int64{4, 5}},
				},
			}},
		},
		{
			name: "trailing lists missing, falsy v",
			in:   `{"sources":{"a":[[{"s":7,"v":""}]],"b":[]}}`,
			want: map[string]Set{"a": {Sources: []Source{{SSRC: 7, Media: Video}}}, "b": {}},
		},
		{name: "other json message", in: `{"type":"av_moderation"}`, wantErr: true},
		{name: "not json", in: `{"sources":`, wantErr: true},
		{name: "ssrc not a number", in: `{"sources":{"a":[[{"s":{}}]]}}`, wantErr: true},
		{name: "ssrc overflow", in: `{"sources":{"a":[[{"s":99999999999999999999}]]}}`, wantErr: true},
		{name: "unknown semantics", in: `{"sources":{"a":[[],[["x",1,2]]]}}`, wantErr: true},
		{name: "empty group", in: `{"sources":{"a":[[],[[]]]}}`, wantErr: true},
		{name: "source list not a list", in: `{"sources":{"a":[{}]}}`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeJSON(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want error, got %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if _, err := DecodeJSON(`{"type":"room_metadata"}`); !errors.Is(err, ErrNoJSONSources) {
		t.Fatalf("err = %v, want ErrNoJSONSources", err)
	}
}

func TestEncodeJSON(t *testing.T) {
	got := EncodeJSON(map[string]Set{
		"b": {Sources: []Source{{SSRC: 3, Media: Audio, Name: `a"<b>`}}},
		"a": {
			Sources: []Source{{SSRC: 1, Media: Video, VideoType: VideoCamera}},
			Groups:  []Group{{Semantics: xmpp.JingleSemanticsFID, Media: Audio, SSRCs: []int64{5, 6}}},
		},
	})
	want := `{"sources":{"a":[[{"s":1}],[],[],[["f",5,6]]],"b":[[],[],[{"s":3,"n":"a\"<b>"}]]}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := EncodeJSON(nil); got != `{"sources":{}}` {
		t.Fatalf("empty: %s", got)
	}
}

func FuzzJSONSources(f *testing.F) {
	f.Add(`{"sources":{"7b2f3c1d":[[{"s":2967019462,"n":"7b2f3c1d-v1","m":"m 1","v":"d"}],[["f",2967019462,485337911]],[{"s":1}],[["s",1,2]]]}}`)
	f.Add(`{"sources":{"a":[[{"s":"1"}],[],[]],"jvb":[]}}`)
	f.Add(`{"sources":null}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, text string) {
		got, err := DecodeJSON(text)
		if err != nil {
			return
		}
		enc := EncodeJSON(got)
		again, err := DecodeJSON(enc)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", enc, err)
		}
		for owner, set := range got {
			a := again[owner]
			if len(a.Sources) != len(set.Sources) || len(a.Groups) != len(set.Groups) {
				t.Fatalf("owner %q: %v became %v", owner, set, a)
			}
		}
		for _, set := range got {
			_, _ = Validator{}.CheckAdd(NewMap(Validator{}), "x", set)
		}
	})
}
