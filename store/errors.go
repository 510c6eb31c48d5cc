package store

import "github.com/virtportal/virtportal/fault"

// The error codes of store; they are API (the browser translates them).
var (
	CodeSessionNotFound      = fault.Define("session_not_found", fault.NotFound)
	CodeUserExists           = fault.Define("user_exists", fault.Conflict)
	CodeUserNotFound         = fault.Define("user_not_found", fault.NotFound)
	CodeConsoleTokenNotFound = fault.Define("console_token_not_found", fault.NotFound)
	CodeTokenUsed            = fault.Define("token_used", fault.Gone)
	CodeTokenExpired         = fault.Define("token_expired", fault.Gone)
)
