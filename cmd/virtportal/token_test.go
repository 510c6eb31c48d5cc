package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtportal/virtportal/services/tokens"
	"github.com/virtportal/virtportal/store"
)

func TestTokenCommands(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	env := func(string) string { return "" }
	var out, errOut bytes.Buffer
	do := func(args ...string) error {
		out.Reset()
		errOut.Reset()
		full := append([]string{args[0], args[1], "--data-dir", dir}, args[2:]...)
		return run(ctx, full, strings.NewReader("s3cret-pass\n"), &out, &errOut, env)
	}
	if err := do("user", "add", "--password-stdin", "carol"); err != nil {
		t.Fatal(err)
	}

	if err := do("token", "create", "--user", "local:carol", "--name", "nightly backup", "--expires", "10d"); err != nil {
		t.Fatal(err, errOut.String())
	}
	var secret, id string
	for _, f := range strings.Fields(out.String()) {
		if strings.HasPrefix(f, tokens.SecretPrefix) {
			secret = f
		}
	}
	if _, rest, ok := strings.Cut(out.String(), "token "); ok {
		id = strings.Fields(rest)[0]
	}
	if secret == "" || id == "" {
		t.Fatalf("create printed %q", out.String())
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown user", []string{"token", "create", "--user", "local:nobody", "--name", "x"}, "unknown_user"},
		{"no owner", []string{"token", "create", "--name", "x"}, "--user"},
		{"bad name", []string{"token", "create", "--user", "local:carol", "--name", "a\x1bb"}, "name"},
		{"too long", []string{"token", "create", "--user", "local:carol", "--expires", "400d", "--name", "y"}, "365"},
		{"zero days", []string{"token", "create", "--user", "local:carol", "--expires", "0d", "--name", "y"}, "days"},
		{"unknown realm", []string{"token", "create", "--user", "ldap:carol", "--name", "y"}, "not enabled"},
		{"revoke unknown", []string{"token", "revoke", "nope"}, "no such token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := do(tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to mention %q", err, tc.want)
			}
		})
	}

	t.Run("revoke without id", func(t *testing.T) {
		if err := run(ctx, []string{"token", "revoke"}, nil, io.Discard, io.Discard, env); err == nil || !strings.Contains(err.Error(), "missing ID") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("help answers and exits 0", func(t *testing.T) {
		for _, args := range [][]string{{"token", "--help"}, {"token", "-h"}, {"token", "create", "--help"}, {"token", "list", "-h"}} {
			out.Reset()
			if err := run(ctx, args, nil, &out, io.Discard, env); err != nil {
				t.Fatalf("%v: %v", args, err)
			}
			if !strings.Contains(out.String(), "virtportal token create") {
				t.Fatalf("%v printed %q", args, out.String())
			}
		}
	})

	if err := do("token", "list"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), id) || !strings.Contains(out.String(), "local:carol") || strings.Contains(out.String(), secret) {
		t.Fatalf("list: %s", out.String())
	}

	st, err := store.Open(ctx, filepath.Join(dir, "virtportal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if tok, err := st.TokenBySecret(ctx, secret); err != nil || tok.ID != id {
		t.Fatalf("the printed secret finds %+v %v", tok, err)
	}

	if err := run(ctx, []string{"token", "revoke", id, "--data-dir", dir}, nil, &out, io.Discard, env); err != nil {
		t.Fatal(err)
	}
	if tok, _ := st.Token(ctx, id); tok.Revoked.IsZero() {
		t.Fatal("token not revoked")
	}
	if err := do("token", "list", "--user", "local:carol"); err != nil || strings.Contains(out.String(), id) {
		t.Fatalf("revoked token listed: %v %s", err, out.String())
	}
	evs, err := st.ListAudit(ctx, store.AuditFilter{Action: "token.*"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Action+" "+e.Target)
		if !strings.HasPrefix(e.Actor, "cli") {
			t.Fatalf("actor %q", e.Actor)
		}
	}
	if strings.Join(got, ",") != "token.revoke token:"+id+",token.create token:"+id {
		t.Fatalf("audit %v", got)
	}
}
