package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/store"
)

// CookieName is the session cookie's name.
const CookieName = "virtportal_session"

// dataKey is the single key under which a session keeps its SessionData.
const dataKey = "data"

// SessionData is what a server-side session holds.
type SessionData struct {
	Realm   string    `json:"realm"`
	Name    string    `json:"name"`
	Groups  []string  `json:"groups,omitempty"`
	Roles   []string  `json:"roles"`
	CSRF    string    `json:"csrf"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// Refreshed is when Groups and Roles were last read from the realm.
	Refreshed time.Time `json:"refreshed"`
	// Only is an API token's limit (rbac.Principal.Only); never in a
	// browser session.
	Only []rbac.Permission `json:"-"`
}

// ID is the caller's identity, "realm:name", as rbac.Principal.ID.
func (d SessionData) ID() string { return d.Principal().ID() }

// Principal returns the session's caller.
func (d SessionData) Principal() rbac.Principal {
	return rbac.Principal{Realm: d.Realm, Name: d.Name, Groups: d.Groups, Roles: d.Roles, Only: d.Only}
}

// CSRFMatches compares a presented CSRF token in constant time.
func (d SessionData) CSRFMatches(token string) bool {
	return token != "" && d.CSRF != "" && subtle.ConstantTimeCompare([]byte(token), []byte(d.CSRF)) == 1
}

// SessionStore is a gorilla/sessions store whose cookie carries only a signed
// random id; the data lives in the database (which keeps only the id's
// SHA-256, so a copy of the database holds no usable session).
type SessionStore struct {
	st       *store.Store
	codecs   []securecookie.Codec
	Idle     time.Duration
	Absolute time.Duration
	Secure   bool
	// SecureRequest, when set, makes the cookie Secure for the requests it
	// accepts too (the browser reached a TLS-terminating proxy).
	SecureRequest func(*http.Request) bool
	now           func() time.Time
}

// NewSessionStore returns a store signing cookies with hashKey (32+ bytes).
func NewSessionStore(st *store.Store, hashKey []byte, idle, absolute time.Duration, secure bool) *SessionStore {
	codecs := securecookie.CodecsFromPairs(hashKey)
	for _, c := range codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.MaxAge(int(absolute.Seconds()))
			sc.SetSerializer(securecookie.NopEncoder{})
		}
	}
	return &SessionStore{st: st, codecs: codecs, Idle: idle, Absolute: absolute, Secure: secure, now: time.Now}
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (s *SessionStore) options(r *http.Request) *sessions.Options {
	secure := s.Secure || (s.SecureRequest != nil && s.SecureRequest(r))
	return &sessions.Options{Path: "/", MaxAge: int(s.Absolute.Seconds()), HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
}

// Get implements sessions.Store, caching per request.
func (s *SessionStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New implements sessions.Store: it loads the session named by the cookie, or
// returns a new empty one when there is none, or it expired, or it was forged.
func (s *SessionStore) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	sess.Options = s.options(r)
	sess.IsNew = true
	c, err := r.Cookie(name)
	if err != nil {
		return sess, nil
	}
	var id []byte
	if err := securecookie.DecodeMulti(name, c.Value, &id, s.codecs...); err != nil {
		return sess, nil
	}
	now := s.now()
	row, err := s.st.GetSession(r.Context(), string(id), now)
	if fault.Is(err, store.CodeSessionNotFound) {
		return sess, nil
	}
	if err != nil {
		return sess, err
	}
	var data SessionData
	if err := json.Unmarshal(row.Data, &data); err != nil {
		return sess, fmt.Errorf("auth: session data: %w", err)
	}
	sess.ID = string(id)
	sess.Values[dataKey] = data
	sess.IsNew = false
	// Sliding idle expiry, written at most once per touchEvery so that
	// reads stay reads.
	if now.Sub(row.LastSeen) >= s.touchEvery() {
		idle := earlier(now.Add(s.Idle), row.AbsExpires)
		if err := s.st.TouchSession(r.Context(), row.ID, now, idle); err != nil {
			return sess, err
		}
	}
	return sess, nil
}

// KeepAlive reads session id for a connection that outlives its request
// (a console) and, if there was activity (last) since the session was last
// seen plus a minute, slides its idle expiry as a request would. A session
// that has gone is store.CodeSessionNotFound. A failed touch still returns the session's data
// with the error.
func (s *SessionStore) KeepAlive(ctx context.Context, id string, last time.Time) (SessionData, error) {
	now := s.now()
	row, err := s.st.GetSession(ctx, id, now)
	if err != nil {
		return SessionData{}, err
	}
	var data SessionData
	if err := json.Unmarshal(row.Data, &data); err != nil {
		return SessionData{}, fmt.Errorf("auth: session data: %w", err)
	}
	if !last.Before(row.LastSeen.Add(s.touchEvery())) {
		err := s.st.TouchSession(ctx, id, now, earlier(now.Add(s.Idle), row.AbsExpires))
		if err != nil && !fault.Is(err, store.CodeSessionNotFound) {
			return data, err
		}
	}
	return data, nil
}

// touchEvery is how often an active session's idle expiry slides: once a
// minute, or every tenth of a shorter idle timeout, so that a session in
// use never expires between two slides.
func (s *SessionStore) touchEvery() time.Duration {
	return min(time.Minute, s.Idle/10)
}

// Save implements sessions.Store. A negative MaxAge deletes the session.
func (s *SessionStore) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if sess.Options != nil && sess.Options.MaxAge < 0 {
		if sess.ID != "" {
			if err := s.st.DeleteSession(r.Context(), sess.ID); err != nil {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", sess.Options))
		return nil
	}
	data, ok := sess.Values[dataKey].(SessionData)
	if !ok {
		return errors.New("auth: session without data")
	}
	if sess.ID == "" {
		sess.ID = RandomToken(32)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	now := s.now()
	err = s.st.SaveSession(r.Context(), store.Session{
		ID: sess.ID, Identity: data.ID(), Data: raw,
		Created: data.Created, LastSeen: now, IdleExpires: earlier(now.Add(s.Idle), data.Expires), AbsExpires: data.Expires,
	})
	if err != nil {
		return err
	}
	encoded, err := securecookie.EncodeMulti(sess.Name(), []byte(sess.ID), s.codecs...)
	if err != nil {
		return err
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), encoded, sess.Options))
	return nil
}

// Login starts a fresh session for p, discarding any session the request
// carried so that a planted id never becomes an authenticated one.
func (s *SessionStore) Login(w http.ResponseWriter, r *http.Request, p rbac.Principal) (SessionData, error) {
	old, err := s.Get(r, CookieName)
	if err != nil {
		return SessionData{}, err
	}
	if old.ID != "" {
		if err := s.st.DeleteSession(r.Context(), old.ID); err != nil {
			return SessionData{}, err
		}
	}
	now := s.now().UTC()
	data := SessionData{Realm: p.Realm, Name: p.Name, Groups: p.Groups, Roles: p.Roles,
		CSRF: RandomToken(32), Created: now, Expires: now.Add(s.Absolute), Refreshed: now}
	sess := sessions.NewSession(s, CookieName)
	sess.Options = s.options(r)
	sess.Values[dataKey] = data
	return data, s.Save(r, w, sess)
}

// Current returns the request's session data, if it has a live session.
func (s *SessionStore) Current(r *http.Request) (SessionData, bool, error) {
	sess, err := s.Get(r, CookieName)
	if err != nil {
		return SessionData{}, false, err
	}
	data, ok := sess.Values[dataKey].(SessionData)
	return data, ok && !sess.IsNew, nil
}

// CurrentID returns the id of the request's live session, "" when it has
// none. Console tokens are bound to it, and live consoles end with it.
func (s *SessionStore) CurrentID(r *http.Request) (string, error) {
	sess, err := s.Get(r, CookieName)
	if err != nil || sess.IsNew {
		return "", err
	}
	return sess.ID, nil
}

// Update stores changed data in the request's session, keeping its id.
func (s *SessionStore) Update(w http.ResponseWriter, r *http.Request, data SessionData) error {
	sess, err := s.Get(r, CookieName)
	if err != nil {
		return err
	}
	if sess.ID == "" {
		return errors.New("auth: update of a request without a session")
	}
	sess.Values[dataKey] = data
	return s.Save(r, w, sess)
}

// Logout deletes the request's session and clears the cookie.
func (s *SessionStore) Logout(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.Get(r, CookieName)
	if err != nil {
		return err
	}
	sess.Options = s.options(r)
	sess.Options.MaxAge = -1
	return s.Save(r, w, sess)
}

// Refreshed is what RefreshSession decided.
type Refreshed struct {
	Data    SessionData // the session as it stands now
	Changed bool        // Data must be saved
	End     bool        // the session must end
	Reason  string      // why it ends, when the user is gone or disabled
	Err     error       // the realm could not answer: the groups from login stay
}

// RefreshSession re-reads the caller's groups and roles once they are older
// than every (0: never). It ends the session of a user who no longer
// exists or was disabled, or whose realm is no longer enabled. A realm
// that cannot answer leaves the groups in place and is asked again a
// minute later.
func (r *Realms) RefreshSession(ctx context.Context, d SessionData, every time.Duration, now time.Time) Refreshed {
	if every <= 0 || now.Sub(d.Refreshed) < every {
		return Refreshed{Data: d}
	}
	realm, ok := r.Get(d.Realm)
	if !ok {
		return Refreshed{Data: d, End: true}
	}
	ref, ok := realm.(Refresher)
	if !ok {
		return Refreshed{Data: d}
	}
	p, err := ref.Refresh(ctx, d.Name)
	switch reason := LoginReason(err); {
	case err == nil:
		d.Groups, d.Roles, d.Refreshed = p.Groups, p.Roles, now
		return Refreshed{Data: d, Changed: true}
	case reason == ReasonUnknownUser || reason == ReasonDisabled:
		return Refreshed{Data: d, End: true, Reason: reason}
	default:
		d.Refreshed = now.Add(time.Minute - every)
		return Refreshed{Data: d, Changed: true, Err: err}
	}
}
