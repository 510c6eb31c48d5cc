package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/virtportal/virtportal/virt"
)

// benchBrowser: the Guests page in Chromium at 1,000 and 10,000 guests
// against a static HTML file of the same rows (the floor), measured by
// e2e/bench/guestspage.mjs in the same browser and run; then the server's
// RSS holding 10,000 guests next to the test driver's own.
func benchBrowser(bin, script, sizes string, runs int) error {
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("the browser bench script: %w", err)
	}
	var failed error
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return fmt.Errorf("bad guest count %q", f)
		}
		p, err := startPortal(bin, virt.FixtureOptions{Guests: n, Seed: 4}, map[string]bool{"bench": true})
		if err != nil {
			return err
		}
		cmd := exec.Command("node", script, "--url", p.base, "--user", "bench", "--password", benchPassword, "--guests", fmt.Sprint(n), "--runs", fmt.Sprint(runs))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			failed = fmt.Errorf("%d guests: %w", n, err)
		}
		if n >= 10000 {
			rss := rssOf(p.cmd.Process.Pid)
			driverRSS, err := driverAlone(p.uri)
			if err != nil {
				p.stop()
				return err
			}
			fmt.Printf("  server RSS with %d guests, after the page runs: %d kB; the test driver alone (virsh holding the same host, same run) %d kB;\n", n, rss, driverRSS)
			fmt.Printf("    so the portal's own share is about %d kB\n", rss-driverRSS)
		}
		p.stop()
		fmt.Println()
	}
	return failed
}

// scriptPath finds a file of e2e/bench from the repository root or from e2e/bench.
func scriptPath(name string) string {
	for _, dir := range []string{"e2e/bench", "."} {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p
		}
	}
	return filepath.Join("e2e/bench", name)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
