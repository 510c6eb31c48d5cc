// Package templates holds the server-rendered HTML pages: app.html (the shell
// of the browser app, served for / and every UI path) and login.html (served
// at /login), and apidocs.html (the API reference at /api/docs, which takes
// the route list too). All take a data value with the fields Title (product name),
// Version (cache buster for /static assets) and Lang (the page language).
package templates

import "embed"

// FS holds every *.html page of this folder, for html/template.ParseFS.
//
//go:embed *.html
var FS embed.FS
