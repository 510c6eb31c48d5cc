package store

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/virtportal/virtportal/fault"
)

func TestTokensSQLite(t *testing.T) {
	s, _ := openStore(t, "")
	testTokens(t, s)
}

// testTokens is the suite every Tokens implementation must pass; it works
// only through the interface.
func testTokens(t *testing.T, ts Tokens) {
	ctx := t.Context()
	mk := func(id, user, name string) APIToken {
		return APIToken{ID: id, Realm: "local", Username: user, Name: name, Created: base, Expires: base.Add(24 * time.Hour)}
	}
	wantCode := func(t *testing.T, err error, c fault.Code) {
		t.Helper()
		if !fault.Is(err, c) {
			t.Fatalf("error %v, want code %s", err, c.Name)
		}
	}
	if err := ts.CreateToken(ctx, "vpt_one", mk("id1", "alice", "ci"), 10); err != nil {
		t.Fatal(err)
	}

	t.Run("lookup by secret round-trips", func(t *testing.T) {
		got, err := ts.TokenBySecret(ctx, "vpt_one")
		if err != nil {
			t.Fatal(err)
		}
		want := mk("id1", "alice", "ci")
		if !reflect.DeepEqual(got, want) || got.Owner() != "local:alice" || got.Created.Location() != time.UTC {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	})
	t.Run("a limited token keeps its permissions", func(t *testing.T) {
		lim := mk("id9", "alice", "scraper")
		lim.Permissions = []string{"metrics:read", "vm:read"}
		if err := ts.CreateToken(ctx, "vpt_nine", lim, 10); err != nil {
			t.Fatal(err)
		}
		got, err := ts.Token(ctx, "id9")
		if err != nil || !reflect.DeepEqual(got.Permissions, lim.Permissions) {
			t.Fatalf("got %+v, %v", got, err)
		}
		if err := ts.RevokeToken(ctx, "id9", time.Now()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unknown secret", func(t *testing.T) {
		_, err := ts.TokenBySecret(ctx, "vpt_other")
		wantCode(t, err, CodeTokenNotFound)
		_, err = ts.Token(ctx, "nope")
		wantCode(t, err, CodeTokenNotFound)
	})
	t.Run("incomplete refused", func(t *testing.T) {
		for i, tok := range []APIToken{mk("", "alice", "x"), mk("i", "", "x"), mk("i", "alice", ""),
			{ID: "i", Realm: "local", Username: "alice", Name: "x", Created: base, Expires: base}} {
			if err := ts.CreateToken(ctx, fmt.Sprint("s", i), tok, 10); err == nil {
				t.Errorf("%d: %+v stored", i, tok)
			}
		}
		if err := ts.CreateToken(ctx, "", mk("i", "alice", "x"), 10); err == nil {
			t.Error("empty secret stored")
		}
	})
	t.Run("name unique per owner among live tokens", func(t *testing.T) {
		wantCode(t, ts.CreateToken(ctx, "vpt_two", mk("id2", "alice", "ci"), 10), CodeTokenNameTaken)
		if err := ts.CreateToken(ctx, "vpt_bob", mk("idb", "bob", "ci"), 10); err != nil {
			t.Fatal("another owner may use the name:", err)
		}
	})
	t.Run("list per owner and all", func(t *testing.T) {
		l, err := ts.ListTokens(ctx, "local:alice")
		if err != nil || len(l) != 1 || l[0].ID != "id1" {
			t.Fatalf("alice's: %+v %v", l, err)
		}
		all, err := ts.ListTokens(ctx, "")
		if err != nil || len(all) != 2 {
			t.Fatalf("all: %+v %v", all, err)
		}
		none, err := ts.ListTokens(ctx, "local:nobody")
		if err != nil || none == nil || len(none) != 0 {
			t.Fatalf("nobody's: %#v %v", none, err)
		}
	})
	t.Run("touch at most once per gap", func(t *testing.T) {
		at := base.Add(time.Hour)
		if err := ts.TouchToken(ctx, "id1", at, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := ts.TouchToken(ctx, "id1", at.Add(30*time.Second), time.Minute); err != nil {
			t.Fatal(err)
		}
		got, _ := ts.Token(ctx, "id1")
		if !got.LastUsed.Equal(at) {
			t.Fatalf("last used %v, want %v", got.LastUsed, at)
		}
		if err := ts.TouchToken(ctx, "id1", at.Add(2*time.Minute), time.Minute); err != nil {
			t.Fatal(err)
		}
		got, _ = ts.Token(ctx, "id1")
		if !got.LastUsed.Equal(at.Add(2 * time.Minute)) {
			t.Fatalf("last used %v after the gap", got.LastUsed)
		}
	})
	t.Run("revoke keeps the row but frees the name", func(t *testing.T) {
		at := base.Add(2 * time.Hour)
		if err := ts.RevokeToken(ctx, "id1", at); err != nil {
			t.Fatal(err)
		}
		wantCode(t, ts.RevokeToken(ctx, "id1", at), CodeTokenNotFound)
		wantCode(t, ts.RevokeToken(ctx, "never", at), CodeTokenNotFound)
		got, err := ts.TokenBySecret(ctx, "vpt_one")
		if err != nil || !got.Revoked.Equal(at) {
			t.Fatalf("revoked token %+v %v", got, err)
		}
		if l, _ := ts.ListTokens(ctx, "local:alice"); len(l) != 0 {
			t.Fatalf("revoked token listed: %+v", l)
		}
		if err := ts.CreateToken(ctx, "vpt_three", mk("id3", "alice", "ci"), 10); err != nil {
			t.Fatal("name of a revoked token reused:", err)
		}
	})
	t.Run("cap holds under parallel creates", func(t *testing.T) {
		const limit = 5
		var wg sync.WaitGroup
		errs := make([]error, 40)
		for i := range errs {
			wg.Go(func() {
				errs[i] = ts.CreateToken(context.Background(), fmt.Sprint("vpt_carol", i), mk(fmt.Sprint("c", i), "carol", fmt.Sprint("n", i)), limit)
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !fault.Is(err, CodeTokenLimit):
				t.Fatalf("unexpected %v", err)
			}
		}
		if l, _ := ts.ListTokens(ctx, "local:carol"); ok != limit || len(l) != limit {
			t.Fatalf("%d created, %d listed; want %d", ok, len(l), limit)
		}
	})
}
