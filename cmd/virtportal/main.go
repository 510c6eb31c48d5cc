// Command virtportal is the web portal for KVM hosts.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

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
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr, getenv)
	case "migrate":
		return migrate(ctx, args[1:], stdout, stderr, getenv)
	case "user":
		return userCmd(ctx, args[1:], stdin, stdout, stderr, getenv)
	case "token":
		return tokenCmd(ctx, args[1:], stdout, stderr, getenv)
	case "version":
		fmt.Fprintln(stdout, "virtportal", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
