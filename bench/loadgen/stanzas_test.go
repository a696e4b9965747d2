package loadgen

import (
	"strings"
	"testing"
)

// Lines as Prosody 0.12 writes them at the debug level (tabs between the
// session, the level and the message).
// The part before prosodyLogWindow is read for the logins only.
const prosodyLogBefore = "Dec 07 02:58:21 c2s1f\tinfo\tAuthenticated as focus@auth.meet.jitsi\n" +
	"Dec 07 02:58:21 c2s2b\tinfo\tAuthenticated as jvb@auth.meet.jitsi\n" +
	"Dec 07 02:58:21 c2s2b\tdebug\tReceived[c2s]: <presence to='jvbbrewery@internal.auth.meet.jitsi/jvb1' xml:lang='en'>\n"

const prosodyLogSample = prosodyLogBefore +
	"Dec 07 02:58:22 c2s3c\tinfo\tAuthenticated as x7q@meet.jitsi\n" +
	"Dec 07 02:58:23 c2s1f\tdebug\tReceived[c2s]: <r xmlns='urn:xmpp:sm:3' xml:lang='en'>\n" +
	"Dec 07 02:58:23 c2s1f\tdebug\tSending[c2s]: <a xmlns='urn:xmpp:sm:3' h='12'>\n" +
	"Dec 07 02:58:23 c2s1f\tdebug\tReceived[c2s]: <presence to='room1@conference.meet.jitsi/focus' xml:lang='en'>\n" +
	"Dec 07 02:58:23 c2s1f\tdebug\tReceived[c2s]: <iq to='jvbbrewery@internal.auth.meet.jitsi/jvb1' type='set' id='a1' xml:lang='en'>\n" +
	"Dec 07 02:58:23 c2s1f\tdebug\tReceived[c2s]: <iq to='jvbbrewery@internal.auth.meet.jitsi/jvb2' type='set' id='a2' xml:lang='en'>\n" +
	"Dec 07 02:58:23 c2s1f\tdebug\tSending[c2s]: <presence to='focus@auth.meet.jitsi/focal' from='room1@conference.meet.jitsi/p0'>\n" +
	"Dec 07 02:58:23 c2s2b\tdebug\tReceived[c2s]: <iq to='focus@auth.meet.jitsi/focal' type='result' id='a1'>\n" +
	"Dec 07 02:58:23 c2s3c\tdebug\tReceived[c2s]: <iq type='get' id='p1'>\n" +
	"Dec 07 02:58:23 c2s9z\tdebug\tReceived[c2s]: <message to='room1@conference.meet.jitsi' type='groupchat'>\n" +
	"Dec 07 02:58:23 jcp4d\tdebug\tReceived[component]: <iq to='x7q@meet.jitsi/res' type='result' id='c1'>\n" +
	"Dec 07 02:58:24 jcp5e\tinfo\tcomponent disconnected: focus.meet.jitsi (stream error)\n" +
	"Dec 07 02:58:24 conference.meet.jitsi:muc\tdebug\tfocus@auth.meet.jitsi/focal sent private iq stanza to room1@conference.meet.jitsi/p0\n" +
	"not a log line\n"

func TestCountStanzasByAccountDirectionAndKind(t *testing.T) {
	c, err := CountStanzas(strings.NewReader(prosodyLogSample), "meet.jitsi", int64(len(prosodyLogBefore)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[StanzaKey]int{
		{"focus", ToProsody, "r"}:                         1,
		{"focus", FromProsody, "a"}:                       1,
		{"focus", ToProsody, "presence → room occupant"}:  1,
		{"focus", ToProsody, "iq set → brewery occupant"}: 2,
		{"focus", FromProsody, "presence → focus"}:        1,
		{"bridge", ToProsody, "iq result → focus"}:        1,
		{"client", ToProsody, "iq get → server"}:          1,
		{"client", ToProsody, "message groupchat → room"}: 1, // a session whose login is not in the log
		{"component", ToProsody, "iq result → client"}:    1,
	}
	for k, n := range want {
		if c.Counts[k] != n {
			t.Errorf("%v: %d, want %d", k, c.Counts[k], n)
		}
	}
	if len(c.Counts) != len(want) {
		t.Errorf("counts %v, want only %v", c.Counts, want)
	}
	if c.RefusedHandshakes != 1 {
		t.Errorf("refused handshakes %d, want 1", c.RefusedHandshakes)
	}
	text := c.PerJoin(2, 0.6)
	for _, line := range []string{
		"stanzas through Prosody per join (2 joins): focus 3.0 component 0.5 bridge 0.5 client 1.0",
		"focus     → prosody iq set → brewery occupant                   1.00",
		"refused component handshakes: 1 (0.50 per join)",
	} {
		if !strings.Contains(text, line) {
			t.Errorf("PerJoin lacks %q:\n%s", line, text)
		}
	}
	if strings.Contains(text, " r ") {
		t.Errorf("PerJoin shows a row under the minimum:\n%s", text)
	}
}
