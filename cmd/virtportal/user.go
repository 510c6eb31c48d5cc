package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	osuser "os/user"
	"strings"
	"text/tabwriter"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/login"
	"github.com/virtportal/virtportal/store"
)

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: virtportal migrate [flags]\n\nApplies the database migrations and exits.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "database is up to date:", cfg.DataDir)
	return st.Close()
}

// readPassword takes one line from r, refusing an empty one.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("empty password on standard input")
	}
	if len(pw) > auth.MaxPasswordLen {
		return "", fmt.Errorf("password longer than %d bytes", auth.MaxPasswordLen)
	}
	return pw, nil
}

// userSubs are the user subcommands with their usage line and purpose.
var userSubs = map[string]string{
	"add":    "add [--admin] [--password-stdin] [flags] NAME\n\nAdds a local user; the password comes from standard input, or is generated and printed.",
	"passwd": "passwd [--password-stdin] [flags] NAME\n\nSets a local user's password, ends their sessions and forgets their failed logins.",
	"del":    "del [flags] NAME\n\nDeletes a local user and ends their sessions.",
	"list":   "list [flags]\n\nLists the local users.",
}

func userCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return errors.New("user: want add, passwd, del or list")
	}
	sub := args[0]
	if userSubs[sub] == "" {
		return fmt.Errorf("user: unknown subcommand %q", sub)
	}
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: virtportal user %s\n\nFlags:\n", userSubs[sub])
		fs.PrintDefaults()
	}
	if len(args) == 2 && (args[1] == "-h" || args[1] == "--help") {
		fs.Bool("admin", false, "with add: make the user an administrator")
		fs.Bool("password-stdin", false, "read the password from standard input instead of generating one")
		_, err := loadConfig(fs, args[1:], getenv)
		return err
	}
	admin := fs.Bool("admin", false, "with add: make the user an administrator")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input instead of generating one")
	// The user's name is the last argument; flags come before it.
	rest := args[1:]
	name := ""
	if sub != "list" {
		if len(rest) == 0 || strings.HasPrefix(rest[len(rest)-1], "-") {
			return fmt.Errorf("user %s: missing NAME", sub)
		}
		name, rest = rest[len(rest)-1], rest[:len(rest)-1]
		if !auth.ValidUsername(name) || len(name) > 64 {
			return fmt.Errorf("user %s: invalid name %q (letters, digits, . _ @ -, at most 64)", sub, name)
		}
	}
	cfg, err := loadConfig(fs, rest, getenv)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	// hashed reads or generates the password and returns its hash.
	hashed := func() (string, error) {
		pw := ""
		if *fromStdin {
			var err error
			if pw, err = readPassword(stdin); err != nil {
				return "", err
			}
		} else {
			pw = auth.RandomPassword()
			fmt.Fprintf(stdout, "password for %s: %s\n", name, pw)
		}
		return auth.HashPassword(pw)
	}
	// The command line changes accounts too: it is audited like the API,
	// with the operating-system user as the actor.
	audit := func(action string) error {
		actor := "cli"
		if u, err := osuser.Current(); err == nil {
			actor = "cli:" + u.Username
		}
		_, err := st.AddAudit(ctx, api.AuditEvent{Actor: actor, Action: action, Target: "user:local:" + name, Result: "ok", Client: "cli"})
		return err
	}
	switch sub {
	case "add":
		hash, err := hashed()
		if err != nil {
			return err
		}
		if err := st.CreateUser(ctx, store.User{Name: name, Hash: hash, Admin: *admin}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added local user %s (admin: %t)\n", name, *admin)
		return audit("user.add")
	case "passwd":
		hash, err := hashed()
		if err != nil {
			return err
		}
		if err := st.UpdatePassword(ctx, name, hash); err != nil {
			return err
		}
		// A reset usually follows a leak: sessions opened with the old
		// password end with it.
		if _, err := st.DeleteSessionsOf(ctx, rbac.Principal{Realm: "local", Name: name}.ID()); err != nil {
			return err
		}
		// The new password is a fresh start: failed logins from before
		// (often the reason for the reset) no longer hold the user back.
		if _, err := login.NewThrottle(st).Clear(ctx, "local", name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password of %s changed; their sessions ended, their failed logins forgotten\n", name)
		return audit("user.passwd")
	case "del":
		if err := st.DeleteUser(ctx, name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted local user %s\n", name)
		if _, err := st.DeleteSessionsOf(ctx, rbac.Principal{Realm: "local", Name: name}.ID()); err != nil {
			return err
		}
		return audit("user.del")
	case "list":
		users, err := st.ListUsers(ctx, "", 1000)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tADMIN\tDISABLED\tCREATED")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%t\t%t\t%s\n", u.Name, u.Admin, u.Disabled, u.Created.Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	}
	return fmt.Errorf("user: unknown subcommand %q", sub)
}
