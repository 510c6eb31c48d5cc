// Package helperproto is the protocol between the unprivileged server and
// virtportal-helper, the root process that authenticates users with PAM on
// its behalf (DESIGN.md §7). Both sides import it, so the framing, the limits
// and the validation of every field are written once.
//
// Wire format, over a Unix stream socket: one request frame, then one
// response frame, then the connection is closed. A frame is a 4-byte
// big-endian length followed by that many bytes of JSON. Requests are capped
// at MaxRequestFrame and responses at MaxResponseFrame; a larger length is
// refused before its body is read.
//
//	request:  {"v":1,"id":7,"op":"authenticate","username":"alice","password":"…"}
//	response: {"v":1,"id":7,"ok":true,"user":{"name":"alice","uid":1000,"gid":1000,
//	           "home":"/home/alice","shell":"/bin/bash","groups":["alice","sudo"]}}
//	          {"v":1,"id":7,"ok":false,"error":"bad_credentials"}
//
// The PAM service is fixed by the helper's configuration; a client cannot
// choose it.
package helperproto

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// Version is the protocol version this package speaks.
const Version = 1

// OpAuthenticate checks a username and password with PAM and returns the
// user's identity and groups from NSS.
const OpAuthenticate = "authenticate"

// Limits of the protocol.
const (
	// MaxRequestFrame bounds a request: a name, a password and a little JSON.
	MaxRequestFrame = 8 << 10
	// MaxResponseFrame bounds a response, larger than a request because a
	// user may belong to many groups.
	MaxResponseFrame = 64 << 10
	// MaxUsernameLen is shorter than auth.MaxUsernameLen: system account
	// names are at most 32 bytes on Linux, so 64 leaves room for NSS backends.
	MaxUsernameLen = 64
	// MaxPasswordLen matches auth.MaxPasswordLen.
	MaxPasswordLen = 1024
	// MaxGroups and MaxGroupLen bound the groups of one user in a response.
	MaxGroups   = 1024
	MaxGroupLen = 256
	// MaxPathLen bounds the home directory and shell in a response.
	MaxPathLen = 4096
)

// Error codes in a response.
const (
	CodeBadCredentials = "bad_credentials" // wrong password
	CodeUnknownUser    = "unknown_user"    // no such user in PAM or NSS
	CodeDisabled       = "disabled"        // expired, locked, or a system account
	CodeInvalid        = "invalid"         // malformed frame or field
	CodeRateLimited    = "rate_limited"    // too many requests, globally or for this user
	CodeBusy           = "busy"            // too many requests in flight
	CodeUnavailable    = "unavailable"     // PAM or NSS did not answer in time, or the helper cannot be reached
	CodeInternal       = "internal"        // anything else; details are in the helper's log
)

var knownCodes = map[string]bool{
	CodeBadCredentials: true, CodeUnknownUser: true, CodeDisabled: true, CodeInvalid: true,
	CodeRateLimited: true, CodeBusy: true, CodeUnavailable: true, CodeInternal: true,
}

// Error is a failed request: a code from the helper, or CodeInvalid and
// CodeUnavailable produced by the client itself (Err then holds the cause).
type Error struct {
	Code string
	Err  error // local cause, for logs; nil when the helper sent the code
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return "helper: " + e.Code + ": " + e.Err.Error()
	}
	return "helper: " + e.Code
}

// Unwrap returns the local cause.
func (e *Error) Unwrap() error { return e.Err }

// Code returns the code of err if it is an *Error, else CodeInternal.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

func errInvalid(format string, args ...any) error {
	return &Error{Code: CodeInvalid, Err: fmt.Errorf(format, args...)}
}

// Request is what the server asks.
type Request struct {
	Version  int    `json:"v"`
	ID       uint64 `json:"id"`
	Op       string `json:"op"`
	Username string `json:"username"`
	Password Secret `json:"password"`
}

// Response is what the helper answers.
type Response struct {
	Version int       `json:"v"`
	ID      uint64    `json:"id"`
	OK      bool      `json:"ok"`
	Error   string    `json:"error,omitempty"`
	User    *UserInfo `json:"user,omitempty"`
}

// UserInfo is an authenticated user as NSS knows them.
type UserInfo struct {
	Name   string   `json:"name"` // canonical name, which may differ from the one typed
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Home   string   `json:"home"`
	Shell  string   `json:"shell"`
	Groups []string `json:"groups"` // primary group first, then supplementary groups
}

// usernameRE is auth.ValidUsername's pattern, repeated here because auth
// imports this package; a test in auth checks that the two agree.
var usernameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._@-]*$`)

// ValidUsername reports whether name may be sent to PAM: the characters that
// auth.ValidUsername allows, at most MaxUsernameLen bytes.
func ValidUsername(name string) bool {
	return len(name) > 0 && len(name) <= MaxUsernameLen && usernameRE.MatchString(name)
}

// ValidPassword reports whether pw may be sent to PAM: 1 to MaxPasswordLen
// bytes of UTF-8 without NUL, which C strings could not carry anyway.
func ValidPassword(pw []byte) bool {
	return len(pw) > 0 && len(pw) <= MaxPasswordLen && bytes.IndexByte(pw, 0) < 0 && utf8.Valid(pw)
}

// Validate checks every field of a request.
func (r *Request) Validate() error {
	switch {
	case r.Version != Version:
		return errInvalid("unsupported version %d", r.Version)
	case r.Op != OpAuthenticate:
		return errInvalid("unknown operation %q", truncate(r.Op, 32))
	case !ValidUsername(r.Username):
		return errInvalid("invalid username")
	case !ValidPassword(r.Password):
		return errInvalid("invalid password")
	}
	return nil
}

// validText accepts printable UTF-8 without NUL or control characters.
func validText(s string, maxLen int) bool {
	if len(s) > maxLen || !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// Validate checks a response before the server trusts it.
func (r *Response) Validate(id uint64) error {
	if r.Version != Version {
		return errInvalid("response version %d", r.Version)
	}
	if r.ID != id {
		return errInvalid("response id %d for request %d", r.ID, id)
	}
	if !r.OK {
		if !knownCodes[r.Error] || r.User != nil {
			return errInvalid("response error %q", truncate(r.Error, 32))
		}
		return nil
	}
	u := r.User
	if r.Error != "" || u == nil {
		return errInvalid("success without a user")
	}
	if !ValidUsername(u.Name) || !validText(u.Home, MaxPathLen) || !validText(u.Shell, MaxPathLen) || len(u.Groups) > MaxGroups {
		return errInvalid("malformed user")
	}
	for _, g := range u.Groups {
		if g == "" || !validText(g, MaxGroupLen) {
			return errInvalid("malformed group name")
		}
	}
	return nil
}

// Secret is a password kept in a byte slice, so that the helper can wipe it
// once PAM has seen it; it never prints.
type Secret []byte

// String keeps the password out of logs and error messages.
func (Secret) String() string { return "[redacted]" }

// GoString keeps the password out of %#v.
func (Secret) GoString() string { return "[redacted]" }

// Wipe overwrites the secret with zeros.
func (s Secret) Wipe() { clear(s) }

// MarshalJSON encodes the secret as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) {
	if !utf8.Valid(s) {
		return nil, errors.New("password is not UTF-8")
	}
	return json.Marshal(string(s))
}

// UnmarshalJSON decodes a JSON string into fresh bytes without making an
// immutable Go string of it, which could not be wiped.
func (s *Secret) UnmarshalJSON(data []byte) error {
	out, err := unquote(data)
	if err != nil {
		return err
	}
	*s = out
	return nil
}

// unquote decodes a JSON string literal (RFC 8259 §7).
func unquote(data []byte) ([]byte, error) {
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return nil, errors.New("password is not a JSON string")
	}
	in := data[1 : len(data)-1]
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 >= len(in) {
			return nil, errors.New("bad escape")
		}
		i++
		switch in[i] {
		case '"', '\\', '/':
			out = append(out, in[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, n, ok := hex4(in[i+1:])
			if !ok {
				return nil, errors.New("bad \\u escape")
			}
			i += n
			if utf16IsHigh(r) {
				// A surrogate pair: \uD83D\uDE00.
				if i+2 < len(in) && in[i+1] == '\\' && in[i+2] == 'u' {
					if lo, n2, ok := hex4(in[i+3:]); ok && utf16IsLow(lo) {
						r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
						i += 2 + n2
					}
				}
			}
			if utf16IsHigh(r) || utf16IsLow(r) {
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, errors.New("bad escape")
		}
	}
	return out, nil
}

func hex4(b []byte) (rune, int, bool) {
	if len(b) < 4 {
		return 0, 0, false
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 32)
	if err != nil {
		return 0, 0, false
	}
	return rune(n), 4, true
}

func utf16IsHigh(r rune) bool { return r >= 0xD800 && r < 0xDC00 }
func utf16IsLow(r rune) bool  { return r >= 0xDC00 && r < 0xE000 }

// WriteFrame writes v as one frame of at most limit bytes.
func WriteFrame(w io.Writer, v any, limit int) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	defer clear(body) // the request body holds the password
	if len(body) > limit {
		return errInvalid("frame of %d bytes exceeds %d", len(body), limit)
	}
	buf := make([]byte, 4+len(body))
	defer clear(buf)
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	copy(buf[4:], body)
	_, err = w.Write(buf)
	return err
}

// ErrFrameSize is returned by ReadFrame for an empty frame or one above its cap.
var ErrFrameSize = errors.New("frame size out of range")

// ReadFrame reads one frame of at most limit bytes. The caller owns the
// returned body and should clear it when it held a password.
func ReadFrame(r io.Reader, limit int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > uint32(limit) {
		return nil, fmt.Errorf("%w: %d bytes (cap %d)", ErrFrameSize, n, limit)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		clear(body)
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return body, nil
}

// DecodeRequest parses a request frame strictly: one JSON object with no
// unknown fields. It does not validate the fields (see Request.Validate).
// json.Unmarshal hands the password to Secret straight from body, whereas a
// json.Decoder would leave a copy in its own buffer that nobody could wipe.
func DecodeRequest(body []byte) (Request, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(body, &keys); err != nil {
		return Request{}, errInvalid("request is not a JSON object: %v", err)
	}
	for k, v := range keys {
		clear(v) // RawMessage copies the value, password included
		switch k {
		case "v", "id", "op", "username", "password":
		default:
			return Request{}, errInvalid("unknown request field %q", truncate(k, 32))
		}
	}
	var r Request
	if err := json.Unmarshal(body, &r); err != nil {
		r.Password.Wipe()
		return Request{}, errInvalid("malformed request: %v", err)
	}
	return r, nil
}

// DecodeResponse parses a response frame strictly and validates it against
// the request id.
func DecodeResponse(body []byte, id uint64) (Response, error) {
	var r Response
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Response{}, errInvalid("malformed response: %v", err)
	}
	if dec.More() {
		return Response{}, errInvalid("trailing data after the response")
	}
	return r, r.Validate(id)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
