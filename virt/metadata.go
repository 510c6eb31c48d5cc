package virt

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// Namespaces of the domain metadata virtportal reads and writes.
const (
	// MetadataNS is virtportal's metadata namespace URI.
	MetadataNS = "https://virtportal.org/xmlns/guest/1"
	// MetadataPrefix is the prefix libvirt writes for MetadataNS.
	MetadataPrefix = "virtportal"
	// KimchiNS is the namespace Kimchi stored its metadata under; read only.
	KimchiNS = "https://github.com/kimchi-project/kimchi"
)

// guestMeta is <virtportal:guest>. Unknown children and attributes are kept
// so that rewriting <access> never drops what a newer version (or a human
// with virsh) put there.
type guestMeta struct {
	XMLName  xml.Name
	Attrs    []xml.Attr    `xml:",any,attr"`
	OS       *metaOS       `xml:"os"`
	Defaults *metaDefaults `xml:"defaults"`
	Access   *metaAccess   `xml:"access"`
	Extra    []rawElement  `xml:",any"`
}

type metaOS struct {
	Distro  string     `xml:"distro,attr,omitempty"`
	Version string     `xml:"version,attr,omitempty"`
	Arch    string     `xml:"arch,attr,omitempty"`
	Extra   []xml.Attr `xml:",any,attr"`
}

type metaDefaults struct {
	NICModel string     `xml:"nic-model,attr,omitempty"`
	DiskBus  string     `xml:"disk-bus,attr,omitempty"`
	CDROMBus string     `xml:"cdrom-bus,attr,omitempty"`
	Extra    []xml.Attr `xml:",any,attr"`
}

type metaAccess struct {
	Users  []metaPrincipal `xml:"user"`
	Groups []metaPrincipal `xml:"group"`
}

type metaPrincipal struct {
	Realm string `xml:"realm,attr"`
	Name  string `xml:"name,attr"`
	Role  string `xml:"role,attr"`
}

// rawElement round-trips an element virtportal does not understand.
type rawElement struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Inner   []byte     `xml:",innerxml"`
}

// kimchiAccess is Kimchi's <access>: one <auth type="pam|ldap"> per realm
// holding bare <user> and <group> names.
type kimchiAccess struct {
	Auth []struct {
		Type   string   `xml:"type,attr"`
		Users  []string `xml:"user"`
		Groups []string `xml:"group"`
	} `xml:"auth"`
}

// kimchiMeta is Kimchi's root element: newer Kimchi wrote <kimchi:metadata>
// holding <access> and <os>, older releases wrote <kimchi:access> alone.
type kimchiMeta struct {
	Access *kimchiAccess `xml:"access"`
	OS     *metaOS       `xml:"os"`
}

// guestInfo is what the index keeps from a guest's metadata.
type guestInfo struct {
	os     *api.OSInfo
	grants []api.Grant
}

func (g guestInfo) equal(o guestInfo) bool {
	if (g.os == nil) != (o.os == nil) || (g.os != nil && *g.os != *o.os) {
		return false
	}
	return slices.Equal(g.grants, o.grants)
}

// parseGuestMeta decodes our element as GetMetadata returns it.
func parseGuestMeta(doc string) (*guestMeta, error) {
	var g guestMeta
	if err := xml.Unmarshal([]byte(doc), &g); err != nil {
		return nil, fmt.Errorf("virtportal metadata: %w", err)
	}
	return &g, nil
}

// parseKimchiMeta accepts both shapes Kimchi wrote (see kimchiMeta).
func parseKimchiMeta(doc string) (*kimchiMeta, error) {
	var root struct {
		XMLName xml.Name
		Inner   []byte `xml:",innerxml"`
	}
	if err := xml.Unmarshal([]byte(doc), &root); err != nil {
		return nil, fmt.Errorf("kimchi metadata: %w", err)
	}
	if root.XMLName.Local == "access" {
		var a kimchiAccess
		if err := xml.Unmarshal([]byte(doc), &a); err != nil {
			return nil, fmt.Errorf("kimchi metadata: %w", err)
		}
		return &kimchiMeta{Access: &a}, nil
	}
	var k kimchiMeta
	if err := xml.Unmarshal([]byte(doc), &k); err != nil {
		return nil, fmt.Errorf("kimchi metadata: %w", err)
	}
	return &k, nil
}

// splitMetadata finds our element and Kimchi's among the children of a
// domain's <metadata> (its inner XML), returning each as a standalone
// document. The inner XML may use prefixes declared on the children
// themselves only, which is how libvirt always writes them.
func splitMetadata(inner string) (ours, kimchi string, err error) {
	if strings.TrimSpace(inner) == "" {
		return "", "", nil
	}
	dec := xml.NewDecoder(strings.NewReader(inner))
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			return ours, kimchi, nil
		}
		if err != nil {
			return ours, kimchi, fmt.Errorf("domain metadata: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if err := dec.Skip(); err != nil {
			return ours, kimchi, fmt.Errorf("domain metadata: %w", err)
		}
		elem := inner[start:dec.InputOffset()]
		switch se.Name.Space {
		case MetadataNS:
			if ours == "" {
				ours = elem
			}
		case KimchiNS:
			if kimchi == "" {
				kimchi = elem
			}
		}
	}
}

// infoFromMeta turns our and Kimchi's documents into index data. Kimchi's
// grants count only when ours carry no <access> at all, so that an empty
// <access/> written by virtportal means "nobody" and is not overridden.
func infoFromMeta(ours, kimchi string) (guestInfo, error) {
	var g *guestMeta
	if ours != "" {
		var err error
		if g, err = parseGuestMeta(ours); err != nil {
			// Unreadable grants of ours grant nothing; falling back to
			// Kimchi's would resurrect access someone meant to replace.
			return guestInfo{}, err
		}
	}
	return infoFromGuest(g, kimchi)
}

// infoFromGuest is infoFromMeta with ours parsed already (nil: none).
func infoFromGuest(g *guestMeta, kimchi string) (guestInfo, error) {
	var info guestInfo
	if g != nil {
		if g.OS != nil && (g.OS.Distro != "" || g.OS.Version != "" || g.OS.Arch != "") {
			info.os = &api.OSInfo{Distro: g.OS.Distro, Version: g.OS.Version, Arch: g.OS.Arch}
		}
		if g.Access != nil {
			info.grants = grantsFromAccess(g.Access)
			return info, nil
		}
	}
	if kimchi == "" {
		return info, nil
	}
	k, err := parseKimchiMeta(kimchi)
	if err != nil {
		return info, err
	}
	if info.os == nil && k.OS != nil && (k.OS.Distro != "" || k.OS.Version != "") {
		info.os = &api.OSInfo{Distro: k.OS.Distro, Version: k.OS.Version, Arch: k.OS.Arch}
	}
	if k.Access != nil {
		info.grants = grantsFromKimchi(k.Access)
	}
	return info, nil
}

// grantsFromAccess keeps only well-formed entries: a grant the portal cannot
// interpret must not silently become some other grant.
func grantsFromAccess(a *metaAccess) []api.Grant {
	out := make([]api.Grant, 0, len(a.Users)+len(a.Groups))
	add := func(kind string, ps []metaPrincipal) {
		for _, p := range ps {
			g := api.Grant{Kind: kind, Realm: strings.TrimSpace(p.Realm), Name: strings.TrimSpace(p.Name), Role: strings.TrimSpace(p.Role)}
			if validGrant(g) == "" {
				out = append(out, g)
			}
		}
	}
	add("user", a.Users)
	add("group", a.Groups)
	return out
}

// grantsFromKimchi maps Kimchi's users and groups to the operator role,
// which is what Kimchi let them do (power, console, media).
func grantsFromKimchi(a *kimchiAccess) []api.Grant {
	var out []api.Grant
	for _, auth := range a.Auth {
		realm := strings.ToLower(strings.TrimSpace(auth.Type))
		if realm == "" {
			realm = "pam"
		}
		if realm != "pam" && realm != "ldap" {
			continue
		}
		for _, u := range auth.Users {
			g := api.Grant{Kind: "user", Realm: realm, Name: strings.TrimSpace(u), Role: api.RoleOperator}
			if validGrant(g) == "" {
				out = append(out, g)
			}
		}
		for _, n := range auth.Groups {
			g := api.Grant{Kind: "group", Realm: realm, Name: strings.TrimSpace(n), Role: api.RoleOperator}
			if validGrant(g) == "" {
				out = append(out, g)
			}
		}
	}
	return out
}

// validGrant returns what is wrong with g, or "".
func validGrant(g api.Grant) string {
	switch g.Kind {
	case "user", "group":
	default:
		return `kind must be "user" or "group"`
	}
	if !slices.Contains(api.GuestRoles, g.Role) {
		return "role must be one of " + strings.Join(api.GuestRoles, ", ")
	}
	if g.Realm == "" || len(g.Realm) > 32 {
		return "realm must be 1 to 32 characters"
	}
	for _, c := range g.Realm {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "realm must be lower-case letters, digits, '-' or '_'"
		}
	}
	if g.Name == "" || len(g.Name) > 1024 {
		return "name must be 1 to 1024 bytes"
	}
	for _, c := range g.Name {
		if c < 0x20 || c == 0x7f {
			return "name must not contain control characters"
		}
	}
	return ""
}

// ValidateGrants checks the size of a grant list (CodeTooManyGrants above MaxGrants) and
// its shape (kinds, roles, realms, names, duplicates), naming every bad
// entry in one CodeInvalidGrants.
func ValidateGrants(grants []api.Grant) error { return validateGrants(grants) }

// MaxGrants bounds one guest's access list: it lives in the domain XML.
const MaxGrants = 500

// validateGrants checks a whole grant list for SetGrants; duplicates of the
// same principal are refused because they would make the effective role
// depend on document order.
func validateGrants(grants []api.Grant) error {
	if len(grants) > MaxGrants {
		return CodeTooManyGrants.New("at most %d grants per guest", MaxGrants)
	}
	var details []fault.Detail
	seen := make(map[[3]string]bool, len(grants))
	for i, g := range grants {
		field := fmt.Sprintf("grants[%d]", i)
		if msg := validGrant(g); msg != "" {
			details = append(details, fault.Detail{Field: field, Message: msg})
			continue
		}
		key := [3]string{g.Kind, g.Realm, g.Name}
		if seen[key] {
			details = append(details, fault.Detail{Field: field, Message: "duplicate grant for the same " + g.Kind})
		}
		seen[key] = true
	}
	if len(details) > 0 {
		return CodeInvalidGrants.New("invalid grants").WithDetails(details)
	}
	return nil
}

// accessFrom renders grants as our <access> element.
func accessFrom(grants []api.Grant) *metaAccess {
	acc := &metaAccess{}
	for _, gr := range grants {
		p := metaPrincipal{Realm: gr.Realm, Name: gr.Name, Role: gr.Role}
		if gr.Kind == "group" {
			acc.Groups = append(acc.Groups, p)
		} else {
			acc.Users = append(acc.Users, p)
		}
	}
	return acc
}

// withAccess returns doc (our element, possibly empty) with <access>
// replaced by grants and everything else kept.
func withAccess(doc string, grants []api.Grant) (string, error) {
	g := &guestMeta{}
	if strings.TrimSpace(doc) != "" {
		var err error
		if g, err = parseGuestMeta(doc); err != nil {
			return "", err
		}
	}
	g.Access = accessFrom(grants)
	return marshalGuestMeta(g, false)
}

// marshalGuestMeta writes our element with unqualified children as in
// DESIGN.md §4. Without withNS the root is unqualified too, which is what
// SetMetadata wants (libvirt puts it into MetadataNS under MetadataPrefix);
// withNS declares the namespace for embedding in a whole domain document.
func marshalGuestMeta(g *guestMeta, withNS bool) (string, error) {
	g.XMLName = xml.Name{Local: "guest"}
	g.Attrs = stripNSAttrs(g.Attrs)
	if withNS {
		g.XMLName.Local = MetadataPrefix + ":guest"
		g.Attrs = append([]xml.Attr{{Name: xml.Name{Local: "xmlns:" + MetadataPrefix}, Value: MetadataNS}}, g.Attrs...)
	}
	for i := range g.Extra {
		g.Extra[i].XMLName.Space = ""
		g.Extra[i].Attrs = stripNSAttrs(g.Extra[i].Attrs)
	}
	if g.OS != nil {
		g.OS.Extra = stripNSAttrs(g.OS.Extra)
	}
	if g.Defaults != nil {
		g.Defaults.Extra = stripNSAttrs(g.Defaults.Extra)
	}
	out, err := xml.Marshal(g)
	if err != nil {
		return "", fmt.Errorf("encode virtportal metadata: %w", err)
	}
	return string(out), nil
}

// stripNSAttrs drops namespace declarations and namespaced attributes,
// which encoding/xml cannot write back faithfully.
func stripNSAttrs(attrs []xml.Attr) []xml.Attr {
	out := attrs[:0]
	for _, a := range attrs {
		if a.Name.Space != "" || a.Name.Local == "xmlns" || strings.HasPrefix(a.Name.Local, "xmlns:") {
			continue
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// GuestMetadata is the content of a new guest's virtportal element, for
// callers that create guests (templates, fixtures).
type GuestMetadata struct {
	OS       api.OSInfo
	NICModel string
	DiskBus  string
	CDROMBus string
	// Grants, when not nil, becomes <access>; nil leaves <access> out.
	Grants []api.Grant
}

// MarshalGuestMetadata renders md as our element: for SetMetadata without
// the namespace, or declaring it (withNS) to sit inside a domain's <metadata>.
func MarshalGuestMetadata(md GuestMetadata, withNS bool) (string, error) {
	g := &guestMeta{}
	if md.OS != (api.OSInfo{}) {
		g.OS = &metaOS{Distro: md.OS.Distro, Version: md.OS.Version, Arch: md.OS.Arch}
	}
	if md.NICModel != "" || md.DiskBus != "" || md.CDROMBus != "" {
		g.Defaults = &metaDefaults{NICModel: md.NICModel, DiskBus: md.DiskBus, CDROMBus: md.CDROMBus}
	}
	if md.Grants != nil {
		g.Access = accessFrom(md.Grants)
	}
	return marshalGuestMeta(g, withNS)
}
