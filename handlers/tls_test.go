package handlers

import "crypto/tls"

// tlsInsecure trusts httptest's self-signed certificate.
func tlsInsecure() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }
