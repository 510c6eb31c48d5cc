// Package static holds the browser app's build output (static/dist: app.js,
// app.css, theme.js, logo.svg, the lazily loaded console chunks, source maps
// and THIRD-PARTY-LICENSES.txt), produced by `npm run build` from
// static/src and embedded into the binary. The server serves FS's dist
// folder at /static/.
package static

import "embed"

// FS holds the folder dist (the bundled browser app). Run `npm ci && npm run
// build` before `go build`: go:embed fails when dist does not exist.
//
//go:embed dist
var FS embed.FS
