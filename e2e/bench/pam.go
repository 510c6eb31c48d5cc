package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/msteinert/pam/v2"

	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/internal/syncbuf"
)

// benchPAM measures a PAM login through the realm and virtportal-helper
// against a direct in-process PAM call as root with the same service file
// (goal: p50 within 1.2×), then 50 concurrent logins through the helper
// (goal: no error). It needs root: it creates a system user and runs the
// helper, and removes both afterwards. The helper is VIRTPORTAL_HELPER_BIN,
// or built from cmd/virtportal-helper.
func benchPAM() error {
	if os.Geteuid() != 0 {
		return errors.New("pam bench: must run as root (it creates a system user and runs the helper)")
	}
	dir, err := os.MkdirTemp("", "virtportal-bench-pam-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "vpt-bench-" + hex.EncodeToString(b)
	const password = "bench-Pw-1"
	if out, err := exec.Command("useradd", "-m", "-s", "/bin/bash", name).CombinedOutput(); err != nil {
		return fmt.Errorf("useradd: %v: %s", err, out)
	}
	defer func() { _ = exec.Command("userdel", "-r", name).Run() }()
	chpasswd := exec.Command("chpasswd")
	chpasswd.Stdin = strings.NewReader(name + ":" + password + "\n")
	if out, err := chpasswd.CombinedOutput(); err != nil {
		return fmt.Errorf("chpasswd: %v: %s", err, out)
	}

	const service = "virtportal-bench"
	pamDir := filepath.Join(dir, "pam.d")
	if err := os.Mkdir(pamDir, 0o755); err != nil {
		return err
	}
	conf := "auth required pam_unix.so nodelay\naccount required pam_unix.so\n"
	if err := os.WriteFile(filepath.Join(pamDir, service), []byte(conf), 0o644); err != nil {
		return err
	}

	bin := os.Getenv("VIRTPORTAL_HELPER_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "virtportal-helper")
		if out, err := exec.Command("go", "build", "-o", bin, "github.com/virtportal/virtportal/cmd/virtportal-helper").CombinedOutput(); err != nil {
			return fmt.Errorf("go build the helper: %v: %s", err, out)
		}
	}
	socket := filepath.Join(dir, "run", "helper.sock")
	// Limits raised: the bench is a flood of logins for one user by design.
	helper := exec.Command(bin, "--socket", socket, "--server-user", "0", "--pam-service", service, "--pam-dir", pamDir,
		"--rate", "100000", "--burst", "100000", "--user-rate", "100000", "--user-burst", "100000", "--max-queue", "128", "--timeout", "30s")
	var logs syncbuf.Buffer
	helper.Stderr = &logs
	if err := helper.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- helper.Wait() }()
	defer func() {
		_ = helper.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = helper.Process.Kill()
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(logs.String(), "helper listening"); {
		select {
		case err := <-exited:
			return fmt.Errorf("helper exited (%v): %s", err, logs.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("helper not listening: %s", logs.String())
		}
	}

	realm, err := auth.NewPAM(auth.PAMConfig{Socket: socket, Timeout: 30 * time.Second}, nil)
	if err != nil {
		return err
	}
	ctx := context.Background()
	viaHelper := func() error {
		_, err := realm.Authenticate(ctx, name, password)
		return err
	}
	direct := func() error { return directPAM(service, pamDir, name, password) }
	for range 3 { // warm caches (NSS, shadow, module loading) on both paths
		if err := viaHelper(); err != nil {
			return fmt.Errorf("login through the helper: %w", err)
		}
		if err := direct(); err != nil {
			return fmt.Errorf("direct PAM: %w", err)
		}
	}

	// Interleaved in rounds so that machine noise hits both alike.
	const rounds, perRound = 10, 10
	var helperLat, directLat []time.Duration
	for range rounds {
		for range perRound {
			t0 := time.Now()
			if err := viaHelper(); err != nil {
				return err
			}
			helperLat = append(helperLat, time.Since(t0))
		}
		for range perRound {
			t0 := time.Now()
			if err := direct(); err != nil {
				return err
			}
			directLat = append(directLat, time.Since(t0))
		}
	}

	seqLogs := logs.String() // before the concurrent run, whose requests queue

	const concurrent = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	var slowest time.Duration
	start := make(chan struct{})
	for range concurrent {
		wg.Go(func() {
			<-start
			t0 := time.Now()
			err := viaHelper()
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			slowest = max(slowest, d)
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	wall := time.Since(t0)

	// The helper's own time per request, from its log, splits the overhead
	// between the helper (NSS, groups) and the trip (socket, JSON, realm).
	var inHelper []time.Duration
	for line := range strings.Lines(seqLogs) {
		if _, rest, ok := strings.Cut(line, " duration="); ok && strings.Contains(line, "result=ok") {
			if d, err := time.ParseDuration(strings.Fields(rest)[0]); err == nil {
				inHelper = append(inHelper, d)
			}
		}
	}
	if len(inHelper) == 0 {
		return fmt.Errorf("no request lines in the helper's log: %s", logs.String())
	}

	h50, h99 := percentile(helperLat, .5), percentile(helperLat, .99)
	d50, d99 := percentile(directLat, .5), percentile(directLat, .99)
	ratio := float64(h50) / float64(d50)
	fmt.Printf("PAM login as root, pam_unix with nodelay, one user (%d logins each, interleaved in %d rounds)\n", len(helperLat), rounds)
	fmt.Printf("  pam realm via helper  p50 %-12s p99 %s   (realm checks + socket + helper: NSS, PAM, groups)\n", ms(h50), ms(h99))
	fmt.Printf("  direct in-process PAM p50 %-12s p99 %s   (baseline, same run, same service file: start + authenticate + acct_mgmt)\n", ms(d50), ms(d99))
	fmt.Printf("  inside the helper     p50 %-12s (its log: accept to answer, %d sequential requests)\n", ms(percentile(inHelper, .5)), len(inHelper))
	fmt.Printf("  ratio helper/direct p50 %.3f   (goal: <= 1.2)\n", ratio)
	fmt.Printf("  %d concurrent logins through the helper: %d errors, all done in %s, slowest %s\n", concurrent, len(errs), ms(wall), ms(slowest))
	if len(errs) > 0 {
		return fmt.Errorf("pam budget missed: %d of %d concurrent logins failed, first: %w", len(errs), concurrent, errs[0])
	}
	if ratio > 1.2 {
		return fmt.Errorf("pam budget missed: helper p50 %s is %.2f× the direct call's %s", ms(h50), ratio, ms(d50))
	}
	return nil
}

// directPAM is what a server running as root could do in-process.
func directPAM(service, dir, user, password string) error {
	tx, err := pam.StartConfDir(service, user, pam.ConversationFunc(func(s pam.Style, _ string) (string, error) {
		switch s {
		case pam.PromptEchoOff:
			return password, nil
		case pam.PromptEchoOn:
			return user, nil
		}
		return "", nil
	}), dir)
	if err != nil {
		return err
	}
	defer func() { _ = tx.End() }()
	if err := tx.Authenticate(pam.Silent | pam.DisallowNullAuthtok); err != nil {
		return err
	}
	return tx.AcctMgmt(pam.Silent | pam.DisallowNullAuthtok)
}
