// The guarded HTTP client of volume downloads: only http and https, and
// no address the portal's own network could be reached through
// (loopback, private, link-local, multicast, unspecified) unless the
// configuration allows its network. The address is checked when the
// connection is dialled, after DNS, so a name that resolves differently
// the second time (DNS rebinding) gains nothing; every redirect is
// checked again.

package storage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/virtportal/virtportal/fault"
)

// Codes of URL downloads.
var (
	CodeURLInvalid        = fault.Define("url_invalid", fault.Invalid)
	CodeURLScheme         = fault.Define("url_scheme_refused", fault.Invalid)
	CodeURLAddressRefused = fault.Define("url_address_refused", fault.Invalid)
	CodeURLTooManyHops    = fault.Define("url_too_many_redirects", fault.Invalid)
	CodeURLFetchFailed    = fault.Define("url_fetch_failed", fault.Unavailable)
	CodeURLStatus         = fault.Define("url_bad_status", fault.Unavailable)
	CodeURLSizeUnknown    = fault.Define("url_size_unknown", fault.Invalid)
	CodeURLTooLarge       = fault.Define("url_too_large", fault.TooLarge)
)

// maxRedirects bounds a redirect chain.
const maxRedirects = 5

// urlGuard decides which addresses a download may reach.
type urlGuard struct {
	allow []netip.Prefix // networks allowed although private or loopback
}

// refusedPrefixes are networks that are not the open internet beyond
// what netip's predicates name: shared address space, benchmarking,
// documentation and the reserved 240/4.
var refusedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64 reaches IPv4 behind it
}

// checkAddr refuses an address of the portal's side of the network unless
// its network is allowed.
func (g urlGuard) checkAddr(a netip.Addr) error {
	a = a.Unmap()
	for _, p := range g.allow {
		if p.Contains(a) {
			return nil
		}
	}
	bad := a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || !a.IsValid()
	for _, p := range refusedPrefixes {
		bad = bad || p.Contains(a)
	}
	if bad {
		return CodeURLAddressRefused.New("address %s is loopback, private, link-local, multicast or reserved; downloads from it are not allowed", a)
	}
	return nil
}

// checkURL refuses a URL that is not plain http or https, or names an
// address literal that checkAddr refuses.
func (g urlGuard) checkURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return CodeURLScheme.New("only http and https URLs may be downloaded")
	}
	if u.Host == "" || u.Hostname() == "" {
		return CodeURLInvalid.New("the URL names no host")
	}
	if u.User != nil {
		return CodeURLInvalid.New("credentials in the URL are not accepted")
	}
	if a, err := netip.ParseAddr(u.Hostname()); err == nil {
		return g.checkAddr(a)
	}
	return nil
}

// parseURL parses and checks a URL given by a user.
func (g urlGuard) parseURL(raw string) (*url.URL, error) {
	if len(raw) > 4096 {
		return nil, CodeURLInvalid.New("the URL is longer than 4096 bytes")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return nil, CodeURLInvalid.New("not an absolute URL")
	}
	return u, g.checkURL(u)
}

// resolveCheck resolves a host name and refuses it when any address is
// refused: an immediate answer for the user. The dial-time check is what
// protects; this only says no sooner.
func (g urlGuard) resolveCheck(ctx context.Context, u *url.URL) error {
	if _, err := netip.ParseAddr(u.Hostname()); err == nil {
		return nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", u.Hostname())
	if err != nil {
		return CodeURLFetchFailed.New("cannot resolve %q", u.Hostname())
	}
	for _, a := range addrs {
		if err := g.checkAddr(a); err != nil {
			return err
		}
	}
	return nil
}

// client is an HTTP client that checks the address of every connection
// it dials and every redirect it follows; no proxy from the environment
// (a proxy would dial for us, unchecked).
func (g urlGuard) client() *http.Client {
	d := &net.Dialer{
		Timeout: 15 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return CodeURLAddressRefused.New("cannot check address %q", address)
			}
			return g.checkAddr(ap.Addr())
		},
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return CodeURLTooManyHops.New("more than %d redirects", maxRedirects)
			}
			return g.checkURL(req.URL)
		},
	}
}

// fetchError turns a client failure into a fault: the guard's refusals
// keep their codes; anything else is a failed fetch, its cause logged.
func fetchError(err error) error {
	if f := fault.As(err); f != nil {
		return f
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() {
		return CodeURLFetchFailed.Wrap(err, "the server did not answer in time")
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return CodeURLFetchFailed.Wrap(err, "%s", fetchReason(err))
}

// fetchReason says in a few words why a fetch failed, without the URL
// (which may carry tokens in its query).
func fetchReason(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return fmt.Sprintf("cannot %s the server", oe.Op)
	}
	return "the download failed"
}
