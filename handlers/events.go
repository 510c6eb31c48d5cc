package handlers

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/events"
	"github.com/virtportal/virtportal/services/tokens"
)

// events answers GET /api/v1/events: one server-sent event stream.
//
//	retry: 3000
//	id: N / event: task  / data: api.Task
//	id: N / event: guest / data: api.GuestEvent
//	event: reset (data {}): events were lost; refetch, then keep reading
//	event: end (data {"reason": "logout"|"revoked"|"expired"}), then close
//	": ping" every heartbeat
func (s *Server) events(c *gin.Context) error {
	sess, _ := sessionOf(c)
	// A browser's stream ends with its session, a script's with its API
	// token: both are keys for EndSession.
	sid, err := s.consoleBindingOf(c)
	if err != nil {
		return s.internal(c, "session id", err)
	}
	tokenID, byToken := strings.CutPrefix(sid, tokenBinding(""))
	var lastID uint64
	resume := false
	if v := c.GetHeader("Last-Event-ID"); v != "" {
		n, perr := strconv.ParseUint(v, 10, 64)
		lastID, resume = n, true
		if perr != nil {
			lastID = 0 // unreadable: too old
		}
	}
	sub, backlog, reset := s.d.Events.Subscribe(sess.Principal(), sid, resume, lastID)
	defer sub.Close()

	// The server's write timeout would cut the stream.
	rc := http.NewResponseController(c.Writer)
	_ = rc.SetWriteDeadline(time.Time{})
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	c.Status(http.StatusOK)
	w := bufio.NewWriterSize(c.Writer, 4096)
	flush := func() error {
		if err := w.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	_, _ = w.WriteString("retry: 3000\n\n")
	if reset {
		writeEvent(w, sub.Start(), "reset", struct{}{})
	}
	for _, m := range backlog {
		writeMessage(w, m)
	}
	if flush() != nil {
		return nil
	}

	tick := time.NewTicker(s.opt.Tasks.Heartbeat)
	defer tick.Stop()
	var expires time.Time
	check := func() {
		switch {
		case byToken:
			s.tokenStillValid(c, tokenID, sub)
		case sid != "":
			expires = s.sessionExpiry(c, sid, sub, expires)
		}
	}
	check()
	ctx := c.Request.Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-sub.C():
			writeMessage(w, m)
			// What else is already queued goes out in the same write.
			for more := true; more; {
				select {
				case m := <-sub.C():
					writeMessage(w, m)
				default:
					more = false
				}
			}
		case <-sub.Done():
			switch r := sub.Reason(); r {
			case events.EndReset:
				// Dropped for falling behind: the client reconnects with
				// its Last-Event-ID and resumes, or refetches.
				writeEvent(w, 0, "reset", struct{}{})
			case events.EndLogout, events.EndRevoked, events.EndExpired:
				writeEvent(w, 0, "end", api.StreamEnd{Reason: r})
			}
			_ = flush()
			return nil
		case <-tick.C:
			_, _ = w.WriteString(": ping\n\n")
			check()
		}
		if flush() != nil {
			return nil // the client went away
		}
	}
}

// sessionExpiry checks that the stream's session still exists: one that
// is gone ends the stream, "expired" past its known expiry and "revoked"
// before. A live one refreshes the stream's principal (groups and roles
// may have changed) and returns its expiry.
func (s *Server) sessionExpiry(c *gin.Context, sid string, sub *events.Sub, known time.Time) time.Time {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := s.now()
	row, err := s.d.Store.GetSession(ctx, sid, now)
	if fault.IsKind(err, fault.NotFound) {
		if !known.IsZero() && !now.Before(known) {
			sub.End(events.EndExpired)
		} else {
			sub.End(events.EndRevoked)
		}
		return known
	}
	if err != nil {
		s.log.Warn("event stream session check", "request_id", c.GetString(keyReqID), "err", err)
		return known
	}
	var data auth.SessionData
	if json.Unmarshal(row.Data, &data) == nil && data.Name != "" {
		sub.SetPrincipal(data.Principal())
	}
	return earliest(row.IdleExpires, row.AbsExpires)
}

// tokenStillValid ends a bearer caller's stream whose API token was revoked
// or expired meanwhile (revoking through the API ends it at once; this
// catches expiry and changes made elsewhere), and refreshes its principal.
func (s *Server) tokenStillValid(c *gin.Context, id string, sub *events.Sub) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	use, err := s.d.Tokens.Check(ctx, id)
	switch {
	case fault.Is(err, tokens.CodeInvalid) && use.Reason == tokens.ReasonExpired:
		sub.End(events.EndExpired)
	case fault.Is(err, tokens.CodeInvalid):
		sub.End(events.EndRevoked)
	case err != nil:
		s.log.Warn("event stream token check", "request_id", c.GetString(keyReqID), "err", err)
	default:
		sub.SetPrincipal(use.Principal)
	}
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func writeMessage(w *bufio.Writer, m events.Message) {
	writeRaw(w, m.ID, m.Event, m.Data)
}

// writeEvent writes one event; JSON has no newline, so data is one line.
func writeEvent(w *bufio.Writer, id uint64, event string, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		return
	}
	writeRaw(w, id, event, b)
}

func writeRaw(w *bufio.Writer, id uint64, event string, b []byte) {
	if id != 0 {
		_, _ = w.WriteString("id: " + strconv.FormatUint(id, 10) + "\n")
	}
	_, _ = w.WriteString("event: " + event + "\ndata: ")
	_, _ = w.Write(b)
	_, _ = w.WriteString("\n\n")
}
