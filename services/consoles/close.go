package consoles

import (
	"context"
	"errors"

	"github.com/coder/websocket"
)

// CloseReason is why a console ended: the WebSocket close code and the
// short text the browser shows.
type CloseReason struct {
	Code websocket.StatusCode
	Text string
}

func (r *CloseReason) Error() string { return r.Text }

// Close codes of consoles the portal ends; 4000–4999 is the range RFC 6455
// leaves to applications. The server's shutdown uses 1001 (going away), a
// console whose guest side ended while the guest runs 1000.
const (
	CloseGuestStopped  websocket.StatusCode = 4001
	CloseAccessRevoked websocket.StatusCode = 4003
	CloseLoggedOut     websocket.StatusCode = 4004
	CloseSessionEnded  websocket.StatusCode = 4005
	CloseIdle          websocket.StatusCode = 4008
)

// The reasons a console ends.
var (
	ReasonGuestStopped = &CloseReason{CloseGuestStopped, "guest stopped"}
	ReasonRevoked      = &CloseReason{CloseAccessRevoked, "access revoked"}
	ReasonLoggedOut    = &CloseReason{CloseLoggedOut, "logged out"}
	ReasonSessionEnded = &CloseReason{CloseSessionEnded, "session ended"}
	ReasonIdle         = &CloseReason{CloseIdle, "idle"}
	ReasonShutdown     = &CloseReason{websocket.StatusGoingAway, "server shutting down"}
	ReasonGuestClosed  = &CloseReason{websocket.StatusNormalClosure, "console closed"}
	// The two below are never sent: the browser is gone or closed first.
	ReasonClientClosed = &CloseReason{websocket.StatusNormalClosure, "closed by the browser"}
	ReasonNoPong       = &CloseReason{websocket.StatusGoingAway, "keepalive timeout"}
)

// causeReason is the *CloseReason a context was cancelled with.
func causeReason(ctx context.Context) *CloseReason {
	var r *CloseReason
	if errors.As(context.Cause(ctx), &r) {
		return r
	}
	return ReasonShutdown
}
