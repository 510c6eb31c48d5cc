package helperproto

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"sync/atomic"
	"time"
)

// DefaultSocket is where the helper listens unless configured otherwise.
const DefaultSocket = "/run/virtportal/helper.sock"

// DefaultClientTimeout leaves the helper's own per-request timeout (8 s by
// default) room to answer "unavailable" before the client gives up.
const DefaultClientTimeout = 10 * time.Second

// Client talks to the helper, one connection per request: a login is rare
// and slow (PAM hashes the password), so a pool would save nothing and a
// fresh connection means every request passes the helper's peer check.
type Client struct {
	Socket  string        // DefaultSocket when empty
	Timeout time.Duration // DefaultClientTimeout when zero; a context deadline may shorten it
}

// ids start at a random point so that two server processes' requests are
// told apart in the helper's log.
var lastID atomic.Uint64

func init() {
	var b [8]byte
	_, _ = rand.Read(b[:])
	lastID.Store(binary.BigEndian.Uint64(b[:]) >> 16)
}

// Authenticate asks the helper to check username and password with PAM. Every
// failure is an *Error: the helper's code, CodeInvalid for input the helper
// would refuse anyway, or CodeUnavailable when it cannot be reached or does
// not answer in time.
func (c *Client) Authenticate(ctx context.Context, username, password string) (UserInfo, error) {
	req := Request{Version: Version, ID: lastID.Add(1), Op: OpAuthenticate, Username: username, Password: Secret(password)}
	defer req.Password.Wipe()
	if err := req.Validate(); err != nil {
		return UserInfo{}, err
	}
	res, err := c.roundTrip(ctx, &req)
	if err != nil {
		return UserInfo{}, err
	}
	if !res.OK {
		return UserInfo{}, &Error{Code: res.Error}
	}
	return *res.User, nil
}

func (c *Client) roundTrip(ctx context.Context, req *Request) (Response, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultClientTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	socket := c.Socket
	if socket == "" {
		socket = DefaultSocket
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return Response{}, &Error{Code: CodeUnavailable, Err: err}
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	// A cancelled context (client gone) unblocks the read at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if err := WriteFrame(conn, req, MaxRequestFrame); err != nil {
		return Response{}, unavailable(ctx, err)
	}
	body, err := ReadFrame(conn, MaxResponseFrame)
	if err != nil {
		return Response{}, unavailable(ctx, err)
	}
	res, err := DecodeResponse(body, req.ID)
	if err != nil {
		// A helper that speaks nonsense is as good as none.
		return Response{}, &Error{Code: CodeUnavailable, Err: err}
	}
	return res, nil
}

func unavailable(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = errors.Join(ctxErr, err)
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Code: CodeUnavailable, Err: err}
}
