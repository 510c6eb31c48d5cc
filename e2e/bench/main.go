// Command bench measures virtportal against baselines taken in the same run
// (`make bench`): GET /api/v1/vms on a 1,000-guest host through the real
// server and its whole middleware chain, against an in-process raw libvirt
// listing (ListAllDomains + GetXMLDesc of each); … and the Guests page in
// Chromium against a static HTML file of the same rows (browser.go).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/virt"
)

func main() {
	bin := flag.String("bin", "bin/virtportal", "server binary")
	only := flag.String("only", "list,access,ldap,pam,console,events,browser,upload,volclone,vollist,vmclone,vmcreate,vcpus,nicplug,diskhotplug,stats", "comma-separated sections to run")
	kvmURI := flag.String("kvm-uri", "qemu:///system", "volclone, vmclone, vmcreate, vcpus, nicplug and diskhotplug sections: the libvirt they use")
	pageSizes := flag.String("page-guests", "1000,10000", "browser section: the guest counts of the Guests page runs")
	pageRuns := flag.Int("page-runs", 7, "browser section: measured runs per size (median)")
	child := flag.String("child", "", "internal: run as the console benchmark's source or proxy process, or the upload's tus client")
	uploadRuns := flag.Int("upload-runs", 3, "upload section: measured runs of each method (median)")
	uploadChunk := flag.Int64("upload-chunk", 64<<20, "upload section: the PATCH size of the chunked tus run, bytes")
	flag.Parse()
	if *child == "tus-upload" {
		if err := runTusClient(flag.Args()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if *child != "" {
		if err := runChild(*child, flag.Args()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	sections := []struct {
		name string
		run  func() error
	}{
		{"list", func() error { return benchList(*bin, 1000, 2000, 100) }},
		{"access", func() error { return benchUserList(*bin) }},
		{"ldap", benchLDAP},
		{"pam", benchPAM},
		{"console", benchConsole},
		{"events", func() error { return benchEvents(*bin, 1000, 200) }},
		{"browser", func() error { return benchBrowser(*bin, scriptPath("guestspage.mjs"), *pageSizes, *pageRuns) }},
		{"upload", func() error { return benchUpload(*bin, *uploadRuns, *uploadChunk) }},
		{"volclone", func() error { return benchClone(*bin, *kvmURI, 5) }},
		{"vollist", func() error { return benchVolumeList(*bin, 10, 1000, 50) }},
		{"vmclone", func() error { return benchGuestClone(*bin, *kvmURI, 5) }},
		{"vmcreate", func() error { return benchCreate(*kvmURI, 5) }},
		{"vcpus", func() error { return benchVCPUs(*bin, *kvmURI, 15) }},            // issue 11: vCPU change (vmsettings.go)
		{"nicplug", func() error { return benchNICPlug(*bin, *kvmURI, 7) }},         // issue 11
		{"diskhotplug", func() error { return benchDiskHotplug(*bin, *kvmURI, 7) }}, // issue 11
		{"stats", func() error { return benchStats(*bin, 100, 20*time.Second, 50) }},
	}
	failed := false
	for _, s := range sections {
		if !slices.Contains(strings.Split(*only, ","), s.name) {
			continue
		}
		if err := s.run(); err != nil {
			fmt.Fprintf(os.Stderr, "bench %s: %v\n", s.name, err)
			failed = true
		}
		fmt.Println()
	}
	if failed {
		os.Exit(1)
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000) }

// portal is a real server process on a generated test-driver host.
type portal struct {
	base, uri, dir string
	cmd            *exec.Cmd
}

const benchPassword = "bench-password-1"

// startPortal writes a fixture, adds local users (name → admin?) and starts
// the server on it; it waits until the index holds every guest.
func startPortal(bin string, fx virt.FixtureOptions, users map[string]bool) (*portal, error) {
	dir, err := os.MkdirTemp("", "virtportal-bench-")
	if err != nil {
		return nil, err
	}
	fixture := filepath.Join(dir, "host.xml")
	fx.ImagesDir = filepath.Join(dir, "images")
	if err := virt.WriteFixture(fixture, fx); err != nil {
		return nil, err
	}
	// 10,000 guests on a busy machine take a while.
	return startPortalIn(bin, dir, "test://"+fixture, users, 5*time.Minute)
}

// startPortalOn starts the server on a real libvirt URI with one admin,
// "bench".
func startPortalOn(bin, uri string, args ...string) (*portal, error) {
	dir, err := os.MkdirTemp("", "virtportal-bench-")
	if err != nil {
		return nil, err
	}
	return startPortalIn(bin, dir, uri, map[string]bool{"bench": true}, 2*time.Minute, args...)
}

// startPortalIn adds the users to the data directory dir, starts the
// server on uri and waits until it is ready.
func startPortalIn(bin, dir, uri string, users map[string]bool, ready time.Duration, extra ...string) (*portal, error) {
	p := &portal{dir: dir, uri: uri}
	for name, admin := range users {
		args := []string{"user", "add", "--password-stdin", "--data-dir", dir}
		if admin {
			args = append(args, "--admin")
		}
		add := exec.Command(bin, append(args, name)...)
		add.Stdin = strings.NewReader(benchPassword + "\n")
		if out, err := add.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("user add: %v: %s", err, out)
		}
	}
	args := []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--libvirt-uri", uri}
	if os.Geteuid() == 0 {
		args = append(args, "--allow-root")
	}
	args = append(args, extra...)
	p.cmd = exec.Command(bin, args...)
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	p.cmd.Stderr = logf
	out, _ := p.cmd.StdoutPipe()
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	if p.base, err = waitListening(out); err != nil {
		p.stop()
		return nil, err
	}
	for deadline := time.Now().Add(ready); ; time.Sleep(100 * time.Millisecond) {
		if res, err := http.Get(p.base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("server not ready")
		}
	}
}

func (p *portal) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
	os.RemoveAll(p.dir)
}

// login returns a client holding name's session.
func (p *portal) login(name string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	body, _ := json.Marshal(api.LoginRequest{Realm: "local", Username: name, Password: benchPassword})
	res, err := hc.Post(p.base+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		return nil, fmt.Errorf("login %s: %d", name, res.StatusCode)
	}
	return hc, nil
}

// fetch reads a whole answer without decoding it: time to last byte.
func fetch(hc *http.Client, url string) error {
	res, err := hc.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("%s: %d", url, res.StatusCode)
	}
	return nil
}

// total decodes a list answer's total.
func total(hc *http.Client, url string) (int, error) {
	res, err := hc.Get(url)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var l api.VMList
	return l.Total, json.NewDecoder(res.Body).Decode(&l)
}

// benchList: GET /api/v1/vms at 1,000 guests against a raw libvirt listing.
func benchList(bin string, guests, n, rawN int) error {
	p, err := startPortal(bin, virt.FixtureOptions{Guests: guests, Seed: 1}, map[string]bool{"bench": true})
	if err != nil {
		return err
	}
	defer p.stop()
	hc, err := p.login("bench")
	if err != nil {
		return err
	}
	if got, err := total(hc, p.base+"/api/v1/vms"); err != nil || got != guests {
		return fmt.Errorf("server lists %d of %d guests (%v)", got, guests, err)
	}
	// Interleave the two measurements in rounds so that machine noise hits both alike.
	var apiLat, rawLat []time.Duration
	conn, err := libvirt.NewConnect(p.uri)
	if err != nil {
		return err
	}
	defer conn.Close()
	rounds := 10
	for r := 0; r < rounds; r++ {
		for i := 0; i < n/rounds; i++ {
			t0 := time.Now()
			if err := fetch(hc, p.base+"/api/v1/vms"); err != nil {
				return err
			}
			apiLat = append(apiLat, time.Since(t0))
		}
		for i := 0; i < rawN/rounds; i++ {
			t0 := time.Now()
			if err := rawListing(conn); err != nil {
				return err
			}
			rawLat = append(rawLat, time.Since(t0))
		}
	}
	rss := rssOf(p.cmd.Process.Pid)
	a50, a99 := percentile(apiLat, .5), percentile(apiLat, .99)
	r50, r99 := percentile(rawLat, .5), percentile(rawLat, .99)
	fmt.Printf("GET /api/v1/vms, %d guests, logged in, whole middleware chain (%d requests)\n", guests, len(apiLat))
	fmt.Printf("  virtportal API        p50 %-12s p99 %s\n", ms(a50), ms(a99))
	fmt.Printf("  raw libvirt listing   p50 %-12s p99 %s   (baseline, same run, %d listings: ListAllDomains + GetXMLDesc each)\n", ms(r50), ms(r99), len(rawLat))
	fmt.Printf("  ratio API/raw p50     %.3f   (goal: below 1, and p50 <= 10 ms)\n", float64(a50)/float64(r50))
	driverRSS, err := driverAlone(p.uri)
	if err != nil {
		return err
	}
	fmt.Printf("  server RSS after runs %d kB; the test driver alone (virsh holding the same host, same run) %d kB;\n", rss, driverRSS)
	fmt.Printf("    so the portal's own share is about %d kB (with qemu:///system the driver lives in libvirtd)\n", rss-driverRSS)
	if a50 > 10*time.Millisecond || a50 >= r50 {
		return fmt.Errorf("budget missed: p50 %s (raw %s)", ms(a50), ms(r50))
	}
	return nil
}

// benchUserList: a user holding 100 grants among 10,000 guests lists their
// guests, against an admin listing a 100-guest host, in one run.
func benchUserList(bin string) error {
	big, err := startPortal(bin, virt.FixtureOptions{Guests: 10000, Seed: 2,
		Grant: api.Grant{Kind: "user", Realm: "local", Name: "holder", Role: api.RoleOperator}, GrantCount: 100},
		map[string]bool{"holder": false})
	if err != nil {
		return err
	}
	defer big.stop()
	small, err := startPortal(bin, virt.FixtureOptions{Guests: 100, Seed: 3}, map[string]bool{"bench": true})
	if err != nil {
		return err
	}
	defer small.stop()
	user, err := big.login("holder")
	if err != nil {
		return err
	}
	admin, err := small.login("bench")
	if err != nil {
		return err
	}
	if got, err := total(user, big.base+"/api/v1/vms"); err != nil || got != 100 {
		return fmt.Errorf("the user lists %d guests, want 100 (%v)", got, err)
	}
	if got, err := total(admin, small.base+"/api/v1/vms"); err != nil || got != 100 {
		return fmt.Errorf("the admin lists %d guests, want 100 (%v)", got, err)
	}
	var u, a []time.Duration
	for range 20 {
		for range 100 {
			t0 := time.Now()
			if err := fetch(user, big.base+"/api/v1/vms"); err != nil {
				return err
			}
			u = append(u, time.Since(t0))
			t0 = time.Now()
			if err := fetch(admin, small.base+"/api/v1/vms"); err != nil {
				return err
			}
			a = append(a, time.Since(t0))
		}
	}
	u50, a50 := percentile(u, .5), percentile(a, .5)
	fmt.Printf("GET /api/v1/vms by a user holding 100 grants among 10,000 guests (%d requests each, interleaved)\n", len(u))
	fmt.Printf("  user, 10,000 guests   p50 %-12s p99 %s\n", ms(u50), ms(percentile(u, .99)))
	fmt.Printf("  admin, 100 guests     p50 %-12s p99 %s   (baseline, same run)\n", ms(a50), ms(percentile(a, .99)))
	fmt.Printf("  ratio user/admin p50  %.3f   (goal: <= 2)\n", float64(u50)/float64(a50))
	if float64(u50) > 2*float64(a50) {
		return fmt.Errorf("budget missed: %.3f", float64(u50)/float64(a50))
	}
	return nil
}

func waitListening(r io.Reader) (string, error) {
	re := regexp.MustCompile(`listening on (http://\S+)`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case u := <-found:
		return u, nil
	case <-time.After(60 * time.Second):
		return "", fmt.Errorf("server did not start")
	}
}

// rawListing is what a tool without an index does for every page view.
func rawListing(conn *libvirt.Connect) error {
	doms, err := conn.ListAllDomains(0)
	if err != nil {
		return err
	}
	for i := range doms {
		if _, err := doms[i].GetXMLDesc(0); err != nil {
			return err
		}
		_ = doms[i].Free()
	}
	return nil
}

// rssOf returns a process's resident set in kB (0 if unknown).
func rssOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// driverAlone is the memory the test driver itself takes for the host: in
// test mode it runs inside the server's process, so it is subtracted.
func driverAlone(uri string) (int, error) {
	cmd := exec.Command("virsh", "-c", uri)
	in, err := cmd.StdinPipe()
	if err != nil {
		return 0, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("virsh: %w", err)
	}
	defer func() { in.Close(); _ = cmd.Wait() }()
	// The prompt comes once the connection (and the host file) is loaded.
	buf := make([]byte, 4096)
	var seen strings.Builder
	for !strings.Contains(seen.String(), "virsh #") {
		n, err := out.Read(buf)
		if err != nil {
			return 0, fmt.Errorf("virsh never prompted: %w", err)
		}
		seen.Write(buf[:n])
	}
	return rssOf(cmd.Process.Pid), nil
}
