// Command virtportal is the web portal for KVM hosts.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// commit is the build's git commit, set like version.
var commit = ""

const usage = `virtportal — a multi-tenant web portal for KVM hosts

Usage:
  virtportal serve [flags]                 run the server (see: virtportal serve -h)
  virtportal migrate [flags]               apply database migrations and exit
  virtportal user add [--admin] NAME       add a local user (password from stdin, or generated)
  virtportal user passwd NAME              set a local user's password
  virtportal user del NAME                 delete a local user
  virtportal user list                     list local users
  virtportal token create --user R:N --name N [--expires 30d]
                                           make an API token (secret printed once)
  virtportal token list [--user R:N]       list API tokens
  virtportal token revoke ID               revoke an API token
  virtportal doctor [--config F]           check an installation (run it as the service user)
  virtportal version                       print the version
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "virtportal:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	if path, ok := helpWanted(args); ok {
		return help(ctx, path, stdout, getenv)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr, getenv)
	case "migrate":
		return migrate(ctx, args[1:], stdout, stderr, getenv)
	case "user":
		return userCmd(ctx, args[1:], stdin, stdout, stderr, getenv)
	case "token":
		return tokenCmd(ctx, args[1:], stdout, stderr, getenv)
	case "doctor":
		return doctor(ctx, args[1:], stdout, stderr, getenv)
	case "version":
		fmt.Fprintln(stdout, "virtportal", version)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// helpWanted reports whether args ask for help (-h, --help, or the help
// command) and for which command: the words before the first flag.
func helpWanted(args []string) ([]string, bool) {
	if args[0] == "help" {
		return args[1:], true
	}
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			var path []string
			for _, w := range args {
				if strings.HasPrefix(w, "-") {
					break
				}
				path = append(path, w)
			}
			return path, true
		}
	}
	return nil, false
}

const versionUsage = `Usage: virtportal version

Prints the version of this build.
`

const userUsage = `Usage:
  virtportal user add [--admin] [--password-stdin] [flags] NAME
  virtportal user passwd [--password-stdin] [flags] NAME
  virtportal user del [flags] NAME
  virtportal user list [flags]

Manages the local realm's users (see: virtportal user SUBCOMMAND --help).
`

// help prints the usage of the command path to stdout: every command and
// subcommand answers -h and --help, and that is no error.
func help(ctx context.Context, path []string, stdout io.Writer, getenv func(string) string) error {
	var err error
	switch {
	case len(path) == 0:
		fmt.Fprint(stdout, usage)
	case path[0] == "serve":
		err = serve(ctx, []string{"-h"}, stdout, stdout, getenv)
	case path[0] == "migrate":
		err = migrate(ctx, []string{"-h"}, stdout, stdout, getenv)
	case path[0] == "version":
		fmt.Fprint(stdout, versionUsage)
	case path[0] == "doctor":
		err = doctor(ctx, []string{"-h"}, stdout, stdout, getenv)
	case path[0] == "user" && len(path) >= 2 && userSubs[path[1]] != "":
		err = userCmd(ctx, []string{path[1], "-h"}, nil, stdout, stdout, getenv)
	case path[0] == "user":
		fmt.Fprint(stdout, userUsage)
	case path[0] == "token" && len(path) >= 2 && tokenSubs[path[1]]:
		err = tokenCmd(ctx, []string{path[1], "-h"}, stdout, stdout, getenv)
	case path[0] == "token":
		fmt.Fprint(stdout, tokenUsage)
	default:
		return fmt.Errorf("no help for unknown command %q", strings.Join(path, " "))
	}
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}
