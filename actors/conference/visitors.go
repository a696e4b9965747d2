package conference

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"focal/auth"
	"focal/proto"
	"focal/visitors"
	"focal/xmpp"
	"focal/xmpp/caps"
	"focal/xmpp/session"
)

// Visitor nodes (package visitors). A request from a client that supports
// visitors may be answered with a visitor node instead of the main room;
// on a node's first use the conference joins the node's visitor room
// (the main room's JID on the node's MUC service) and, once in, asks the
// main Prosody's visitors component to connect the node (connect-vnode):
// the main Prosody then federates the main room's participants into the
// visitor room, and lets visitors in. Visitors are members like the main
// room's, with their own Jingle sessions, talked to through the focus's
// connection to their node; they may not send media. What the conference
// knows of its nodes is replicated (st.VisitorNodes): a new owner joins
// the visitor rooms again and carries the visitors' sessions on.

// vnodeConnected is the visitors component's answer to connect-vnode.
type vnodeConnected struct {
	node string
	err  error
}

// visitorRoomOf returns the room on node's MUC service that stands for the
// main room there.
func (c *conference) visitorRoomOf(n visitors.Node) string {
	local, _, _ := strings.Cut(c.room, "@")
	return local + "@" + n.MUC
}

// nodeOfRoom returns the node whose visitor room room is.
func (c *conference) nodeOfRoom(room string) (visitors.Node, bool) {
	local, domain, ok := strings.Cut(room, "@")
	main, _, _ := strings.Cut(c.room, "@")
	if !ok || local != main {
		return visitors.Node{}, false
	}
	return c.cfg.Visitors.NodeOfMUC(domain)
}

// vnodeState returns the replicated record of node id, nil if unused.
func (c *conference) vnodeState(id string) *focalpb.VisitorNodeState {
	for _, v := range c.st.VisitorNodes {
		if v.Node == id {
			return v
		}
	}
	return nil
}

// visitorsRoom describes the conference for the redirect decision.
func (c *conference) visitorsRoom() visitors.Room {
	r := visitors.Room{Breakout: c.isBreakout()}
	if md := c.st.Metadata; md != nil {
		r.LobbyEnabled = md.LobbyEnabled
		r.VisitorsDisabled = md.VisitorsEnabledSet && !md.VisitorsEnabled
		r.SoftLimit = int(md.ParticipantsSoftLimit)
	}
	for _, m := range c.members {
		if m.Vnode == "" && m.Role != xmpp.RoleVisitor && !isRecorderOrTranscriber(m.RealJid) {
			r.MainParticipants++
		}
	}
	for _, v := range c.st.VisitorNodes {
		u := visitors.Usage{Node: v.Node, Visitors: int(v.Visitors)}
		for _, ms := range v.RedirectsUnixMs {
			u.Redirects = append(u.Redirects, time.UnixMilli(ms))
		}
		r.Used = append(r.Used, u)
	}
	return r
}

// isRecorderOrTranscriber tells Jibri and Jigasi's transcriber by the
// user names Jitsi deployments give them; they do not count towards the
// main room's limit.
func isRecorderOrTranscriber(realJID string) bool {
	user, _, _ := strings.Cut(realJID, "@")
	return user == "recorder" || user == "jibri" || user == "transcriber"
}

// visitorsSupported is the response's visitors-supported property.
func (c *conference) visitorsSupported() bool {
	return c.st.VisitorsComponent != "" && c.cfg.Visitors.Available(c.visitorsRoom())
}

// checkVNode refuses a request naming a visitor node that is not
// configured: a client cannot make one up.
func (c *conference) checkVNode(req *focalpb.ConferenceRequest) *focalpb.StanzaError {
	if req.Vnode == "" {
		return nil
	}
	if _, ok := c.cfg.Visitors.Node(req.Vnode); ok && c.cfg.Visitors.Enabled {
		return nil
	}
	return &focalpb.StanzaError{Type: xmpp.ErrorModify, Condition: xmpp.BadRequest,
		Text: "unknown visitor node '" + req.Vnode + "'"}
}

// redirect decides where w goes: "" for the main room, else the visitor
// node it is sent to (recorded as a redirect, and put to use if new).
func (c *conference) redirect(ctx actor.Context, w waiter) string {
	if c.st.VisitorsComponent == "" {
		return ""
	}
	now := time.Now()
	room := c.visitorsRoom()
	node := w.vnode
	if node != "" && !c.cfg.Visitors.Available(room) {
		// A client naming a node is not sent there when visitors are off
		// for the room (lobby, metadata, breakout room).
		return ""
	}
	if node == "" {
		if !c.cfg.Visitors.Redirect(room, w.visitor) {
			return ""
		}
		var ok bool
		if node, ok = c.cfg.Visitors.ChooseNode(room.Used, now); !ok {
			return ""
		}
	}
	v := c.vnodeState(node)
	if v == nil {
		v = &focalpb.VisitorNodeState{Node: node}
		c.st.VisitorNodes = append(c.st.VisitorNodes, v)
		c.log.Info("visitor node in use", "vnode", node)
		c.joinVisitorRoom(node)
	}
	var kept []time.Time
	for _, ms := range v.RedirectsUnixMs {
		kept = append(kept, time.UnixMilli(ms))
	}
	kept = c.cfg.Visitors.Prune(kept, now)
	v.RedirectsUnixMs = v.RedirectsUnixMs[:0]
	for _, t := range kept {
		v.RedirectsUnixMs = append(v.RedirectsUnixMs, t.UnixMilli())
	}
	v.RedirectsUnixMs = append(v.RedirectsUnixMs, now.UnixMilli())
	return node
}

// vnodeWire is the focus's connection to node id.
func (c *conference) vnodeWire(id string) session.Wire {
	return c.cfg.VNodeWires[id]
}

// joinVisitorRoom sends the focus's join presence to node id's visitor
// room, with what its presence carries in the main room.
func (c *conference) joinVisitorRoom(id string) {
	if err := c.sendVisitorRoomJoin(id, c.focusPresence()); err != nil {
		c.log.Warn("join the visitor room", "vnode", id, "err", err)
	}
}

// errNoVisitorNode: the node is not configured, or there is no connection
// to it.
var errNoVisitorNode = errors.New("no connection to the visitor node")

// sendVisitorRoomJoin sends node id's visitor room the join of this node's
// session, carrying p, after cancelling a leave of it the node had
// scheduled (Leaves).
func (c *conference) sendVisitorRoomJoin(id string, p xmpp.FocusPresence) error {
	n, ok := c.cfg.Visitors.Node(id)
	w := c.vnodeWire(id)
	if !ok || w == nil {
		return errNoVisitorNode
	}
	room := c.visitorRoomOf(n)
	c.cfg.Leaves.Cancel(room)
	return w.Send(xmpp.JoinPresence(room, c.cfg.Nick, p.Elements()...))
}

// rejoinVisitorRooms: a new owner's focus joins every visitor room the
// conference uses, through its own connections to the nodes.
func (c *conference) rejoinVisitorRooms() {
	for _, v := range c.st.VisitorNodes {
		c.joinVisitorRoom(v.Node)
	}
}

// onVisitorRoomPresence handles a presence from node n's visitor room.
func (c *conference) onVisitorRoomPresence(ctx actor.Context, n visitors.Node, p xmpp.OccupantPresence) {
	if c.standby {
		return
	}
	if p.Nick == c.cfg.Nick {
		if p.Self && !p.Unavailable && p.Error == nil {
			c.connectVNode(n.ID)
		} else if p.Error != nil {
			c.log.Error("visitor room refused the focus", "vnode", n.ID, "err", p.Error)
		}
		return
	}
	if p.Error != nil || p.Role != xmpp.RoleVisitor && !p.Unavailable {
		// The main room's participants, federated: they are members
		// through the main room.
		return
	}
	m := c.members[p.Nick]
	if p.Unavailable {
		if m != nil && m.Vnode == n.ID {
			c.removeMember(ctx, p.Nick, "left (visitor)")
			c.countVisitors()
		}
		return
	}
	if m != nil && m.Vnode != n.ID {
		c.log.Warn("visitor nick taken in the main room; ignored", "participant", p.Nick, "vnode", n.ID)
		return
	}
	if m == nil {
		c.st.NextSeq++
		m = &member{MemberState: &focalpb.MemberState{Nick: p.Nick, Seq: c.st.NextSeq, Vnode: n.ID}}
		announced, _ := caps.Of(p.Stanza)
		m.pid = c.spawnMember(ctx, m, nil, announced)
		c.members[p.Nick] = m
		c.log.Info("visitor joined", "participant", p.Nick, "vnode", n.ID, "jid", p.RealJID)
		c.idleGen++
		c.checkAlone()
	}
	m.RealJid, m.Role, m.Affiliation, m.confirmed = p.RealJID, p.Role, p.Affiliation, true
	if el := p.Stanza.Child("", "stats-id"); el != nil {
		m.StatsId = el.Text
	}
	c.countVisitors()
}

// countVisitors updates each node's visitor count from the members.
func (c *conference) countVisitors() {
	counts := map[string]int32{}
	for _, m := range c.members {
		if m.Vnode != "" {
			counts[m.Vnode]++
		}
	}
	for _, v := range c.st.VisitorNodes {
		v.Visitors = counts[v.Node]
	}
}

// visitorCount is the visitors on every node of vnodes, and whether
// there is one.
func visitorCount(vnodes []*focalpb.VisitorNodeState) (n int, used bool) {
	for _, v := range vnodes {
		n += int(v.Visitors)
	}
	return n, len(vnodes) > 0
}

// connectVNode asks the visitors component to connect node id to the
// room, once the focus is in the node's visitor room.
func (c *conference) connectVNode(id string) {
	v := c.vnodeState(id)
	if v == nil || v.Connected || c.wire == nil {
		return
	}
	self, root := c.self, c.root
	c.wire.Request(xmpp.VNodeIQ(c.st.VisitorsComponent, c.room, id, true), c.cfg.RequestTimeout,
		func(_ *xmpp.Element, err error) { root.Send(self, vnodeConnected{node: id, err: err}) })
}

func (c *conference) onVNodeConnected(msg vnodeConnected) {
	if msg.err != nil {
		c.log.Error("connect-vnode failed", "vnode", msg.node, "err", msg.err)
		return
	}
	if v := c.vnodeState(msg.node); v != nil {
		v.Connected = true
		c.log.Info("visitor node connected", "vnode", msg.node)
	}
}

// leaveVisitorRooms disconnects every node from the room and leaves
// their visitor rooms (the conference ends).
func (c *conference) leaveVisitorRooms() {
	for _, v := range c.st.VisitorNodes {
		if c.wire != nil && c.st.VisitorsComponent != "" {
			_ = c.wire.Send(xmpp.VNodeIQ(c.st.VisitorsComponent, c.room, v.Node, false))
		}
		c.leaveVisitorRoom(v.Node, 0)
	}
}

// updateVisitorRooms sends the visitor rooms the focus's presence update.
func (c *conference) updateVisitorRooms(p xmpp.FocusPresence) {
	for _, v := range c.st.VisitorNodes {
		n, ok := c.cfg.Visitors.Node(v.Node)
		w := c.vnodeWire(v.Node)
		if !ok || w == nil {
			continue
		}
		if err := w.Send(xmpp.FocusPresenceUpdate(c.visitorRoomOf(n), c.cfg.Nick, p)); err != nil {
			c.log.Warn("presence update to the visitor room", "vnode", v.Node, "err", err)
		}
	}
}

// visitorCountProperty is the conference property with the visitor count
// of vnodes, once there is a node.
func visitorCountProperty(vnodes []*focalpb.VisitorNodeState) (xmpp.ConferenceProperty, bool) {
	n, used := visitorCount(vnodes)
	return xmpp.ConferenceProperty{Key: xmpp.PropVisitorCount, Value: strconv.Itoa(n)}, used
}

// wireFor is the connection a stanza to address to goes out on: the
// node's for its visitor room, the room's session otherwise.
func (c *conference) wireFor(to string) session.Wire {
	if w := c.visitorWireFor(to); w != nil {
		return w
	}
	return c.wire
}

// visitorWireFor is the node's connection to the visitor node whose room
// to is in, or nil when to is not in a visitor room this node reaches.
func (c *conference) visitorWireFor(to string) session.Wire {
	room, _, _ := strings.Cut(to, "/")
	if room == c.room {
		return nil
	}
	if n, ok := c.nodeOfRoom(room); ok {
		return c.vnodeWire(n.ID)
	}
	return nil
}

// visitorRequestOf reads what a request says about visitors, and whether
// the room's allow-lists (room metadata) name the requester's token user
// or group. The token is read without checking it, as Jicofo does: Prosody
// checked it at login; one that cannot be read names nobody.
func (c *conference) visitorRequestOf(req *focalpb.ConferenceRequest) visitors.Request {
	var r visitors.Request
	for _, p := range req.Properties {
		switch p.Name {
		case "visitors-version":
			r.Supported = true
		case "visitor":
			r.AsksVisitor = p.Value == "true"
		}
	}
	md := c.st.Metadata
	if !r.Supported || md == nil || (!md.ParticipantsSet && len(md.Moderators) == 0) {
		return r
	}
	var tok auth.Token
	if req.Token != "" {
		var err error
		if tok, err = auth.ParseToken(req.Token); err != nil {
			c.log.Info("token unreadable; its user is on no allow-list", "err", err)
		}
	}
	named := func(list []string) bool {
		return (tok.UserID != "" && slices.Contains(list, tok.UserID)) || (tok.Group != "" && slices.Contains(list, tok.Group))
	}
	r.Listed = named(md.Participants) || named(md.Moderators)
	r.NotAllowed = md.ParticipantsSet && !r.Listed
	return r
}

// onVNodeUp: the connection to a visitor node is up again, a new session
// that is in no room (or the first one, when the conference uses no node
// yet). A conference using the node joins its visitor room again and,
// once in, connects the node again (the main Prosody ignores a node it
// still has connected).
func (c *conference) onVNodeUp(msg *VNodeUp) {
	if c.standby {
		// A new session, in no room.
		delete(c.seats, msg.Node)
		c.seatStandby()
		return
	}
	v := c.vnodeState(msg.Node)
	if v == nil || c.ending {
		return
	}
	v.Connected = false
	c.log.Info("visitor node connection up; joining its visitor room again", "vnode", msg.Node)
	c.joinVisitorRoom(msg.Node)
	// The standby's session is the occupant's primary now, which it stays
	// while it is in the room: the standby leaves and sits again later.
	c.st.SeatsFromUnixMs = max(c.st.SeatsFromUnixMs, time.Now().Add(c.cfg.SeatLeaveDelay).UnixMilli())
}
