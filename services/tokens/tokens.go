// Package tokens is personal API tokens: making, listing and revoking
// them, and turning a presented secret into its owner as the owner's realm
// sees them now (roles and groups re-read, a gone or disabled owner
// refused).
package tokens

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/store"
)

// Limits and defaults.
const (
	// SecretPrefix starts every secret, so that secret scanners (and
	// people) recognise a leaked one.
	SecretPrefix    = "vpt_"
	MaxNameLen      = 64 // characters
	MaxLifetime     = 365 * 24 * time.Hour
	DefaultLifetime = 30 * 24 * time.Hour
	MaxPerOwner     = 50 // live tokens per owner
	// touchGap bounds how often last-used is written: a script polling
	// every second must not turn every read into a database write.
	touchGap = time.Minute
	// secretLen is the length of a well-formed secret: the prefix and 32
	// random bytes in unpadded base64url.
	secretLen = len(SecretPrefix) + 43
)

// Codes of this package.
var (
	CodeInvalid     = fault.Define("token_invalid", fault.Unauthenticated)
	CodeBadName     = fault.Define("token_name_invalid", fault.Invalid)
	CodeBadExpiry   = fault.Define("token_expiry_invalid", fault.Invalid)
	CodeRealm       = fault.Define("token_realm_unsupported", fault.Conflict)
	CodeUnavailable = fault.Define("token_owner_unavailable", fault.Unavailable)
)

// Why a presented token was refused, for the audit log.
const (
	ReasonMalformed  = "malformed"
	ReasonUnknown    = "unknown"
	ReasonExpired    = "expired"
	ReasonRevoked    = "revoked"
	ReasonOwnerGone  = "owner_gone"
	ReasonDisabled   = "owner_disabled"
	ReasonRealmGone  = "realm_gone"
	ReasonRealmError = "realm_unavailable"
)

// Options configure the service; zero fields take defaults.
type Options struct {
	// Refresh is how long an owner's roles and groups, once read from
	// their realm, are reused (as a session's group refresh); default 1 min.
	Refresh time.Duration
	Now     func() time.Time
	Logger  *slog.Logger
}

// Service makes and checks API tokens. It is safe for concurrent use.
type Service struct {
	st     store.Tokens
	realms *auth.Realms
	opt    Options

	mu      sync.Mutex
	owners  map[string]cachedOwner // by identity
	touched map[string]time.Time   // last-used written, by token id
}

type cachedOwner struct {
	p  rbac.Principal
	at time.Time // when it was read (or, after a realm failure, when to ask again minus Refresh)
}

// New returns the service over st, rebuilding owners from realms.
func New(st store.Tokens, realms *auth.Realms, opt Options) *Service {
	if opt.Refresh <= 0 {
		opt.Refresh = time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	return &Service{st: st, realms: realms, opt: opt, owners: map[string]cachedOwner{}, touched: map[string]time.Time{}}
}

// ValidName checks a token's name: 1–64 characters of printable text, no
// control or formatting characters (bidi marks would make a list lie).
func ValidName(name string) error {
	n := utf8.RuneCountInString(name)
	if n == 0 || n > MaxNameLen {
		return CodeBadName.New("a token's name has 1 to %d characters", MaxNameLen)
	}
	if !utf8.ValidString(name) || strings.TrimSpace(name) != name {
		return CodeBadName.New("a token's name must be valid text without leading or trailing spaces")
	}
	for _, r := range name {
		if !unicode.IsPrint(r) || unicode.Is(unicode.Cf, r) {
			return CodeBadName.New("a token's name may not hold control or formatting characters")
		}
	}
	return nil
}

// Expiry decides a new token's expiry from an explicit time or a number
// of days (not both; neither: DefaultLifetime), within MaxLifetime.
func Expiry(now time.Time, at *time.Time, days int) (time.Time, error) {
	switch {
	case at != nil && days != 0:
		return time.Time{}, CodeBadExpiry.New("give expires or expires_in_days, not both")
	case days < 0 || days > int(MaxLifetime/(24*time.Hour)):
		return time.Time{}, CodeBadExpiry.New("expires_in_days is 1 to %d", int(MaxLifetime/(24*time.Hour)))
	case days > 0:
		return now.Add(time.Duration(days) * 24 * time.Hour).UTC(), nil
	case at == nil:
		return now.Add(DefaultLifetime).UTC(), nil
	case !at.After(now):
		return time.Time{}, CodeBadExpiry.New("expires must be in the future")
	case at.Sub(now) > MaxLifetime:
		return time.Time{}, CodeBadExpiry.New("a token lives at most %d days", int(MaxLifetime/(24*time.Hour)))
	}
	return at.UTC(), nil
}

// Create makes a token for owner and returns it with its secret, which
// exists only in this answer. Only owners of realms that can re-read a
// user without a password get tokens: otherwise a token would act with
// roles nobody can check any more.
//
// only, when given, limits the token to those permissions.
func (s *Service) Create(ctx context.Context, owner rbac.Principal, name string, expires time.Time, only ...rbac.Permission) (store.APIToken, string, error) {
	if err := ValidName(name); err != nil {
		return store.APIToken{}, "", err
	}
	realm, ok := s.realms.Get(owner.Realm)
	if !ok {
		return store.APIToken{}, "", CodeRealm.New("realm %q is not enabled", owner.Realm)
	}
	if _, ok := realm.(auth.Refresher); !ok {
		return store.APIToken{}, "", CodeRealm.New("users of the %s realm cannot have API tokens: it cannot re-read their groups", realm.Label())
	}
	now := s.opt.Now().UTC()
	if !expires.After(now) || expires.Sub(now) > MaxLifetime+time.Minute {
		return store.APIToken{}, "", CodeBadExpiry.New("a token expires within %d days from now", int(MaxLifetime/(24*time.Hour)))
	}
	t := store.APIToken{ID: auth.RandomToken(9), Realm: owner.Realm, Username: owner.Name, Name: name,
		Created: now, Expires: expires.UTC()}
	for _, p := range only {
		t.Permissions = append(t.Permissions, p.String())
	}
	secret := SecretPrefix + auth.RandomToken(32)
	if err := s.st.CreateToken(ctx, secret, t, MaxPerOwner); err != nil {
		return store.APIToken{}, "", err
	}
	return t, secret, nil
}

// Lookup reads user of realm as a token owner would be read, for making
// a token on someone's behalf (the command line): an unknown or disabled
// user, or a realm that cannot re-read users, is refused.
func (s *Service) Lookup(ctx context.Context, realm, user string) (rbac.Principal, error) {
	r, ok := s.realms.Get(realm)
	if !ok {
		return rbac.Principal{}, CodeRealm.New("realm %q is not enabled", realm)
	}
	ref, ok := r.(auth.Refresher)
	if !ok {
		return rbac.Principal{}, CodeRealm.New("users of the %s realm cannot have API tokens: it cannot re-read their groups", r.Label())
	}
	if !auth.ValidUsername(user) {
		return rbac.Principal{}, store.CodeTokenNotFound.New("invalid user name %q", user)
	}
	p, err := ref.Refresh(ctx, user)
	if err != nil {
		return rbac.Principal{}, fmt.Errorf("user %s:%s: %w", realm, user, err)
	}
	p.Realm, p.Name = realm, user
	return p, nil
}

// List returns owner's live tokens; "" lists everyone's.
func (s *Service) List(ctx context.Context, owner string) ([]store.APIToken, error) {
	return s.st.ListTokens(ctx, owner)
}

// Revoke ends the live token id. by is the caller's identity, whose own
// tokens alone they may revoke; "" (an administrator) may revoke any. A
// token of someone else answers as one that does not exist.
func (s *Service) Revoke(ctx context.Context, id, by string) (store.APIToken, error) {
	t, err := s.st.Token(ctx, id)
	if err != nil {
		return store.APIToken{}, err
	}
	if !t.Revoked.IsZero() || (by != "" && t.Owner() != by) {
		return store.APIToken{}, store.CodeTokenNotFound.New("no such token")
	}
	if err := s.st.RevokeToken(ctx, id, s.opt.Now()); err != nil {
		return store.APIToken{}, err
	}
	s.mu.Lock()
	delete(s.touched, id)
	s.mu.Unlock()
	return t, nil
}

// Use is a checked token: the token and its owner as of now. After a
// refusal Token holds what is known (its ID when the token exists) and
// Reason says why.
type Use struct {
	Token     store.APIToken
	Principal rbac.Principal
	Reason    string
}

// Authenticate checks a presented secret. Every refusal is a token_invalid
// error (401) with Use.Reason set; a realm that cannot answer for an owner
// not seen recently is token_owner_unavailable (503).
func (s *Service) Authenticate(ctx context.Context, secret string) (Use, error) {
	if len(secret) != secretLen || !strings.HasPrefix(secret, SecretPrefix) {
		return Use{Reason: ReasonMalformed}, CodeInvalid.New("the bearer token is not a virtportal API token")
	}
	t, err := s.st.TokenBySecret(ctx, secret)
	if fault.Is(err, store.CodeTokenNotFound) {
		return Use{Reason: ReasonUnknown}, CodeInvalid.New("unknown API token")
	}
	if err != nil {
		return Use{}, err
	}
	return s.check(ctx, t)
}

// Check re-checks the token id as Authenticate would, without its secret:
// for work that outlives the request that presented it (a console).
func (s *Service) Check(ctx context.Context, id string) (Use, error) {
	t, err := s.st.Token(ctx, id)
	if fault.Is(err, store.CodeTokenNotFound) {
		return Use{Reason: ReasonUnknown}, CodeInvalid.New("unknown API token")
	}
	if err != nil {
		return Use{}, err
	}
	return s.check(ctx, t)
}

func (s *Service) check(ctx context.Context, t store.APIToken) (Use, error) {
	now := s.opt.Now()
	u := Use{Token: t}
	switch {
	case !t.Revoked.IsZero():
		u.Reason = ReasonRevoked
		return u, CodeInvalid.New("this API token was revoked")
	case !now.Before(t.Expires):
		u.Reason = ReasonExpired
		return u, CodeInvalid.New("this API token expired at %s", t.Expires.UTC().Format(time.RFC3339))
	}
	p, reason, err := s.owner(ctx, t, now)
	if err != nil {
		u.Reason = reason
		return u, err
	}
	u.Principal = p
	if len(t.Permissions) > 0 {
		// A limited token: its owner's roles, within its permissions.
		u.Principal.Only = make([]rbac.Permission, 0, len(t.Permissions))
		for _, s := range t.Permissions {
			if p, ok := rbac.ParsePermission(s); ok {
				u.Principal.Only = append(u.Principal.Only, p)
			}
		}
	}
	s.touch(ctx, t.ID, now)
	return u, nil
}

// owner rebuilds the token's owner from their realm, reusing what was read
// less than Refresh ago. A realm that cannot answer leaves the last known
// roles in place and is asked again a minute later, as for sessions.
func (s *Service) owner(ctx context.Context, t store.APIToken, now time.Time) (rbac.Principal, string, error) {
	id := t.Owner()
	s.mu.Lock()
	c, cached := s.owners[id]
	s.mu.Unlock()
	if cached && now.Sub(c.at) < s.opt.Refresh {
		return c.p, "", nil
	}
	realm, ok := s.realms.Get(t.Realm)
	ref, canRefresh := realm.(auth.Refresher)
	if !ok || !canRefresh {
		s.forget(id)
		return rbac.Principal{}, ReasonRealmGone, CodeInvalid.New("the owner's realm no longer accepts API tokens")
	}
	p, err := ref.Refresh(ctx, t.Username)
	switch reason := auth.LoginReason(err); {
	case err == nil:
		p.Realm, p.Name = t.Realm, t.Username
		s.mu.Lock()
		s.owners[id] = cachedOwner{p: p, at: now}
		s.mu.Unlock()
		return p, "", nil
	case reason == auth.ReasonUnknownUser:
		s.forget(id)
		return rbac.Principal{}, ReasonOwnerGone, CodeInvalid.New("the owner of this API token no longer exists")
	case reason == auth.ReasonDisabled:
		s.forget(id)
		return rbac.Principal{}, ReasonDisabled, CodeInvalid.New("the owner of this API token is disabled")
	}
	s.opt.Logger.Warn("token owner refresh failed", "user", id, "err", err)
	if !cached {
		return rbac.Principal{}, ReasonRealmError, CodeUnavailable.Wrap(err, "the %s realm is unavailable; try again later", realm.Label())
	}
	s.mu.Lock()
	s.owners[id] = cachedOwner{p: c.p, at: now.Add(time.Minute - s.opt.Refresh)}
	s.mu.Unlock()
	return c.p, "", nil
}

func (s *Service) forget(identity string) {
	s.mu.Lock()
	delete(s.owners, identity)
	s.mu.Unlock()
}

// touch records the use at most once per touchGap per token; a failure is
// logged and does not refuse the request (last-used is information only).
func (s *Service) touch(ctx context.Context, id string, now time.Time) {
	s.mu.Lock()
	last, ok := s.touched[id]
	due := !ok || now.Sub(last) >= touchGap
	if due {
		s.touched[id] = now
	}
	s.mu.Unlock()
	if !due {
		return
	}
	if err := s.st.TouchToken(ctx, id, now, touchGap); err != nil {
		s.opt.Logger.Warn("token last-used update failed", "token", id, "err", err)
	}
}

// String is for logs: never the secret.
func (u Use) String() string { return fmt.Sprintf("token %s of %s", u.Token.ID, u.Token.Owner()) }
