package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	osuser "os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/services/tokens"
)

const tokenUsage = `Usage:
  virtportal token create --user REALM:NAME --name NAME [--expires 30d|RFC3339] [config flags]
      make a personal API token for a user; the secret is printed this once
  virtportal token list [--user REALM:NAME] [config flags]
      list live tokens (everyone's, or one user's)
  virtportal token revoke ID [config flags]
      revoke a token; its next use is refused

Config flags are those of "virtportal serve" (--config, --data-dir, realm settings).
`

// tokenCmd runs "virtportal token …". Like "user", it works on the
// database directly and is audited with the operating-system user as actor.
// tokenSubs are the token subcommands.
var tokenSubs = map[string]bool{"create": true, "list": true, "revoke": true}

func tokenCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stdout
		if len(args) == 0 {
			w = stderr
		}
		fmt.Fprint(w, tokenUsage)
		if len(args) == 0 {
			return errors.New("token: want create, list or revoke")
		}
		return nil
	}
	sub := args[0]
	fs := flag.NewFlagSet("token "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), tokenUsage) }
	user := fs.String("user", "", "the token's owner, REALM:NAME (e.g. local:alice, ldap:bob)")
	name := fs.String("name", "", "with create: the token's name, 1–64 characters")
	expires := fs.String("expires", "30d", "with create: lifetime in days (30d) or an RFC 3339 time, at most 365 days")
	rest, id := args[1:], ""
	if sub == "revoke" {
		// The id comes right after "revoke" or last, after the flags.
		switch {
		case len(rest) > 0 && !strings.HasPrefix(rest[0], "-"):
			id, rest = rest[0], rest[1:]
		case len(rest) > 0 && !strings.HasPrefix(rest[len(rest)-1], "-"):
			id, rest = rest[len(rest)-1], rest[:len(rest)-1]
		}
	}
	cfg, err := loadConfig(fs, rest, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		fs.PrintDefaults()
		return nil
	}
	if err != nil {
		return err
	}
	if sub == "revoke" && id == "" {
		return errors.New("token revoke: missing ID")
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	realms, closeRealms, err := buildRealms(cfg, st, log)
	if err != nil {
		return err
	}
	defer closeRealms()
	svc := tokens.New(st, realms, tokens.Options{Logger: log})
	audit := func(action, target, result string) error {
		actor := "cli"
		if u, err := osuser.Current(); err == nil {
			actor = "cli:" + u.Username
		}
		_, err := st.AddAudit(ctx, api.AuditEvent{Time: time.Now().UTC(), Actor: actor, Action: action, Target: target, Result: result, Client: "cli"})
		return err
	}

	switch sub {
	case "create":
		realm, uname, ok := strings.Cut(*user, ":")
		if !ok || realm == "" || uname == "" {
			return errors.New("token create: --user REALM:NAME is required")
		}
		if err := tokens.ValidName(*name); err != nil {
			return fmt.Errorf("token create: --name: %w", err)
		}
		exp, err := parseExpiry(*expires, time.Now())
		if err != nil {
			return fmt.Errorf("token create: --expires: %w", err)
		}
		p, err := svc.Lookup(ctx, realm, uname)
		if err != nil {
			return fmt.Errorf("token create: %w", err)
		}
		t, secret, err := svc.Create(ctx, p, *name, exp)
		if err != nil {
			return fmt.Errorf("token create: %w", err)
		}
		if err := audit("token.create", "token:"+t.ID, "ok"); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token %s for %s, expires %s\n%s\n(the secret is shown only now; send it as \"Authorization: Bearer <secret>\")\n",
			t.ID, t.Owner(), t.Expires.Format(time.RFC3339), secret)
		return nil
	case "list":
		ts, err := svc.List(ctx, *user)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tOWNER\tNAME\tCREATED\tEXPIRES\tLAST USED")
		for _, t := range ts {
			used := "never"
			if !t.LastUsed.IsZero() {
				used = t.LastUsed.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%q\t%s\t%s\t%s\n", t.ID, t.Owner(), t.Name, t.Created.Format("2006-01-02 15:04"),
				t.Expires.Format("2006-01-02 15:04"), used)
		}
		return tw.Flush()
	case "revoke":
		if _, err := svc.Revoke(ctx, id, ""); err != nil {
			return fmt.Errorf("token revoke %s: %w", id, err)
		}
		fmt.Fprintf(stdout, "revoked token %s\n", id)
		return audit("token.revoke", "token:"+id, "ok")
	}
	fmt.Fprint(stderr, tokenUsage)
	return fmt.Errorf("token: unknown subcommand %q", sub)
}

// parseExpiry reads "30d" (days from now) or an RFC 3339 time, within
// the tokens package's limits.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 {
			return time.Time{}, fmt.Errorf("%q is not a number of days", s)
		}
		return tokens.Expiry(now, nil, n)
	}
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither Nd nor an RFC 3339 time", s)
	}
	return tokens.Expiry(now, &at, 0)
}
