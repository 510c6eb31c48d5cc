package auth

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/store"
)

// Regression (issue 8 §7): the idle expiry slid only once a minute, so an
// idle timeout under a minute logged out people who were using the portal.
// Now it slides every tenth of the timeout (at most a minute).
func TestIdleExpirySlidesWhileActive(t *testing.T) {
	for _, idle := range []time.Duration{30 * time.Second, time.Minute, 30 * time.Minute} {
		t.Run(idle.String(), func(t *testing.T) {
			st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			ss := NewSessionStore(st, bytes.Repeat([]byte{1}, 64), idle, 24*time.Hour, false)
			ss.now = func() time.Time { return now }
			w := httptest.NewRecorder()
			if _, err := ss.Login(w, httptest.NewRequest("POST", "/", nil), rbac.Principal{Realm: "local", Name: "a"}); err != nil {
				t.Fatal(err)
			}
			cookie := w.Result().Cookies()[0]
			get := func() bool {
				r := httptest.NewRequest("GET", "/", nil)
				r.AddCookie(cookie)
				_, ok, err := ss.Current(r)
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			// Active: a request every third of the timeout, for ten timeouts.
			for i := range 30 {
				now = now.Add(idle / 3)
				if !get() {
					t.Fatalf("active session expired after %v", time.Duration(i+1)*idle/3)
				}
			}
			now = now.Add(idle + time.Second)
			if get() {
				t.Fatal("idle session still alive")
			}
		})
	}
}
