package xmpp

// NSVisitors is the namespace of Jitsi's visitor-node protocol between the
// focus and the main Prosody's visitors component (mod_visitors_component).
const NSVisitors = "jitsi:visitors"

// ComponentTypeVisitors is the disco identity type of the visitors component.
const ComponentTypeVisitors = "visitors"

// VNodeIQ asks the visitors component to connect (connect=true) or
// disconnect the visitor node vnode to or from room (the main room's bare
// JID). The component takes these only from an admin (the focus), and only
// as type get: a set must come from a visitor node over s2s.
//
//	<iq type='get' to='visitors.meet.jitsi'>
//	  <visitors xmlns='jitsi:visitors' room='r@conference.meet.jitsi'>
//	    <connect-vnode vnode='v1'/>
//	  </visitors>
//	</iq>
func VNodeIQ(component, room, vnode string, connect bool) *Element {
	action := "disconnect-vnode"
	if connect {
		action = "connect-vnode"
	}
	payload := NewElement(NSVisitors, "visitors", "room", room).
		Append(NewElement(NSVisitors, action, "vnode", vnode))
	return NewIQ(IQGet, "", component, "", payload)
}
