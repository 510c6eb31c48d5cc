package auth

import (
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %s", h)
	}
	h2, _ := HashPassword("s3cret")
	if h == h2 {
		t.Fatal("no salt")
	}
	cases := []struct {
		name, hash, pw string
		ok             bool
		err            bool
	}{
		{"right", h, "s3cret", true, false},
		{"wrong", h, "s3cret!", false, false},
		{"empty", h, "", false, false},
		{"not argon2id", "$2y$10$abc", "s3cret", false, true},
		{"huge memory", strings.Replace(h, "m=19456", "m=99999999", 1), "s3cret", false, true},
		{"garbage", "$argon2id$v=19$m=1,t=1,p=1$!!$!!", "x", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := VerifyPassword(tc.hash, tc.pw)
			if ok != tc.ok || (err != nil) != tc.err {
				t.Fatalf("got %v %v", ok, err)
			}
		})
	}
}

func TestValidUsername(t *testing.T) {
	for name, want := range map[string]bool{
		"alice": true, "a.b-c_d": true, "alice@example.org": true, "Bob2": true,
		"": false, "*": false, "a*": false, ")(uid=*": false, `a\b`: false, "a\x00": false, "a b": false,
		"-rf": false, ".hidden": false, "a/b": false, "caf\xe9": false, strings.Repeat("a", 257): false,
	} {
		if got := ValidUsername(name); got != want {
			t.Errorf("ValidUsername(%q) = %v", name, got)
		}
	}
}
