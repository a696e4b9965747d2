package sources

import (
	"reflect"
	"testing"

	"focal/xmpp"
)

func sourceA(ssrc int64, msid string) Source {
	return Source{SSRC: ssrc, Media: Audio, MSID: msid}
}

func sourceV(ssrc int64, msid string) Source {
	return Source{SSRC: ssrc, Media: Video, MSID: msid}
}

func sourceGroup(sem string, ssrcs ...int64) Group {
	return Group{Semantics: sem, Media: Video, SSRCs: ssrcs}
}

// sourceSimulcast is a camera with three simulcast layers and their RTX.
func sourceSimulcast(base int64, msid string) Set {
	var s Set
	for i := int64(0); i < 6; i++ {
		s.Sources = append(s.Sources, sourceV(base+i, msid))
	}
	s.Groups = []Group{
		sourceGroup(xmpp.JingleSemanticsSIM, base, base+1, base+2),
		sourceGroup(xmpp.JingleSemanticsFID, base, base+3),
		sourceGroup(xmpp.JingleSemanticsFID, base+1, base+4),
		sourceGroup(xmpp.JingleSemanticsFID, base+2, base+5),
	}
	return s
}

func sourceMany(n int, first int64) Set {
	var s Set
	for i := 0; i < n; i++ {
		s.Sources = append(s.Sources, sourceA(first+int64(i), ""))
	}
	return s
}

type sourceStep struct {
	remove bool
	owner  string
	set    Set
}

func TestStripSimulcast(t *testing.T) {
	set := sourceSimulcast(10, "cam")
	set.Sources = append(set.Sources, sourceA(1, "mic"))
	got := set.StripSimulcast()
	want := Set{
		Sources: []Source{sourceV(10, "cam"), sourceV(13, "cam"), sourceA(1, "mic")},
		Groups:  []Group{sourceGroup(xmpp.JingleSemanticsFID, 10, 13)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
}
