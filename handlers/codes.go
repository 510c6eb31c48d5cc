package handlers

import "github.com/virtportal/virtportal/fault"

// The error codes handlers create themselves; they are API.
var (
	CodeBadOrigin       = fault.Define("bad_origin", fault.Forbidden)
	CodeCSRF            = fault.Define("csrf", fault.Forbidden)
	CodeBrowserSession  = fault.Define("browser_session_required", fault.Forbidden)
	CodeUpgradeRequired = fault.Define("upgrade_required", fault.UpgradeRequired)
	CodeStoreDown       = fault.Define("session_store_unavailable", fault.Unavailable)
)
