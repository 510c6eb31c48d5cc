package cidata

import (
	"bytes"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

func TestUserData(t *testing.T) {
	tests := []struct {
		name string
		ci   api.CloudInit
		host string
		want map[string]any // keys that must hold these values
		code *fault.Code
	}{
		{name: "user with key and hash", ci: api.CloudInit{User: "ana", SSHKeys: []string{"ssh-ed25519 AAAA ana@x", " "}, PasswordHash: "$6$salt$hash"}, host: "web-1",
			want: map[string]any{"hostname": "web-1", "ssh_pwauth": true}},
		{name: "keys without a user go to the default user", ci: api.CloudInit{SSHKeys: []string{"ssh-rsa BBBB"}},
			want: map[string]any{"ssh_authorized_keys": []any{"ssh-rsa BBBB"}}},
		{name: "extra user-data merged, ours win", ci: api.CloudInit{User: "bo", UserData: "#cloud-config\npackages: [nginx]\nhostname: evil\n"}, host: "h",
			want: map[string]any{"packages": []any{"nginx"}, "hostname": "h", "ssh_pwauth": false}},
		{name: "YAML injection in a user name stays a string", ci: api.CloudInit{User: "x: y\" runcmd: [reboot]"},
			want: map[string]any{}},
		{name: "a new line in a user name", ci: api.CloudInit{User: "x\nruncmd: [reboot]"}, code: &CodeInvalidUserData},
		{name: "not a mapping", ci: api.CloudInit{UserData: "- a\n- b\n"}, code: &CodeInvalidUserData},
		{name: "not YAML", ci: api.CloudInit{UserData: "a: [b\n"}, code: &CodeInvalidUserData},
		{name: "too large", ci: api.CloudInit{UserData: "a: " + strings.Repeat("b", MaxUserData)}, code: &CodeInvalidUserData},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := UserData(tc.ci, tc.host)
			if tc.code != nil {
				if !fault.Is(err, *tc.code) {
					t.Fatalf("err = %v, want %s", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(out, []byte("#cloud-config\n")) {
				t.Fatalf("no #cloud-config line:\n%s", out)
			}
			var doc map[string]any
			if err := yaml.Unmarshal(out, &doc); err != nil {
				t.Fatalf("output is not YAML: %v\n%s", err, out)
			}
			if _, ok := doc["runcmd"]; ok {
				t.Fatalf("injected key appeared:\n%s", out)
			}
			for k, v := range tc.want {
				got, _ := yaml.Marshal(doc[k])
				exp, _ := yaml.Marshal(v)
				if !bytes.Equal(got, exp) {
					t.Errorf("%s = %s, want %s", k, got, exp)
				}
			}
			if tc.ci.User != "" {
				users, _ := doc["users"].([]any)
				if len(users) != 2 {
					t.Fatalf("users = %v", doc["users"])
				}
				u := users[1].(map[string]any)
				if u["name"] != tc.ci.User {
					t.Errorf("user name = %q, want %q", u["name"], tc.ci.User)
				}
				if tc.ci.PasswordHash != "" && u["passwd"] != tc.ci.PasswordHash {
					t.Errorf("passwd = %v", u["passwd"])
				}
			}
		})
	}
}

func TestSeedISORoundTrip(t *testing.T) {
	s, err := Build(api.CloudInit{User: "ana", SSHKeys: []string{"ssh-ed25519 AAAA"}}, "web-1", "iid-1")
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.ISO()
	if err != nil {
		t.Fatal(err)
	}
	if len(img)%2048 != 0 {
		t.Fatalf("image of %d bytes is not whole sectors", len(img))
	}
	got, err := ReadISO(img)
	if err != nil {
		t.Fatal(err)
	}
	if got.VolumeID != VolumeID || !got.Joliet {
		t.Fatalf("volume id %q joliet %v", got.VolumeID, got.Joliet)
	}
	for _, f := range s.Files() {
		if !bytes.Equal(got.Files[f.Name], f.Data) {
			t.Errorf("%s = %q, want %q", f.Name, got.Files[f.Name], f.Data)
		}
	}
	if !bytes.Contains(got.Files["meta-data"], []byte("local-hostname: web-1")) {
		t.Errorf("meta-data:\n%s", got.Files["meta-data"])
	}
	// The primary tree carries the same files for readers without Joliet.
	copy(img[17*2048:17*2048+1], []byte{0xff}) // the SVD becomes the terminator
	prim, err := ReadISO(img)
	if err != nil {
		t.Fatal(err)
	}
	if prim.Joliet || !bytes.Equal(prim.Files["user_data"], s.UserData) {
		t.Errorf("primary tree: %v %q", prim.Joliet, prim.Files)
	}
}

func TestWriteISORefuses(t *testing.T) {
	for name, files := range map[string][]File{
		"none":      nil,
		"slash":     {{Name: "../x"}},
		"repeated":  {{Name: "a"}, {Name: "a"}},
		"long name": {{Name: strings.Repeat("a", MaxFileName+1)}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := WriteISO("cidata", files); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func FuzzUserData(f *testing.F) {
	f.Add("ana", "ssh-ed25519 AAAA", "$6$x$y", "web-1", "#cloud-config\npackages: [a]\n")
	f.Add("", "", "", "", "")
	f.Add("a: b", "\n- x", "'", "h\nx: y", "runcmd: [[\"sh\", \"-c\", \"id\"]]")
	f.Fuzz(func(t *testing.T, user, key, hash, host, extra string) {
		out, err := UserData(api.CloudInit{User: user, SSHKeys: []string{key}, PasswordHash: hash, UserData: extra}, host)
		if err != nil {
			if !fault.Is(err, CodeInvalidUserData) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		var doc map[string]any
		if err := yaml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("output is not YAML: %v\n%s", err, out)
		}
		if host != "" && doc["hostname"] != host {
			t.Fatalf("hostname = %#v, want %q", doc["hostname"], host)
		}
		if user != "" {
			users, _ := doc["users"].([]any)
			if len(users) != 2 {
				t.Fatalf("users = %#v", doc["users"])
			}
			if u, _ := users[1].(map[string]any); u == nil || u["name"] != user {
				t.Fatalf("user = %#v, want %q", users[1], user)
			}
		}
	})
}
