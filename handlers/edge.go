package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// The edge runs before Gin for every request, so that what Gin answers on
// its own (the trailing-slash redirects, 404s of unknown methods) carries
// the same security headers and sees only forwarded headers we trust.

// Limits of a request's target, checked before any route or audit record.
const (
	maxPath       = 2048
	maxRequestURI = 8192
)

var (
	codeURITooLong = fault.Define("uri_too_long", fault.TooLarge)
	codeWrongHost  = fault.Define("wrong_host", fault.Invalid)
)

// forwardedHeaders are believed only from a trusted proxy.
var forwardedHeaders = []string{"X-Forwarded-Prefix", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port", "Forwarded"}

type edgeKey int

const (
	keyOrigin edgeKey = iota // the origin our own pages have, "https://host"
	keyHTTPS                 // the browser reached us over HTTPS
)

// edgeConfig is what the edge derives from Options once.
type edgeConfig struct {
	public  *url.URL // Options.PublicURL, nil when unset
	trusted []netip.Prefix
}

func newEdge(o Options) (edgeConfig, error) {
	var e edgeConfig
	if o.PublicURL != "" {
		u, err := url.Parse(o.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return e, fmt.Errorf("handlers: public URL %q: want http(s)://host[:port][/path]", o.PublicURL)
		}
		u.Host = strings.ToLower(u.Host)
		e.public = u
	}
	for _, p := range o.TrustedProxies {
		pr, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return e, fmt.Errorf("handlers: trusted proxy %q: want an address or a CIDR prefix", p)
			}
			pr = netip.PrefixFrom(a, a.BitLen())
		}
		e.trusted = append(e.trusted, pr.Masked())
	}
	return e, nil
}

// trustedPeer reports whether the connection comes from a trusted proxy.
func (e edgeConfig) trustedPeer(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range e.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// hostAllowed reports whether r was sent to a name of ours. DNS rebinding
// needs a name the attacker controls; an IP literal or localhost cannot be
// one, and the public URL's name is ours. Behind a proxy that passes the
// public name on, public_url must be set.
func (e edgeConfig) hostAllowed(r *http.Request) bool {
	h := r.Host
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
	if e.public != nil && h == e.public.Hostname() {
		return true
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// isProbe: health checks answer any Host. Load balancers and orchestrators
// probe by address or internal name, and the answer holds no data worth a
// rebinding attack.
func isProbe(path string) bool { return path == "/healthz" || path == "/readyz" }

// edge prepares r for Gin, or answers it itself (false).
func (s *Server) edge(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if !s.edgeCfg.trustedPeer(r) {
		for _, h := range forwardedHeaders {
			if _, ok := r.Header[h]; ok {
				r = r.Clone(r.Context())
				for _, h := range forwardedHeaders {
					r.Header.Del(h)
				}
				break
			}
		}
	}
	https := r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
	origin := "http://" + r.Host
	if https {
		origin = "https://" + r.Host
	}
	if p := s.edgeCfg.public; p != nil {
		https = p.Scheme == "https"
		origin = p.Scheme + "://" + p.Host
	}
	s.setSecurityHeaders(w.Header(), r.URL.Path, https)
	if len(r.RequestURI) > maxRequestURI || len(r.URL.Path) > maxPath || len(r.URL.RawPath) > maxPath {
		edgeError(w, http.StatusRequestURITooLong, codeURITooLong.New("the request's path is longer than %d bytes", maxPath))
		return nil, false
	}
	if !isProbe(r.URL.Path) && !s.edgeCfg.hostAllowed(r) {
		edgeError(w, http.StatusMisdirectedRequest, codeWrongHost.New("this server does not answer for that host name; use the portal's own address (see public_url)"))
		return nil, false
	}
	ctx := context.WithValue(r.Context(), keyOrigin, normOrigin(origin))
	ctx = context.WithValue(ctx, keyHTTPS, https)
	return r.WithContext(ctx), true
}

// edgeError answers before Gin, in the one error format.
func edgeError(w http.ResponseWriter, status int, f *fault.Error) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(api.ErrorBody{Error: &api.Error{Status: status, Code: f.Code.Name, Message: f.Message}})
}

// isHTTPS reports whether the browser reached r over HTTPS (TLS here, the
// public URL, or X-Forwarded-Proto from a trusted proxy): cookies are then
// Secure.
func isHTTPS(r *http.Request) bool {
	v, ok := r.Context().Value(keyHTTPS).(bool)
	if !ok {
		return r.TLS != nil
	}
	return v
}

// normOrigin lowercases an origin and drops its default port.
func normOrigin(o string) string {
	o = strings.ToLower(o)
	if rest, ok := strings.CutSuffix(o, ":443"); ok && strings.HasPrefix(o, "https://") {
		return rest
	}
	if rest, ok := strings.CutSuffix(o, ":80"); ok && strings.HasPrefix(o, "http://") {
		return rest
	}
	return o
}
