package handlers

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// SupportedLangs are the page languages the browser app has catalogs for
// (static/src/lib/catalogs); the first is the default.
var SupportedLangs = []string{"en", "pt-BR", "zh-CN"}

// LangCookie holds the language a person chose on the Account page.
const LangCookie = "vp_lang"

// maxLangRanges bounds the work on a hostile Accept-Language header.
const maxLangRanges = 32

// pageLang is the language of a page: the person's choice (LangCookie) when
// it names a supported language, else the best match for Accept-Language.
func pageLang(r *http.Request) string {
	if c, err := r.Cookie(LangCookie); err == nil {
		if l, ok := supportedLang(c.Value); ok {
			return l
		}
	}
	return negotiateLang(r.Header.Get("Accept-Language"))
}

// supportedLang is the canonical spelling of tag when it is supported exactly.
func supportedLang(tag string) (string, bool) {
	for _, l := range SupportedLangs {
		if strings.EqualFold(l, strings.TrimSpace(tag)) {
			return l, true
		}
	}
	return "", false
}

// negotiateLang picks a supported language for an Accept-Language header:
// ranges by falling q-value (ties keep their order; q=0 means "not this"),
// each matched exactly first and then by its base language ("pt-PT" reads
// "pt-BR" rather than English). The default when nothing fits.
func negotiateLang(header string) string {
	type rng struct {
		tag string
		q   float64
	}
	var rs []rng
	for i, part := range strings.Split(header, ",") {
		if i >= maxLangRanges {
			break
		}
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.TrimSpace(tag)
		if tag == "" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				f = 0
			}
			q = f
		}
		if q > 0 {
			rs = append(rs, rng{tag, q})
		}
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].q > rs[j].q })
	for _, r := range rs {
		if r.tag == "*" {
			return SupportedLangs[0]
		}
		if l, ok := supportedLang(r.tag); ok {
			return l
		}
		base, _, _ := strings.Cut(r.tag, "-")
		for _, l := range SupportedLangs {
			lb, _, _ := strings.Cut(l, "-")
			if strings.EqualFold(base, lb) {
				return l
			}
		}
	}
	return SupportedLangs[0]
}
