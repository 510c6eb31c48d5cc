// Command bench measures virtportal against baselines taken in the same run
// (`make bench`): GET /api/v1/vms on a 1,000-guest host through the real
// server and its whole middleware chain, against an in-process raw libvirt
// listing (ListAllDomains + GetXMLDesc of each).
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
	guests := flag.Int("guests", 1000, "guests on the test-driver host")
	n := flag.Int("n", 2000, "measured API requests")
	rawN := flag.Int("raw", 100, "measured raw listings")
	flag.Parse()
	if err := run(*bin, *guests, *n, *rawN); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000) }

func run(bin string, guests, n, rawN int) error {
	dir, err := os.MkdirTemp("", "virtportal-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fixture := filepath.Join(dir, "host.xml")
	if err := virt.WriteFixture(fixture, virt.FixtureOptions{Guests: guests, Seed: 1, ImagesDir: filepath.Join(dir, "images")}); err != nil {
		return err
	}
	uri := "test://" + fixture

	const pw = "bench-password-1"
	add := exec.Command(bin, "user", "add", "--admin", "--password-stdin", "--data-dir", dir, "bench")
	add.Stdin = strings.NewReader(pw + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		return fmt.Errorf("user add: %v: %s", err, out)
	}
	args := []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--libvirt-uri", uri}
	if os.Geteuid() == 0 {
		args = append(args, "--allow-root")
	}
	srv := exec.Command(bin, args...)
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return err
	}
	srv.Stderr = logf
	out, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { _ = srv.Process.Signal(syscall.SIGTERM); _ = srv.Wait() }()
	base, err := waitListening(out)
	if err != nil {
		return err
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	body, _ := json.Marshal(api.LoginRequest{Realm: "local", Username: "bench", Password: pw})
	res, err := hc.Post(base+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("login: %d", res.StatusCode)
	}
	list := func() (int, error) {
		res, err := hc.Get(base + "/api/v1/vms")
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		var l api.VMList
		if err := json.NewDecoder(res.Body).Decode(&l); err != nil {
			return 0, err
		}
		return l.Total, nil
	}
	// fetch reads a whole answer without decoding it: time to last byte.
	fetch := func() error {
		res, err := hc.Get(base + "/api/v1/vms")
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			return err
		}
		if res.StatusCode != 200 {
			return fmt.Errorf("list: %d", res.StatusCode)
		}
		return nil
	}
	// Wait for the index (the server answers before libvirt is indexed).
	deadline := time.Now().Add(60 * time.Second)
	for {
		total, err := list()
		if err == nil && total == guests {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server lists %d of %d guests (%v)", total, guests, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Interleave the two measurements in rounds so that machine noise hits both alike.
	var apiLat, rawLat []time.Duration
	conn, err := libvirt.NewConnect(uri)
	if err != nil {
		return err
	}
	defer conn.Close()
	rounds := 10
	for r := 0; r < rounds; r++ {
		for i := 0; i < n/rounds; i++ {
			t0 := time.Now()
			if err := fetch(); err != nil {
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
	rss := rssOf(srv.Process.Pid)
	a50, a99 := percentile(apiLat, .5), percentile(apiLat, .99)
	r50, r99 := percentile(rawLat, .5), percentile(rawLat, .99)
	fmt.Printf("GET /api/v1/vms, %d guests, logged in, whole middleware chain (%d requests)\n", guests, len(apiLat))
	fmt.Printf("  virtportal API        p50 %-12s p99 %s\n", ms(a50), ms(a99))
	fmt.Printf("  raw libvirt listing   p50 %-12s p99 %s   (baseline, same run, %d listings: ListAllDomains + GetXMLDesc each)\n", ms(r50), ms(r99), len(rawLat))
	fmt.Printf("  ratio API/raw p50     %.3f   (goal: below 1, and p50 <= 10 ms)\n", float64(a50)/float64(r50))
	driverRSS, err := driverAlone(uri)
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
