// Volume operations: a 1 GiB qcow2 holding 200 MiB cloned through the
// API against `virsh vol-clone` on qemu:///system, and the volume
// listing at 10,000 volumes over 10 pools against a raw libvirt listing.

package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// post sends a JSON body with the session's CSRF token.
func post(hc *http.Client, csrf, url string, in, out any) (int, error) {
	b, _ := json.Marshal(in)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	res, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode/100 == 2 {
		return res.StatusCode, json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode, nil
}

// loginCSRF logs in and returns the client and its CSRF token.
func (p *portal) loginCSRF(name string) (*http.Client, string, error) {
	hc, err := p.login(name)
	if err != nil {
		return nil, "", err
	}
	var s api.Session
	res, err := hc.Get(p.base + "/api/v1/session")
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		return nil, "", err
	}
	return hc, s.CSRFToken, nil
}

// benchClone: clone a 1 GiB qcow2 holding 200 MiB through the API (POST
// to the task's end, polled every 10 ms) against `virsh vol-clone` of the
// same volume, interleaved; goal: API median <= 1.1x virsh's.
func benchClone(bin, uri string, runs int) error {
	conn, err := libvirt.NewConnect(uri)
	if err != nil {
		return fmt.Errorf("%s: %w (start libvirtd as `make e2e` does)", uri, err)
	}
	defer conn.Close()
	pool := fmt.Sprintf("vpe2e-vo-bench-%d", os.Getpid())
	sp, _, done, err := clonePool(conn, pool, 9)
	if err != nil {
		return err
	}
	defer done()

	p, err := startPortalOn(bin, uri)
	if err != nil {
		return err
	}
	defer p.stop()
	hc, csrf, err := p.loginCSRF("bench")
	if err != nil {
		return err
	}
	del := func(name string) {
		if v, err := sp.LookupStorageVolByName(name); err == nil {
			_ = v.Delete(0)
			_ = v.Free()
		}
	}
	viaAPI := func(name string) (time.Duration, error) {
		t0 := time.Now()
		var tk api.Task
		st, err := post(hc, csrf, p.base+"/api/v1/hosts/local/pools/"+pool+"/volumes/src.qcow2/clone", api.VolumeClone{Name: name}, &tk)
		if err != nil || st != 202 {
			return 0, fmt.Errorf("clone: %d %v", st, err)
		}
		for {
			res, err := hc.Get(fmt.Sprintf("%s/api/v1/tasks/%d", p.base, tk.ID))
			if err != nil {
				return 0, err
			}
			tk = api.Task{}
			err = json.NewDecoder(res.Body).Decode(&tk)
			res.Body.Close()
			if err != nil {
				return 0, err
			}
			if tk.Finished != nil {
				if tk.Status != "done" {
					return 0, fmt.Errorf("clone task %s: %+v", tk.Status, tk.Error)
				}
				return time.Since(t0), nil
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	viaVirsh := func(name string) (time.Duration, error) {
		t0 := time.Now()
		if out, err := exec.Command("virsh", "-c", uri, "vol-clone", "--pool", pool, "src.qcow2", name).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("virsh vol-clone: %v: %s", err, out)
		}
		return time.Since(t0), nil
	}
	var a, v []time.Duration
	for i := range runs {
		exec.Command("sync").Run()
		d, err := viaVirsh(fmt.Sprintf("virsh-%d.qcow2", i))
		if err != nil {
			return err
		}
		v = append(v, d)
		del(fmt.Sprintf("virsh-%d.qcow2", i))
		exec.Command("sync").Run()
		d, err = viaAPI(fmt.Sprintf("api-%d.qcow2", i))
		if err != nil {
			return err
		}
		a = append(a, d)
		del(fmt.Sprintf("api-%d.qcow2", i))
	}
	a50, v50 := percentile(a, .5), percentile(v, .5)
	ratio := float64(a50) / float64(v50)
	fmt.Printf("Clone a 1 GiB qcow2 holding 200 MiB on %s (%d runs each, interleaved)\n", uri, runs)
	fmt.Printf("  virtportal API (POST → task done)  median %s\n", ms(a50))
	fmt.Printf("  virsh vol-clone                    median %s   (baseline, same run)\n", ms(v50))
	fmt.Printf("  ratio API/virsh                    %.3f   (goal: <= 1.1)\n", ratio)
	if ratio > 1.1 {
		return fmt.Errorf("budget missed: %.3f", ratio)
	}
	return nil
}

// volumeFixture writes a test-driver host of pools × vols volumes.
func volumeFixture(path, images string, pools, vols int) error {
	type elem struct {
		XMLName xml.Name
		Attrs   []xml.Attr `xml:",any,attr"`
		Inner   string     `xml:",innerxml"`
		Volumes []elem     `xml:"volume,omitempty"`
	}
	split := func(doc string) (elem, error) {
		var e elem
		err := xml.Unmarshal([]byte(doc), &e)
		return e, err
	}
	node := struct {
		XMLName xml.Name `xml:"node"`
		Pools   []elem   `xml:"pool"`
	}{}
	for i := range pools {
		name := fmt.Sprintf("pool%02d", i)
		doc, err := (&libvirtxml.StoragePool{Type: "dir", Name: name,
			Capacity:  &libvirtxml.StoragePoolSize{Unit: "bytes", Value: 1 << 40},
			Available: &libvirtxml.StoragePoolSize{Unit: "bytes", Value: 1 << 40},
			Target:    &libvirtxml.StoragePoolTarget{Path: filepath.Join(images, name)}}).Marshal()
		if err != nil {
			return err
		}
		pe, err := split(doc)
		if err != nil {
			return err
		}
		for j := range vols {
			vn := fmt.Sprintf("vol%04d.qcow2", j)
			vd, err := (&libvirtxml.StorageVolume{Name: vn,
				Capacity:   &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: 10 << 30},
				Allocation: &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: 1 << 30},
				Target: &libvirtxml.StorageVolumeTarget{Path: filepath.Join(images, name, vn),
					Format: &libvirtxml.StorageVolumeTargetFormat{Type: "qcow2"}}}).Marshal()
			if err != nil {
				return err
			}
			ve, err := split(vd)
			if err != nil {
				return err
			}
			pe.Volumes = append(pe.Volumes, ve)
		}
		node.Pools = append(node.Pools, pe)
	}
	out, err := xml.MarshalIndent(node, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

// benchVolumeList: the volumes of 10 pools × 1,000 on the test driver,
// listed through the API (each pool, and all ten one after another)
// against raw libvirt (ListAllStorageVolumes of a pool; and with each
// volume's XML, all the API reads).
func benchVolumeList(bin string, pools, vols, n int) error {
	dir, err := os.MkdirTemp("", "virtportal-bench-vols-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fixture := filepath.Join(dir, "host.xml")
	if err := volumeFixture(fixture, filepath.Join(dir, "images"), pools, vols); err != nil {
		return err
	}
	uri := "test://" + fixture
	p, err := startPortalOn(bin, uri)
	if err != nil {
		return err
	}
	defer p.stop()
	hc, err := p.login("bench")
	if err != nil {
		return err
	}
	conn, err := libvirt.NewConnect(uri)
	if err != nil {
		return err
	}
	defer conn.Close()
	url := func(i int) string { return fmt.Sprintf("%s/api/v1/hosts/local/pools/pool%02d/volumes", p.base, i) }
	var l api.VolumeList
	res, err := hc.Get(url(0))
	if err != nil {
		return err
	}
	err = json.NewDecoder(res.Body).Decode(&l)
	res.Body.Close()
	if err != nil || len(l.Items) != vols {
		return fmt.Errorf("the API lists %d of %d volumes (%v)", len(l.Items), vols, err)
	}
	rawList := func(i int, describe bool) error {
		sp, err := conn.LookupStoragePoolByName(fmt.Sprintf("pool%02d", i))
		if err != nil {
			return err
		}
		defer sp.Free()
		vs, err := sp.ListAllStorageVolumes(0)
		if err != nil {
			return err
		}
		for _, v := range vs {
			if describe {
				if _, err := v.GetXMLDesc(0); err != nil {
					return err
				}
			}
			_ = v.Free()
		}
		return nil
	}
	var one, all, rawOne, rawDesc, rawAll []time.Duration
	for r := range n {
		t0 := time.Now()
		if err := fetch(hc, url(r%pools)); err != nil {
			return err
		}
		one = append(one, time.Since(t0))
		t0 = time.Now()
		if err := rawList(r%pools, false); err != nil {
			return err
		}
		rawOne = append(rawOne, time.Since(t0))
		t0 = time.Now()
		if err := rawList(r%pools, true); err != nil {
			return err
		}
		rawDesc = append(rawDesc, time.Since(t0))
		if r%5 == 0 {
			t0 = time.Now()
			for i := range pools {
				if err := fetch(hc, url(i)); err != nil {
					return err
				}
			}
			all = append(all, time.Since(t0))
			t0 = time.Now()
			for i := range pools {
				if err := rawList(i, true); err != nil {
					return err
				}
			}
			rawAll = append(rawAll, time.Since(t0))
		}
	}
	cold, err := coldList(p, hc, url(1))
	if err != nil {
		return err
	}
	one50 := percentile(one, .5)
	fmt.Printf("Volume listing, %d pools × %d volumes on the test driver (%d requests of one pool, %d rounds of all)\n", pools, vols, len(one), len(all))
	fmt.Printf("  GET …/pools/{pool}/volumes (%d)     p50 %-12s p99 %s   (goal: p50 <= 20 ms)\n", vols, ms(one50), ms(percentile(one, .99)))
	fmt.Printf("    the same, uncached (after a change)  p50 %-12s   (listings are reused for 1 s; changes through the portal drop them)\n", ms(cold))
	fmt.Printf("  raw ListAllStorageVolumes, one pool  p50 %-12s   (baseline, same run)\n", ms(percentile(rawOne, .5)))
	fmt.Printf("  raw list + each volume's XML         p50 %-12s   (baseline: what the API reads)\n", ms(percentile(rawDesc, .5)))
	fmt.Printf("  all %d pools one after another (%d)  p50 %-12s p99 %s   (10 requests; there is no all-pools listing)\n", pools, pools*vols, ms(percentile(all, .5)), ms(percentile(all, .99)))
	fmt.Printf("  raw list + XML, all ten pools        p50 %s\n", ms(percentile(rawAll, .5)))
	if one50 > 20*time.Millisecond {
		return fmt.Errorf("budget missed: %s", ms(one50))
	}
	return nil
}

// coldList times listings right after a change made through the portal
// (a refresh of the pool, which drops the cached listings): the median of 10.
func coldList(p *portal, hc *http.Client, url string) (time.Duration, error) {
	hc2, csrf2, err := p.loginCSRF("bench")
	if err != nil {
		return 0, err
	}
	pool := url[strings.Index(url, "/pools/")+len("/pools/") : strings.LastIndex(url, "/volumes")]
	var d []time.Duration
	for range 10 {
		if st, err := post(hc2, csrf2, p.base+"/api/v1/hosts/local/pools/"+pool+"/refresh", nil, nil); err != nil || st != 200 {
			return 0, fmt.Errorf("refresh: %d %v", st, err)
		}
		t0 := time.Now()
		if err := fetch(hc, url); err != nil {
			return 0, err
		}
		d = append(d, time.Since(t0))
	}
	return percentile(d, .5), nil
}

// clonePool makes a transient dir pool in a temp folder holding
// src.qcow2: a 1 GiB qcow2 whose first 200 MiB are incompressible data
// (200 MiB allocated), the source of the clone benchmarks. done removes it.
func clonePool(conn *libvirt.Connect, name string, seed byte) (sp *libvirt.StoragePool, dir string, done func(), err error) {
	dir, err = os.MkdirTemp("", name+"-")
	if err != nil {
		return nil, "", nil, err
	}
	doc, _ := (&libvirtxml.StoragePool{Type: "dir", Name: name, Target: &libvirtxml.StoragePoolTarget{Path: dir}}).Marshal()
	sp, err = conn.StoragePoolCreateXML(doc, 0)
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", nil, err
	}
	done = func() { _ = sp.Destroy(); _ = sp.Free(); os.RemoveAll(dir) }
	raw := filepath.Join(dir, "seed.raw")
	buf := make([]byte, 200<<20)
	_, _ = rand.NewChaCha8([32]byte{seed}).Read(buf)
	if err := os.WriteFile(raw, buf, 0o644); err != nil {
		done()
		return nil, "", nil, err
	}
	if err := os.Truncate(raw, 1<<30); err != nil {
		done()
		return nil, "", nil, err
	}
	if out, err := exec.Command("qemu-img", "convert", "-O", "qcow2", raw, filepath.Join(dir, "src.qcow2")).CombinedOutput(); err != nil {
		done()
		return nil, "", nil, fmt.Errorf("qemu-img: %v: %s", err, out)
	}
	os.Remove(raw)
	if err := sp.Refresh(0); err != nil {
		done()
		return nil, "", nil, err
	}
	return sp, dir, done, nil
}
