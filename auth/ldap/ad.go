package ldap

import (
	"context"
	"fmt"
	"regexp"

	"github.com/go-ldap/ldap/v3"
)

// adBindData pulls the sub-code out of AD's bind diagnostics
// ("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 533, v4563").
var adBindData = regexp.MustCompile(`\bdata ([0-9a-fA-F]{3,8})\b`)

func (l *Realm) adGroups(ctx context.Context, lc *ldapConn, u ldapUser) ([]ldapGroup, error) {
	direct := fmt.Sprintf("(&(objectClass=group)(member=%s))", ldap.EscapeFilter(u.dn))
	if l.inChain.Load() == inChainUnsupported {
		return l.walkGroups(ctx, lc, direct, "(objectClass=group)")
	}
	// One search for the whole nesting, the server walking the chain.
	filter := fmt.Sprintf("(&(objectClass=group)(member:%s:=%s))", adInChainRule, ldap.EscapeFilter(u.dn))
	entries, _, err := l.paged(ctx, lc, l.cfg.GroupBaseDN, filter, []string{"cn"}, ldapMaxGroups)
	if err != nil {
		// Network trouble is trouble; a refusal of the rule or the filter
		// (inappropriateMatching, unavailableCriticalExtension, protocolError,
		// unwillingToPerform…) means the server lacks it.
		if !serverAnswered(err) || (serverTrouble(err) && !ldap.IsErrorWithCode(err, ldap.LDAPResultProtocolError)) {
			return nil, err
		}
		l.noInChain("the server refused the in-chain rule: " + err.Error())
		return l.walkGroups(ctx, lc, direct, "(objectClass=group)")
	}
	// A server without the rule may treat it as Undefined and answer
	// nothing (slapd does): the in-chain answer must contain every direct
	// group the user's memberOf names.
	got := map[string]bool{}
	for _, e := range entries {
		got[normDN(e.DN)] = true
	}
	base := l.groupBase
	for _, m := range u.memberOf {
		md, err := ldap.ParseDN(m)
		if err != nil || !base.AncestorOfFold(md) && !base.EqualFold(md) {
			continue
		}
		if !got[normDN(m)] {
			l.noInChain("its in-chain answer misses direct groups from memberOf")
			return l.walkGroups(ctx, lc, direct, "(objectClass=group)")
		}
	}
	if len(u.memberOf) > 0 {
		l.inChain.CompareAndSwap(inChainUnknown, inChainWorks)
	}
	return groupsOf(entries), nil
}

func (l *Realm) noInChain(why string) {
	// Once it works it stays trusted: a later mismatch is one odd answer.
	if l.inChain.CompareAndSwap(inChainUnknown, inChainUnsupported) {
		l.warned.Do(func() {
			l.log.Warn("ldap: the directory does not evaluate the in-chain rule "+adInChainRule+
				"; walking nested groups level by level instead", "why", why)
		})
	}
}

// inChain states, for the AD flavor.
const (
	inChainUnknown int32 = iota
	inChainWorks
	inChainUnsupported
)
