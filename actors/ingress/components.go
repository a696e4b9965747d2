package ingress

import (
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"focal/actors/conference"
	"focal/xmpp"
)

// Jitsi's Prosody components: the focus asks the domain's disco#info for
// them, as Jicofo does, and takes messages from them only. Breakout rooms
// live on a MUC service of their own, whose rooms are conferences like
// the main ones.

// Component types the focus uses.
const (
	ComponentAVModeration = "av_moderation"
	ComponentRoomMetadata = "room_metadata"
	ComponentBreakout     = "breakout_rooms"
	ComponentLobby        = "lobbyrooms"
)

func (in *ingress) discover(ctx actor.Context) {
	if in.cfg.Client == nil || in.cfg.Domain == "" {
		return
	}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	in.cfg.Client.Request(xmpp.DiscoInfoQuery(in.cfg.Domain), in.cfg.RequestTimeout, func(res *xmpp.Element, err error) {
		root.Send(self, componentsFound{components: xmpp.Components(res), err: err})
	})
}

func (in *ingress) onComponents(msg componentsFound) {
	if msg.err != nil {
		// The ones known stay: the next reconnect asks again.
		in.log.Warn("component discovery failed", "err", msg.err)
		return
	}
	in.components = msg.components
	in.log.Info("components discovered", "components", msg.components)
}

// visitorsComponent is the visitors component's address if visitors are
// enabled and the server has one (Jicofo too needs both).
func (in *ingress) visitorsComponent() string {
	if !in.cfg.Visitors.Enabled {
		return ""
	}
	return in.components[xmpp.ComponentTypeVisitors]
}

// isRoomService says whether domain holds conference rooms: the main MUC
// service or the breakout rooms'.
func (in *ingress) isRoomService(domain string) bool {
	if strings.EqualFold(domain, in.cfg.MUCDomain) {
		return true
	}
	b := in.components[ComponentBreakout]
	return b != "" && strings.EqualFold(domain, b)
}

// onMessage passes a component's message about a room to the room's
// conference; a <json-message/> from anyone else is refused.
func (in *ingress) onMessage(ctx actor.Context, el *xmpp.Element, via Replier) {
	if el.AttrValue("type") == "error" {
		return
	}
	_, env, ok, err := xmpp.JSONMessageOf(el)
	if !ok {
		return // chat and the like: nothing for the focus
	}
	from := el.AttrValue("from")
	if !in.isComponent(from, env.Type) {
		in.log.Warn("json-message from an unknown sender refused", "from", from, "type", env.Type)
		in.reply(via, xmpp.MessageErrorFor(el, xmpp.NewStanzaError(xmpp.NotAllowed, "only Jitsi's components send the focus json-messages")))
		return
	}
	if err != nil {
		in.log.Warn("unreadable component message", "from", from, "err", err)
		in.reply(via, xmpp.MessageErrorFor(el, xmpp.NewStanzaError(xmpp.BadRequest, err.Error())))
		return
	}
	room, err := xmpp.ParseRoomJID(env.Room)
	if err != nil || !in.isRoomService(room.Domainpart()) {
		in.log.Warn("component message for no room of ours", "from", from, "room", env.Room)
		return
	}
	ctx.Send(in.cfg.Directory, &conference.Stanza{Room: room.Bare().String(), El: el, Via: via})
}

// isComponent says whether from is the component that sends messages of
// type typ.
func (in *ingress) isComponent(from, typ string) bool {
	var want string
	switch typ {
	case xmpp.JSONTypeAVModeration:
		want = in.components[ComponentAVModeration]
	case xmpp.JSONTypeRoomMetadata:
		want = in.components[ComponentRoomMetadata]
	}
	return want != "" && strings.EqualFold(from, want)
}
