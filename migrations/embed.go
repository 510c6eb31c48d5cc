// Package migrations embeds the numbered SQL schema files applied at start.
package migrations

import "embed"

// FS holds the *.sql migration files.
//
//go:embed *.sql
var FS embed.FS
