package handlers

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNegotiateLang(t *testing.T) {
	for _, tc := range []struct{ header, want string }{
		{"", "en"},
		{"en-US,en;q=0.9", "en"},
		{"pt-BR,pt;q=0.9,en;q=0.8", "pt-BR"},
		{"pt-PT", "pt-BR"},
		{"pt", "pt-BR"},
		{"zh-CN", "zh-CN"},
		{"zh", "zh-CN"},
		{"ZH-cn", "zh-CN"},
		{"de-DE,de;q=0.9", "en"},
		{"de,zh-CN;q=0.5", "zh-CN"},
		{"en;q=0.5,pt-BR;q=0.8", "pt-BR"},
		{"zh-CN;q=0,en;q=0.1", "en"},
		{"zh-CN;q=0", "en"},
		{"pt-BR;q=0.7,zh-CN;q=0.7", "pt-BR"},
		{"fr, *;q=0.1", "en"},
		{"pt-BR;q=abc,zh-CN;q=0.2", "zh-CN"},
		{"pt-BR;q=2", "en"},
		{" zh-CN ; q = 0.9 ", "zh-CN"},
		{",,;,", "en"},
		{strings.Repeat("de,", 40) + "pt-BR", "en"},
	} {
		t.Run(tc.header, func(t *testing.T) {
			if got := negotiateLang(tc.header); got != tc.want {
				t.Fatalf("negotiateLang(%q) = %q, want %q", tc.header, got, tc.want)
			}
		})
	}
}

func TestPageLang(t *testing.T) {
	for _, tc := range []struct{ name, cookie, header, want string }{
		{"cookie wins", "zh-CN", "pt-BR", "zh-CN"},
		{"cookie spelled loosely", "pt-br", "", "pt-BR"},
		{"unknown cookie ignored", "xx", "pt-BR", "pt-BR"},
		{"hostile cookie ignored", "<script>", "", "en"},
		{"no cookie", "", "zh-CN,en;q=0.5", "zh-CN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.cookie != "" {
				r.AddCookie(&http.Cookie{Name: LangCookie, Value: tc.cookie})
			}
			if tc.header != "" {
				r.Header.Set("Accept-Language", tc.header)
			}
			if got := pageLang(r); got != tc.want {
				t.Fatalf("pageLang = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPagesRenderTheLanguage(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for _, tc := range []struct{ path, cookie, header, want string }{
		{"/login", "", "", `<html lang="en">`},
		{"/login", "", "pt-BR,en;q=0.5", `<html lang="pt-BR">`},
		{"/account", "", "zh", `<html lang="zh-CN">`},
		{"/guests", "zh-CN", "pt-BR", `<html lang="zh-CN">`},
		{"/guests", `"><script>`, "de", `<html lang="en">`},
	} {
		t.Run(tc.path+" "+tc.cookie+" "+tc.header, func(t *testing.T) {
			hdr := []string{"Accept-Language", tc.header}
			if tc.cookie != "" {
				hdr = append(hdr, "Cookie", LangCookie+"="+tc.cookie)
			}
			r := c.do("GET", tc.path, nil, hdr...)
			want(t, r, 200, "")
			if !strings.Contains(string(r.body), tc.want) {
				t.Fatalf("%s: want %s in the page", tc.path, tc.want)
			}
			if !strings.Contains(r.header.Get("Vary"), "Accept-Language") {
				t.Fatalf("Vary %q", r.header.Get("Vary"))
			}
		})
	}
}
