package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// statusOf is the one table from error kinds to HTTP statuses.
var statusOf = map[fault.Kind]int{
	fault.Internal:        http.StatusInternalServerError,
	fault.Invalid:         http.StatusBadRequest,
	fault.Unprocessable:   http.StatusUnprocessableEntity,
	fault.Unauthenticated: http.StatusUnauthorized,
	fault.Forbidden:       http.StatusForbidden,
	fault.NotFound:        http.StatusNotFound,
	fault.Conflict:        http.StatusConflict,
	fault.Gone:            http.StatusGone,
	fault.TooLarge:        http.StatusRequestEntityTooLarge,
	fault.Unsupported:     http.StatusUnsupportedMediaType,
	fault.RateLimited:     http.StatusTooManyRequests,
	fault.NotImplemented:  http.StatusNotImplemented,
	fault.Unavailable:     http.StatusServiceUnavailable,
	fault.Timeout:         http.StatusGatewayTimeout,
	fault.WrongMethod:     http.StatusMethodNotAllowed,
	fault.UpgradeRequired: http.StatusUpgradeRequired,
}

// wireError turns err into the wire error: a fault keeps its code and
// message (an internal one only its opaque message); anything else is an
// opaque 500 whose cause is logged.
func (s *Server) wireError(c *gin.Context, err error) *api.Error {
	if f := fault.As(err); f != nil {
		// An internal fault without a cause was logged where it arose.
		if f.Code.Kind == fault.Internal && errors.Unwrap(f) != nil {
			s.log.Error("internal error", "request_id", c.GetString(keyReqID), "path", c.Request.URL.Path, "err", err)
		}
		if f.RetryAfter > 0 {
			retryAfter(c, f.RetryAfter)
		}
		e := &api.Error{Status: statusOf[f.Code.Kind], Code: f.Code.Name, Message: f.Message}
		for _, d := range f.Details {
			e.Details = append(e.Details, api.FieldError{Field: d.Field, Message: d.Message})
		}
		return e
	}
	s.log.Error("unhandled error", "request_id", c.GetString(keyReqID), "path", c.Request.URL.Path, "err", err)
	return &api.Error{Status: http.StatusInternalServerError, Code: fault.CodeInternal.Name, Message: "internal error"}
}

// codeOf is err's stable code for the audit log: "internal" when it has none.
func codeOf(err error) string {
	if f := fault.As(err); f != nil {
		return f.Code.Name
	}
	return fault.CodeInternal.Name
}

// render is the one error renderer.
func (s *Server) render(c *gin.Context, err error) {
	e := s.wireError(c, err)
	if e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable {
		if ra := c.GetString(keyRetry); ra != "" {
			c.Header("Retry-After", ra)
		}
	}
	c.AbortWithStatusJSON(e.Status, api.ErrorBody{Error: e})
}

// wrapErr adapts an error-returning handler for Gin's NoRoute/NoMethod.
func (s *Server) wrapErr(h func(*gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			s.render(c, err)
		}
	}
}

// noRoute answers JSON, except to a browser navigating to an unknown page,
// which gets the app's own "page not found" with a 404 status.
func (s *Server) noRoute(c *gin.Context) error {
	path := c.Request.URL.Path
	if c.Request.Method == http.MethodGet && strings.Contains(c.GetHeader("Accept"), "text/html") &&
		!strings.HasPrefix(path, "/api/") && !strings.HasPrefix(path, "/static/") {
		return s.pageStatus(c, "app.html", http.StatusNotFound)
	}
	return fault.CodeNotFound.New("no route for %s %s", c.Request.Method, path)
}

func methodNotAllowed(c *gin.Context) error {
	return fault.CodeMethodNotAllow.New("method %s not allowed on %s", c.Request.Method, c.Request.URL.Path)
}

// decode reads a JSON body into v: JSON only, unknown fields and trailing data refused.
func decode(c *gin.Context, v any) error {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "application/json" {
		return fault.CodeUnsupported.New("send Content-Type: application/json")
	}
	// The body is read whole (the body limit bounds it) so that its keys
	// can be checked before any field is set.
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return bodyError(err)
	}
	return decodeBytes(body, v)
}

// decodeBytes is decode's JSON part: no duplicate or case-variant keys,
// unknown fields and trailing data refused.
func decodeBytes(body []byte, v any) error {
	if err := checkKeys(body, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return bodyError(err)
		}
		return fault.CodeBadRequest.New("request body has data after the JSON value")
	}
	return nil
}

func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return fault.CodeTooLarge.New("request body exceeds %d bytes", tooBig.Limit)
	case errors.As(err, &syn):
		return fault.CodeBadRequest.New("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fault.CodeBadRequest.New("field %q must be %s", typ.Field, typ.Type)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fault.CodeBadRequest.New("request body is empty or truncated")
	default:
		return fault.CodeBadRequest.New("malformed JSON: %s", err.Error())
	}
}

// retryAfter sets the Retry-After the renderer sends with a 429.
func retryAfter(c *gin.Context, seconds int) { c.Set(keyRetry, strconv.Itoa(seconds)) }
