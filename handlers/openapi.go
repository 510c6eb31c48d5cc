package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"
	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/fault"
)

// documented reports whether a route belongs to the API reference: the
// JSON API and the health checks, not the app's pages and files.
func documented(rt Route) bool {
	return strings.HasPrefix(rt.Path, "/api/v1/") || rt.Path == "/healthz" || rt.Path == "/readyz"
}

// successStatus is the status a route answers when all goes well.
func successStatus(rt Route) int {
	if rt.Status != 0 {
		return rt.Status
	}
	return http.StatusOK
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// openAPIPath turns Gin's /vms/:name and /static/*file into {name}, {file}.
func openAPIPath(p string) string { return ginParam.ReplaceAllString(p, "{$1}") }

// pathParams lists a Gin path's parameters in order.
func pathParams(p string) []string {
	var out []string
	for _, m := range ginParam.FindAllStringSubmatch(p, -1) {
		out = append(out, m[1])
	}
	return out
}

func operationID(rt Route) string {
	id := strings.ToLower(rt.Method) + strings.NewReplacer("/api/v1/", "_", "/", "_", ":", "", "*", "", "-", "_", ".", "_").Replace(rt.Path)
	return strings.Trim(id, "_")
}

// tagOf groups operations by the first path segment after /api/v1/.
func tagOf(rt Route) string {
	rest, ok := strings.CutPrefix(rt.Path, "/api/v1/")
	if !ok {
		return "health"
	}
	tag, _, _ := strings.Cut(rest, "/")
	switch tag {
	case "vms", "console":
		return "guests"
	case "host":
		return "hosts"
	}
	return tag
}

// errorCodes lists every registered error code with its kind and status.
func errorCodes() []map[string]any {
	var out []map[string]any
	for _, c := range fault.Codes() {
		out = append(out, map[string]any{"code": c.Name, "kind": c.Kind.String(), "status": statusOf[c.Kind]})
	}
	return out
}

// schemaGen builds component schemas from api types. Slices and maps a Go
// value may leave nil are written as null, so they are nullable unless
// omitted when empty.
type schemaGen struct {
	gen     *openapi3gen.Generator
	schemas openapi3.Schemas
}

func newSchemaGen() *schemaGen {
	custom := func(name string, t reflect.Type, tag reflect.StructTag, schema *openapi3.Schema) error {
		if (t.Kind() == reflect.Slice || t.Kind() == reflect.Map) && !strings.Contains(tag.Get("json"), "omitempty") && name != "_root" {
			if schema.Type != nil && len(*schema.Type) == 1 {
				schema.Type = &openapi3.Types{(*schema.Type)[0], openapi3.TypeNull}
			}
		}
		return nil
	}
	return &schemaGen{
		gen: openapi3gen.NewGenerator(openapi3gen.SchemaCustomizer(custom),
			openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{ExportComponentSchemas: true, ExportTopLevelSchema: true})),
		schemas: openapi3.Schemas{},
	}
}

func (g *schemaGen) ref(v any) (*openapi3.SchemaRef, error) {
	return g.gen.NewSchemaRefForValue(v, g.schemas)
}

// content is the media type and schema of a body.
func (g *schemaGen) content(v any) (openapi3.Content, error) {
	if b, ok := v.(Body); ok {
		return openapi3.NewContentWithSchema(openapi3.NewStringSchema().WithFormat("binary"), []string{b.MediaType}), nil
	}
	ref, err := g.ref(v)
	if err != nil {
		return nil, err
	}
	return openapi3.NewContentWithJSONSchemaRef(ref), nil
}

// errorStatuses lists the failures a route can answer besides its own.
func errorStatuses(rt Route) []int {
	st := []int{http.StatusInternalServerError}
	if !rt.Perm.IsPublic() {
		st = append(st, http.StatusUnauthorized, http.StatusForbidden)
	}
	if unsafeMethod(rt.Method) {
		st = append(st, http.StatusForbidden) // origin and CSRF checks
	}
	if !rt.Scope.IsZero() {
		st = append(st, http.StatusBadRequest, http.StatusNotFound)
	}
	if rt.In != nil {
		st = append(st, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity)
	}
	if len(rt.Query) > 0 {
		st = append(st, http.StatusBadRequest)
	}
	slices.Sort(st)
	return slices.Compact(st)
}

// buildOpenAPI generates the API document from the route table.
func buildOpenAPI(rs []Route, version string) (*openapi3.T, error) {
	g := newSchemaGen()
	errRef, err := g.ref(api.ErrorBody{})
	if err != nil {
		return nil, err
	}
	doc := &openapi3.T{
		OpenAPI: "3.1.0",
		Info: &openapi3.Info{
			Title:   "virtportal API",
			Version: version,
			Description: "The JSON API of virtportal, generated from its route table. Every operation names the permission " +
				"it needs (x-permission, object:action, decided by the server's Casbin policy) and the object it is decided on " +
				"(x-scope, kind:parameter). Unsafe requests with the session cookie need the X-CSRF-Token header with the " +
				"session's csrf_token. Errors are {\"error\":{\"code\",\"message\",\"details\"}}; x-error-codes lists the codes.",
		},
		Paths: openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas: g.schemas,
			SecuritySchemes: openapi3.SecuritySchemes{
				"session": &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{Type: "apiKey", In: "cookie", Name: auth.CookieName,
					Description: "The session cookie set by POST /api/v1/session."}},
				"token": &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{Type: "http", Scheme: "bearer",
					Description: "A personal API token: Authorization: Bearer <token>."}},
			},
			Responses: openapi3.ResponseBodies{
				"Error": &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("The error envelope").
					WithContent(openapi3.NewContentWithJSONSchemaRef(errRef))},
			},
		},
		Security: openapi3.SecurityRequirements{{"session": {}}, {"token": {}}},
	}
	doc.Extensions = map[string]any{"x-error-codes": errorCodes()}
	for _, rt := range rs {
		if !documented(rt) {
			continue
		}
		op := openapi3.NewOperation()
		op.OperationID = operationID(rt)
		op.Summary = rt.Summary
		op.Tags = []string{tagOf(rt)}
		op.Extensions = map[string]any{"x-permission": rt.Perm.String()}
		if rt.Perm.IsPublic() {
			op.Extensions["x-permission"] = "public"
			op.Security = &openapi3.SecurityRequirements{}
		}
		if !rt.Scope.IsZero() {
			op.Extensions["x-scope"] = rt.Scope.String()
		}
		if rt.Audit != "" {
			op.Extensions["x-audit"] = rt.Audit
		}
		for _, p := range pathParams(rt.Path) {
			prm := openapi3.NewPathParameter(p).WithSchema(openapi3.NewStringSchema())
			if rt.Scope.Param == p {
				prm.Description = "the " + rt.Scope.Kind + "'s name"
			}
			op.AddParameter(prm)
		}
		for _, q := range rt.Query {
			op.AddParameter(openapi3.NewQueryParameter(q.Name).WithDescription(q.Doc).WithSchema(openapi3.NewStringSchema()))
		}
		if unsafeMethod(rt.Method) && !rt.Perm.IsPublic() {
			op.AddParameter(openapi3.NewHeaderParameter("X-CSRF-Token").WithDescription("the session's csrf_token; needed with the cookie, not with a token").
				WithSchema(openapi3.NewStringSchema()))
		}
		if rt.In != nil {
			c, err := g.content(rt.In)
			if err != nil {
				return nil, fmt.Errorf("%s %s: request: %w", rt.Method, rt.Path, err)
			}
			op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).WithContent(c)}
		}
		ok := openapi3.NewResponse().WithDescription(http.StatusText(successStatus(rt)))
		if rt.Out != nil {
			c, err := g.content(rt.Out)
			if err != nil {
				return nil, fmt.Errorf("%s %s: response: %w", rt.Method, rt.Path, err)
			}
			ok.WithContent(c)
		}
		op.Responses = openapi3.NewResponses(openapi3.WithStatus(successStatus(rt), &openapi3.ResponseRef{Value: ok}))
		for _, st := range errorStatuses(rt) {
			op.Responses.Set(strconv.Itoa(st), &openapi3.ResponseRef{Ref: "#/components/responses/Error"})
		}
		op.Responses.Set("default", &openapi3.ResponseRef{Ref: "#/components/responses/Error"})
		doc.AddOperation(openAPIPath(rt.Path), rt.Method, op)
	}
	return doc, nil
}

// openAPIDoc serves the document built at start.
func (s *Server) openAPIDoc(c *gin.Context) error {
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/json", s.apiDoc)
	return nil
}

// initAPIDoc renders the document once.
func (s *Server) initAPIDoc(rs []Route) error {
	doc, err := buildOpenAPI(rs, s.opt.Version)
	if err != nil {
		return err
	}
	for _, rt := range rs {
		if documented(rt) {
			s.apiRoutes = append(s.apiRoutes, rt)
		}
	}
	s.apiDoc, err = json.Marshal(doc)
	return err
}

// docRoute is one route as the reference page shows it.
type docRoute struct {
	Method, Path, Summary, Permission, Scope, Audit, In, Out string
	Status                                                   int
	Query                                                    []Param
}

type docsData struct {
	pageData
	Routes []docRoute
	Codes  []map[string]any
}

// typeName names a body type for the reference page.
func typeName(v any) string {
	switch b := v.(type) {
	case nil:
		return ""
	case Body:
		return b.MediaType
	}
	return reflect.TypeOf(v).Name()
}

// apiDocsPage is the readable API reference, server-rendered from the
// route table: no script, styles from the app's stylesheet.
func (s *Server) apiDocsPage(c *gin.Context) error {
	d := docsData{pageData: pageData{Title: "virtportal API", Version: s.assets, Lang: "en"}, Codes: errorCodes()}
	for _, rt := range s.apiRoutes {
		perm := rt.Perm.String()
		if rt.Perm.IsPublic() {
			perm = "public"
		}
		d.Routes = append(d.Routes, docRoute{Method: rt.Method, Path: openAPIPath(rt.Path), Summary: rt.Summary, Permission: perm,
			Scope: rt.Scope.String(), Audit: rt.Audit, In: typeName(rt.In), Out: typeName(rt.Out), Status: successStatus(rt), Query: rt.Query})
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-cache")
	c.Status(http.StatusOK)
	if err := s.pages.ExecuteTemplate(c.Writer, "apidocs.html", d); err != nil {
		s.log.Error("page render", "page", "apidocs.html", "err", err)
	}
	return nil
}
