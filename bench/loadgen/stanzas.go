package loadgen

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// StanzaCounts counts what went through Prosody, read from its log at the
// debug level, which has a line with the top tag of every stanza a client
// or component session sent to Prosody (Received[c2s], Received[component])
// and of every one Prosody sent to a client session (Sending[c2s]).
// Prosody does not log what it sends to a component.
type StanzaCounts struct {
	// Counts is keyed by who (focus, bridge, client: the account a client
	// session logged in as; component: the focus component), the direction
	// ("→ prosody" or "prosody →") and the kind (see stanzaKind).
	Counts map[StanzaKey]int
	// RefusedHandshakes counts component handshakes Prosody refused (in a
	// cluster, the nodes that do not hold the focus component dial it).
	RefusedHandshakes int
}

// StanzaKey is one row of StanzaCounts.
type StanzaKey struct {
	Who, Dir, Kind string
}

// Directions of StanzaKey.Dir.
const (
	ToProsody   = "→ prosody"
	FromProsody = "prosody →"
)

// prosodyLine matches "<date> <session>\tdebug\tReceived[c2s]: <iq ...>"
// and the other lines CountStanzas reads.
var prosodyLine = regexp.MustCompile(`^\S+ \d+ [\d:]+ (\S+)\t(\w+)\t(.*)$`)

// CountStanzas reads a Prosody log and counts the stanzas of the lines
// from byte offset from on; the lines before it only say which account
// each session logged in as (the focus and the bridges log in long before
// a scenario starts). domain is the client domain: it tells the focus's
// and bridges' accounts (focus@auth.<domain>, jvb@auth.<domain>) from
// participants.
func CountStanzas(r io.Reader, domain string, from int64) (StanzaCounts, error) {
	type sessionKey struct{ session, dir, kind string }
	perSession := map[sessionKey]int{}
	who := map[string]string{}
	out := StanzaCounts{Counts: map[StanzaKey]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var at int64 // offset of the line read
	for sc.Scan() {
		line := sc.Text()
		counted := at >= from
		at += int64(len(line)) + 1
		m := prosodyLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		session, msg := m[1], m[3]
		if acct, ok := strings.CutPrefix(msg, "Authenticated as "); ok {
			switch acct {
			case "focus@auth." + domain:
				who[session] = "focus"
			case "jvb@auth." + domain:
				who[session] = "bridge"
			default:
				who[session] = "client"
			}
			continue
		}
		if !counted {
			continue
		}
		if strings.HasPrefix(msg, "component disconnected: ") && strings.HasSuffix(msg, "(stream error)") {
			out.RefusedHandshakes++
			continue
		}
		var dir, rest string
		switch {
		case strings.HasPrefix(msg, "Received[c2s]: "):
			dir, rest = ToProsody, msg[len("Received[c2s]: "):]
		case strings.HasPrefix(msg, "Sending[c2s]: "):
			dir, rest = FromProsody, msg[len("Sending[c2s]: "):]
		case strings.HasPrefix(msg, "Received[component]: "):
			dir, rest = ToProsody, msg[len("Received[component]: "):]
			who[session] = "component"
		default:
			continue
		}
		perSession[sessionKey{session, dir, stanzaKind(rest, domain)}]++
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read prosody log: %w", err)
	}
	for k, n := range perSession {
		w := who[k.session]
		if w == "" {
			w = "client" // logged in before the part of the log read
		}
		out.Counts[StanzaKey{w, k.dir, k.kind}] += n
	}
	return out, nil
}

var attr = regexp.MustCompile(`\s([\w:]+)='([^']*)'`)

// stanzaKind names a stanza by its top tag: the element, its type and
// what it is addressed to (room, room occupant, brewery, server, client,
// focus), e.g. "iq set → brewery occupant", "presence → room occupant",
// "r" (a stream management ack request).
func stanzaKind(tag, domain string) string {
	name, _, _ := strings.Cut(strings.TrimPrefix(tag, "<"), " ")
	name = strings.TrimSuffix(strings.TrimSuffix(name, ">"), "/")
	attrs := map[string]string{}
	for _, m := range attr.FindAllStringSubmatch(tag, -1) {
		attrs[m[1]] = m[2]
	}
	switch name {
	case "iq", "presence", "message":
	default:
		return name // r, a, enable, resume, ...
	}
	kind := name
	if t := attrs["type"]; t != "" {
		kind += " " + t
	}
	return kind + " → " + addressee(attrs["to"], domain)
}

// addressee classifies a JID by the hosts of the private Prosody.
func addressee(to, domain string) string {
	if to == "" {
		return "server"
	}
	bare, resource, _ := strings.Cut(to, "/")
	local, host, ok := strings.Cut(bare, "@")
	if !ok {
		host, local = bare, ""
	}
	occupant := ""
	if resource != "" {
		occupant = " occupant"
	}
	switch {
	case host == "conference."+domain && local == "":
		return "MUC service"
	case host == "conference."+domain:
		return "room" + occupant
	case host == "internal.auth."+domain && local == "":
		return "brewery service"
	case host == "internal.auth."+domain:
		return "brewery" + occupant
	case host == "focus."+domain:
		return "focus component"
	case local == "":
		return "server"
	case host == "auth."+domain && local == "focus":
		return "focus"
	case host == "auth."+domain && local == "jvb":
		return "bridge"
	default:
		return "client"
	}
}

// PerJoin renders the counts divided by joins (participants in session),
// the largest first, rows under minPerJoin left out.
func (c StanzaCounts) PerJoin(joins int, minPerJoin float64) string {
	keys := make([]StanzaKey, 0, len(c.Counts))
	for k := range c.Counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b StanzaKey) int {
		if d := c.Counts[b] - c.Counts[a]; d != 0 {
			return d
		}
		return strings.Compare(a.Who+a.Dir+a.Kind, b.Who+b.Dir+b.Kind)
	})
	j := float64(max(1, joins))
	var b strings.Builder
	total := map[string]int{}
	for k, n := range c.Counts {
		total[k.Who] += n
	}
	fmt.Fprintf(&b, "stanzas through Prosody per join (%d joins):", joins)
	for _, w := range []string{"focus", "component", "bridge", "client"} {
		fmt.Fprintf(&b, " %s %.1f", w, float64(total[w])/j)
	}
	b.WriteString("\n")
	for _, k := range keys {
		if float64(c.Counts[k])/j < minPerJoin {
			continue
		}
		fmt.Fprintf(&b, "  %-9s %-9s %-40s %7.2f\n", k.Who, k.Dir, k.Kind, float64(c.Counts[k])/j)
	}
	if c.RefusedHandshakes > 0 {
		fmt.Fprintf(&b, "  refused component handshakes: %d (%.2f per join)\n", c.RefusedHandshakes, float64(c.RefusedHandshakes)/j)
	}
	return b.String()
}
