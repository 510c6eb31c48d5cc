package helperproto

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// hostile is the table of inputs the issue names, plus their neighbours.
var hostile = []struct {
	name, s string
}{
	{"star", "*"},
	{"ldap injection", ")(uid=*"},
	{"backslash", `\`},
	{"NUL", "a\x00b"},
	{"10 kB", strings.Repeat("a", 10_000)},
	{"non-UTF-8", "\xff\xfe"},
	{"empty", ""},
	{"newline", "alice\nroot"},
	{"space", "alice root"},
	{"leading dot", ".alice"},
	{"65 bytes", strings.Repeat("a", 65)},
}

func TestValidUsername(t *testing.T) {
	for _, tc := range hostile {
		if ValidUsername(tc.s) {
			t.Errorf("%s: %q accepted", tc.name, truncate(tc.s, 20))
		}
	}
	for _, ok := range []string{"alice", "a", "Bob_2", "a.b-c_d@example.org", "_svc", strings.Repeat("a", 64)} {
		if !ValidUsername(ok) {
			t.Errorf("%q refused", ok)
		}
	}
}

func TestValidPassword(t *testing.T) {
	cases := []struct {
		name string
		pw   string
		ok   bool
	}{
		{"empty", "", false},
		{"NUL", "pass\x00word", false},
		{"non-UTF-8", "\xff\xfe", false},
		{"10 kB", strings.Repeat("p", 10_000), false},
		{"1025 bytes", strings.Repeat("p", 1025), false},
		{"1024 bytes", strings.Repeat("p", 1024), true},
		{"one byte", "p", true},
		{"unicode", "pässwörd 😀", true},
		{"controls and quotes", "a\"b\\c\td\u0001", true},
		{"wildcards", ")(uid=*", true}, // a password is never put into a filter
	}
	for _, tc := range cases {
		if got := ValidPassword([]byte(tc.pw)); got != tc.ok {
			t.Errorf("%s: ValidPassword = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestRequestValidate(t *testing.T) {
	good := func() Request {
		return Request{Version: 1, ID: 1, Op: OpAuthenticate, Username: "alice", Password: Secret("pw")}
	}
	r := good()
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Request){
		"version 0":    func(r *Request) { r.Version = 0 },
		"version 2":    func(r *Request) { r.Version = 2 },
		"unknown op":   func(r *Request) { r.Op = "shell" },
		"empty op":     func(r *Request) { r.Op = "" },
		"bad username": func(r *Request) { r.Username = ")(uid=*" },
		"no password":  func(r *Request) { r.Password = nil },
	} {
		r := good()
		mut(&r)
		if err := r.Validate(); Code(err) != CodeInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestSecretJSON round-trips passwords through the wire encoding and the
// hand-written decoder, including escapes Go's encoder produces.
func TestSecretJSON(t *testing.T) {
	for _, pw := range []string{"p", `"quote" \back\ /slash/`, "tab\tnl\ncr\r\b\f\u0001\u001f", "<html>&amp;", "pässwörd 控制 😀", "\u2028\u2029", strings.Repeat("\u0001", MaxPasswordLen)} {
		var buf bytes.Buffer
		req := Request{Version: 1, ID: 9, Op: OpAuthenticate, Username: "alice", Password: Secret(pw)}
		if err := WriteFrame(&buf, &req, MaxRequestFrame); err != nil {
			t.Fatalf("%q: %v", truncate(pw, 20), err)
		}
		body, err := ReadFrame(&buf, MaxRequestFrame)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeRequest(body)
		if err != nil {
			t.Fatalf("%q: %v", truncate(pw, 20), err)
		}
		if string(got.Password) != pw || got.Username != "alice" || got.ID != 9 {
			t.Errorf("round trip %q → %q", truncate(pw, 20), truncate(string(got.Password), 20))
		}
	}
	// Escapes Go never writes but other encoders may.
	for raw, want := range map[string]string{
		`"\u00e4\/"`:       "ä/",
		`"\ud83d\ude00"`:   "😀",
		`"\ud83d"`:         "\uFFFD", // a lone surrogate, as encoding/json does
		`"a\u0041"`:        "aA",
		`"\"\\\b\f\n\r\t"`: "\"\\\b\f\n\r\t",
	} {
		var s Secret
		if err := json.Unmarshal([]byte(raw), &s); err != nil || string(s) != want {
			t.Errorf("%s → %q, %v; want %q", raw, s, err, want)
		}
	}
	for _, bad := range []string{`"\x"`, `"\u12"`, `"\u12zz"`, `"abc\"`, `123`, `null`, `["a"]`} {
		var s Secret
		if err := json.Unmarshal([]byte(bad), &s); err == nil {
			t.Errorf("%s accepted as %q", bad, s)
		}
	}
	if fmt.Sprint(Secret("hunter2")) != "[redacted]" || fmt.Sprintf("%#v", Secret("hunter2")) != "[redacted]" {
		t.Error("a Secret prints")
	}
}

func TestDecodeRequestStrict(t *testing.T) {
	for name, body := range map[string]string{
		"garbage":        `{not json`,
		"array":          `[1,2]`,
		"trailing":       `{"v":1,"id":1,"op":"authenticate","username":"a","password":"p"} {}`,
		"unknown field":  `{"v":1,"id":1,"op":"authenticate","username":"a","password":"p","service":"sshd"}`,
		"password array": `{"v":1,"id":1,"op":"authenticate","username":"a","password":[1]}`,
		"negative id":    `{"v":1,"id":-1,"op":"authenticate","username":"a","password":"p"}`,
	} {
		if _, err := DecodeRequest([]byte(body)); Code(err) != CodeInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestFraming(t *testing.T) {
	frame := func(n uint32, body string) *bytes.Reader {
		b := binary.BigEndian.AppendUint32(nil, n)
		return bytes.NewReader(append(b, body...))
	}
	if _, err := ReadFrame(frame(MaxRequestFrame+1, ""), MaxRequestFrame); !errors.Is(err, ErrFrameSize) {
		t.Errorf("oversize: %v", err)
	}
	if _, err := ReadFrame(frame(0, ""), MaxRequestFrame); !errors.Is(err, ErrFrameSize) {
		t.Errorf("empty: %v", err)
	}
	if _, err := ReadFrame(frame(100, "short"), MaxRequestFrame); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated body: %v", err)
	}
	if _, err := ReadFrame(bytes.NewReader([]byte{0, 0}), MaxRequestFrame); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated header: %v", err)
	}
	if b, err := ReadFrame(frame(2, "{}"), MaxRequestFrame); err != nil || string(b) != "{}" {
		t.Errorf("good frame: %q %v", b, err)
	}
	// A writer refuses to produce a frame its reader would refuse.
	big := Response{Version: 1, OK: true, User: &UserInfo{Name: "a", Groups: []string{strings.Repeat("g", MaxResponseFrame)}}}
	if err := WriteFrame(io.Discard, &big, MaxResponseFrame); Code(err) != CodeInvalid {
		t.Errorf("oversize write: %v", err)
	}
}

func TestResponseValidate(t *testing.T) {
	ok := func() Response {
		return Response{Version: 1, ID: 5, OK: true, User: &UserInfo{Name: "alice", UID: 1000, GID: 1000, Home: "/home/alice", Shell: "/bin/bash", Groups: []string{"alice"}}}
	}
	r := ok()
	if err := r.Validate(5); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Response){
		"wrong id":          func(r *Response) { r.ID = 6 },
		"wrong version":     func(r *Response) { r.Version = 2 },
		"no user":           func(r *Response) { r.User = nil },
		"bad name":          func(r *Response) { r.User.Name = "*" },
		"control in shell":  func(r *Response) { r.User.Shell = "/bin/sh\n" },
		"empty group":       func(r *Response) { r.User.Groups = []string{""} },
		"too many groups":   func(r *Response) { r.User.Groups = make([]string, MaxGroups+1) },
		"unknown code":      func(r *Response) { r.OK, r.User, r.Error = false, nil, "maybe" },
		"error with a user": func(r *Response) { r.OK, r.Error = false, CodeBadCredentials },
	} {
		r := ok()
		mut(&r)
		if err := r.Validate(5); Code(err) != CodeInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}
