package xmpp

// JingleNSGrouping is the namespace of <group/> (XEP-0338).
const JingleNSGrouping = "urn:xmpp:jingle:apps:grouping:0"

// JingleGroupBundle is the semantics of the BUNDLE group.
const JingleGroupBundle = "BUNDLE"

// JingleGroup is <group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics/>
// (XEP-0338).
type JingleGroup struct {
	Semantics string               `xml:"semantics,attr"`
	Contents  []JingleGroupContent `xml:"content"`
}

// JingleGroupContent names one content of a group.
type JingleGroupContent struct {
	Name string `xml:"name,attr"`
}
