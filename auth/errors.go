package auth

import "github.com/virtportal/virtportal/fault"

// The error codes of auth; they are API (the browser translates them).
var (
	CodeUnknownRealm         = fault.Define("unknown_realm", fault.Invalid)
	CodeDirectoryUnavailable = fault.Define("directory_unavailable", fault.Unavailable)
	CodeRealmUnavailable     = fault.Define("realm_unavailable", fault.Unavailable)
)
