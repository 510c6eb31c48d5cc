package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtportal/virtportal/store"
)

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(file, []byte("listen: 10.0.0.1:1\nlibvirt:\n  uri: qemu+ssh://file/system\n  stats_interval: 7s\nlimits:\n  request_body: 2MiB\ntrusted_proxies: [127.0.0.1]\nrealms:\n  pam:\n    enabled: true\n    min_uid: 500\n    roles:\n      admin_groups: [ops]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(Config) bool
		wantErr string
	}{
		{"defaults", nil, nil, func(c Config) bool {
			return c.Listen == "127.0.0.1:8080" && c.Libvirt.URI == "qemu:///system" && c.Limits.RequestBody == 1<<20 && c.Realms.Local.Enabled
		}, ""},
		{"file", []string{"--config", file}, nil, func(c Config) bool {
			return c.Listen == "10.0.0.1:1" && c.Libvirt.URI == "qemu+ssh://file/system" && c.Libvirt.StatsInterval == 7*time.Second &&
				c.Limits.RequestBody == 2<<20 && len(c.TrustedProxies) == 1 &&
				c.Realms.PAM.Enabled && c.Realms.PAM.MinUID == 500 && c.Realms.PAM.Roles.AdminGroups[0] == "ops" &&
				c.Realms.PAM.Socket != "" // an inline default survives a partial section
		}, ""},
		{"inline realm keys from env and flags", []string{"--realms-ldap-urls", "ldap://a,ldap://b"}, map[string]string{"VIRTPORTAL_REALMS_PAM_MIN_UID": "2000"}, func(c Config) bool {
			return c.Realms.PAM.MinUID == 2000 && len(c.Realms.LDAP.URLs) == 2 && c.Realms.LDAP.URLs[1] == "ldap://b"
		}, ""},
		{"env over file", []string{"--config", file}, map[string]string{"VIRTPORTAL_LIBVIRT_URI": "test:///env.xml", "VIRTPORTAL_DEMO": "true"}, func(c Config) bool {
			return c.Libvirt.URI == "test:///env.xml" && c.Listen == "10.0.0.1:1" && c.Demo
		}, ""},
		{"flag over env", []string{"--config", file, "--libvirt-uri", "test:///flag.xml", "--demo=false", "--session-idle-timeout", "5m"},
			map[string]string{"VIRTPORTAL_LIBVIRT_URI": "test:///env.xml", "VIRTPORTAL_DEMO": "true"}, func(c Config) bool {
				return c.Libvirt.URI == "test:///flag.xml" && !c.Demo && c.Session.IdleTimeout == 5*time.Minute
			}, ""},
		{"config from env", nil, map[string]string{"VIRTPORTAL_CONFIG": file}, func(c Config) bool { return c.Listen == "10.0.0.1:1" }, ""},
		{"bare bool flag", []string{"--allow-root"}, nil, func(c Config) bool { return c.AllowRoot }, ""},
		{"bad duration", []string{"--timeouts-read", "soon"}, nil, nil, "--timeouts-read"},
		{"bad size", nil, map[string]string{"VIRTPORTAL_LIMITS_REQUEST_BODY": "lots"}, nil, "VIRTPORTAL_LIMITS_REQUEST_BODY"},
		{"unknown flag", []string{"--nope"}, nil, nil, "nope"},
		{"stray argument", []string{"extra"}, nil, nil, "unexpected argument"},
		{"missing file", []string{"--config", filepath.Join(dir, "none.yaml")}, nil, nil, "none.yaml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c, err := loadConfig(fs, tc.args, func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Fatalf("config %+v", c)
			}
		})
	}
}

func TestUnknownKeyInFileIsAnError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("lisen: 1.2.3.4:5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	if _, err := loadConfig(fs, []string{"--config", file}, func(string) string { return "" }); err == nil {
		t.Fatal("a misspelt key was accepted")
	}
}

func TestRefusesRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this suite runs as root (as CI does) to check the root refusal; run it as root")
	}
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"serve", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0"}, nil, &out, &errb, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "refusing to run as root") {
		t.Fatalf("err %v", err)
	}
}

func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	env := func(string) string { return "" }
	var out bytes.Buffer
	// The data dir goes right after "user SUB": flags come before the name.
	do := func(stdin string, args ...string) error {
		out.Reset()
		full := append([]string{args[0], args[1], "--data-dir", dir}, args[2:]...)
		return run(context.Background(), full, strings.NewReader(stdin), &out, io.Discard, env)
	}
	if err := do("s3cret-pass\n", "user", "add", "--admin", "--password-stdin", "root2"); err != nil {
		t.Fatal(err)
	}
	if err := do("", "user", "add", "bob"); err != nil || !strings.Contains(out.String(), "password for bob: ") {
		t.Fatalf("generated password not printed: %v %q", err, out.String())
	}
	if err := do("", "user", "add", "bob"); err == nil {
		t.Fatal("duplicate user added")
	}
	if err := do("", "user", "add", "b*b"); err == nil {
		t.Fatal("wildcard name accepted")
	}
	out.Reset()
	if err := run(context.Background(), []string{"user", "list", "--data-dir", dir}, nil, &out, io.Discard, env); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "root2") || !strings.Contains(out.String(), "bob") {
		t.Fatalf("list: %s", out.String())
	}
	if err := do("", "user", "del", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := do("", "user", "del", "bob"); err == nil {
		t.Fatal("deleting a missing user succeeded")
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "virtportal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, err := st.ListAudit(context.Background(), store.AuditFilter{Action: "user.*"})
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
	if strings.Join(got, ",") != "user.del user:local:bob,user.add user:local:bob,user.add user:local:root2" {
		t.Fatalf("audit %v", got)
	}
}

// A password reset ends the user's sessions (it usually follows a leak)
// and forgets their failed logins.
func TestPasswdEndsSessions(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	env := func(string) string { return "" }
	user := func(args ...string) {
		t.Helper()
		full := append([]string{"user", args[0], "--data-dir", dir, "--password-stdin"}, args[1:]...)
		if err := run(ctx, full, strings.NewReader("s3cret-pass\n"), io.Discard, io.Discard, env); err != nil {
			t.Fatal(err)
		}
	}
	user("add", "carol")
	st, err := store.Open(ctx, filepath.Join(dir, "virtportal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	for _, s := range []store.Session{{ID: "carols", Identity: "local:carol"}, {ID: "others", Identity: "local:dave"}} {
		s.Created, s.LastSeen, s.IdleExpires, s.AbsExpires = now, now, now.Add(time.Hour), now.Add(time.Hour)
		if err := st.SaveSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"id:local:carol", "pair:local:carol|192.0.2.1", "pair:local:carola|192.0.2.1"} {
		if _, err := st.AddFailure(ctx, k, now, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	user("passwd", "carol")
	// Regression (issue 8 §7): the reset clears carol's failed logins.
	for k, want := range map[string]int{"id:local:carol": 0, "pair:local:carol|192.0.2.1": 0, "pair:local:carola|192.0.2.1": 1} {
		if th, err := st.GetThrottle(ctx, k); err != nil || th.Failures != want {
			t.Errorf("%s: %d failures after passwd (%v), want %d", k, th.Failures, err, want)
		}
	}
	if _, err := st.GetSession(ctx, "carols", now); err == nil {
		t.Error("carol's session outlived the password reset")
	}
	if _, err := st.GetSession(ctx, "others", now); err != nil {
		t.Errorf("another user's session ended: %v", err)
	}
}

// The documented example must stay loadable and list every setting.
func TestExampleConfig(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c, err := loadConfig(fs, []string{"--config", "../../virtportal.example.yaml"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != defaults().Listen || c.Realms.PAM.Enabled || c.Realms.LDAP.Enabled || !c.Realms.Local.Enabled {
		t.Fatalf("example is not the defaults: %+v", c)
	}
	raw, err := os.ReadFile("../../virtportal.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings(&c) {
		leaf := s.key[strings.LastIndex(s.key, ".")+1:]
		if !strings.Contains(string(raw), leaf+":") {
			t.Errorf("the example does not document %s", s.key)
		}
	}
}

func TestHostRegistry(t *testing.T) {
	cases := []struct {
		name    string
		yaml    string
		want    []HostConfig
		wantErr string
	}{
		{"libvirt.uri is the host local", "libvirt:\n  uri: qemu:///system\n", []HostConfig{{Name: "local", URI: "qemu:///system"}}, ""},
		{"one named host", "hosts:\n  - name: kvm1\n    uri: qemu+ssh://kvm1/system\n", []HostConfig{{Name: "kvm1", URI: "qemu+ssh://kvm1/system"}}, ""},
		{"two hosts", "hosts:\n  - {name: a, uri: 'qemu:///system'}\n  - {name: b, uri: 'qemu+ssh://b/system'}\n", nil, "connects 1 host"},
		{"bad name", "hosts:\n  - {name: 'a/../b', uri: 'qemu:///system'}\n", nil, "hosts[0].name"},
		{"no uri", "hosts:\n  - {name: a}\n", nil, "uri is empty"},
		{"unknown key", "hosts:\n  - {name: a, uri: 'qemu:///system', url: x}\n", nil, "url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(file, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c, err := loadConfig(fs, []string{"--config", file}, func(string) string { return "" })
			var hosts []HostConfig
			if err == nil {
				hosts, err = c.hostList()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(hosts) != len(tc.want) || hosts[0] != tc.want[0] {
				t.Fatalf("hosts %+v, %v; want %+v", hosts, err, tc.want)
			}
		})
	}
}

// Regression (issue 8 §7): an idle timeout under a minute logged out active
// users; serve refuses it before anything starts.
func TestServeRefusesShortIdleTimeout(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--session-idle-timeout", "30s"}, "session.idle_timeout 30s is under the minimum"},
		{[]string{"--session-idle-timeout", "2h", "--session-absolute-timeout", "1h"}, "shorter than session.idle_timeout"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append([]string{"serve", "--data-dir", t.TempDir()}, tc.args...)
			err := run(context.Background(), args, nil, io.Discard, io.Discard, func(string) string { return "" })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// Regression (issue 8 §9): every command and subcommand answers -h and
// --help with its usage on stdout, and that is no error (exit 0).
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "virtportal serve [flags]"},
		{[]string{"serve"}, "Usage: virtportal serve"},
		{[]string{"migrate"}, "Usage: virtportal migrate"},
		{[]string{"version"}, "Usage: virtportal version"},
		{[]string{"user"}, "virtportal user add"},
		{[]string{"user", "add"}, "Usage: virtportal user add"},
		{[]string{"user", "add", "--admin"}, "Usage: virtportal user add"},
		{[]string{"user", "passwd"}, "Usage: virtportal user passwd"},
		{[]string{"user", "del"}, "Usage: virtportal user del"},
		{[]string{"user", "list"}, "Usage: virtportal user list"},
		{[]string{"token"}, "virtportal token create"},
		{[]string{"token", "create"}, "virtportal token create"},
		{[]string{"token", "revoke"}, "virtportal token create"},
	} {
		for _, flag := range []string{"-h", "--help", "help"} {
			args := append(append([]string{}, tc.args...), flag)
			if flag == "help" {
				args = append([]string{"help"}, tc.args...)
			}
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var out, errOut bytes.Buffer
				err := run(context.Background(), args, strings.NewReader(""), &out, &errOut, func(string) string { return "" })
				if err != nil || !strings.Contains(out.String(), tc.want) || errOut.Len() != 0 {
					t.Fatalf("err %v, stdout %q, stderr %q; want %q on stdout", err, out.String(), errOut.String(), tc.want)
				}
				if strings.Contains(tc.want, "[flags]") && tc.args != nil && !strings.Contains(out.String(), "-data-dir") {
					t.Fatalf("flags not listed: %s", out.String())
				}
			})
		}
	}
	if err := run(context.Background(), []string{"nosuch", "--help"}, nil, io.Discard, io.Discard, func(string) string { return "" }); err == nil {
		t.Fatal("help for an unknown command succeeded")
	}
}
