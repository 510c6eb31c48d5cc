package templates

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/virt"
)

// Codes of template validation.
var (
	CodeInvalidTemplate = fault.Define("invalid_template", fault.Invalid)
)

// Limits of a template's fields: a template is a small recipe, and every
// field ends up in XML, a seed ISO or a form.
const (
	MaxNameLen        = 64
	MaxDescriptionLen = 1000
	MaxDisks          = 16
	MaxNICs           = 8
	MaxSSHKeys        = 32
	MaxSSHKeyLen      = 16 << 10
	MaxUserDataLen    = 64 << 10
	MinMemoryMiB      = 16
	MinDiskSize       = 1 << 20
	MaxDiskSize       = 64 << 40
	maxShortField     = 200
)

var (
	nameRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._+-]*$`)
	machineRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	userRE     = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	hostnameRE = regexp.MustCompile(`^[A-Za-z0-9{}][A-Za-z0-9{}-]{0,62}$`)
	// crypt(3) hashes: MD5, bcrypt, SHA-256/512, yescrypt, gost-yescrypt, scrypt.
	cryptRE  = regexp.MustCompile(`^\$(1|2[abxy]|5|6|y|gy|7)\$[./A-Za-z0-9$=,]{8,250}$`)
	keyTypes = []string{"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
		"sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"}
)

// Decode reads a template body strictly: unknown fields and trailing data
// refused.
func Decode(b []byte) (api.Template, error) {
	var t api.Template
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return api.Template{}, fault.CodeBadRequest.New("malformed template: %s", err.Error())
	}
	if dec.More() {
		return api.Template{}, fault.CodeBadRequest.New("data after the template")
	}
	return t, nil
}

// problems collects the details of a refusal.
type problems []fault.Detail

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, fault.Detail{Field: field, Message: fmt.Sprintf(format, args...)})
}

func text(p *problems, field, s string, max int) {
	switch {
	case len(s) > max:
		p.add(field, "at most %d bytes", max)
	case !utf8.ValidString(s):
		p.add(field, "not valid UTF-8")
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' }):
		p.add(field, "control characters are not allowed")
	}
}

func ident(p *problems, field, kind, name string) {
	var err error
	switch kind {
	case "pool":
		err = virt.ValidatePoolName(name)
	case "volume":
		err = virt.ValidateVolumeName(name)
	case "network":
		err = virt.ValidateNetworkName(name)
	}
	if err != nil {
		if e := fault.As(err); e != nil {
			p.add(field, "%s", e.Message)
		} else {
			p.add(field, "invalid %s name", kind)
		}
	}
}

// Normalize fills what a template may leave out: the default topology is
// left nil, an empty arch is x86_64, maximums follow the current values.
func Normalize(t *api.Template) {
	if t.OS.Arch == "" {
		t.OS.Arch = "x86_64"
	}
	if t.MaxVCPUs == 0 {
		t.MaxVCPUs = t.VCPUs
	}
	if t.MaxMemoryMiB == 0 {
		t.MaxMemoryMiB = t.MemoryMiB
	}
	if t.Firmware == "" {
		t.Firmware = "bios"
	}
	if t.Graphics == "" {
		t.Graphics = "vnc"
	}
	if t.Source.Kind == "" {
		t.Source.Kind = api.SourceNone
	}
	for i := range t.Disks {
		if t.Disks[i].Format == "" {
			t.Disks[i].Format = "qcow2"
		}
	}
	if t.Disks == nil {
		t.Disks = []api.TemplateDisk{}
	}
	if t.NICs == nil {
		t.NICs = []api.TemplateNIC{}
	}
}

// Validate checks a normalized template against the host's limits;
// admin decides whether graphics may listen beyond loopback. The error is
// invalid_template with a detail per bad field.
func Validate(t api.Template, l api.HostLimits, admin bool) error {
	var p problems
	switch {
	case t.Name == "":
		p.add("name", "a name is required")
	case len(t.Name) > MaxNameLen:
		p.add("name", "at most %d bytes", MaxNameLen)
	case !nameRE.MatchString(t.Name) || strings.HasSuffix(t.Name, " "):
		p.add("name", "start with a letter or digit; letters, digits, spaces, '.', '_', '+' and '-' only")
	}
	text(&p, "description", t.Description, MaxDescriptionLen)
	for _, f := range []struct{ name, v string }{{"os.id", t.OS.ID}, {"os.short_id", t.OS.ShortID}, {"os.name", t.OS.Name},
		{"os.family", t.OS.Family}, {"os.distro", t.OS.Distro}, {"os.version", t.OS.Version}} {
		text(&p, f.name, f.v, maxShortField)
	}
	if t.OS.Arch != "x86_64" {
		p.add("os.arch", "only x86_64 guests are made")
	}
	maxV := max(l.MaxVCPUs, 1)
	switch {
	case t.VCPUs < 1:
		p.add("vcpus", "at least 1")
	case t.MaxVCPUs < t.VCPUs:
		p.add("max_vcpus", "at least vcpus (%d)", t.VCPUs)
	case t.MaxVCPUs > maxV:
		p.add("max_vcpus", "at most %d on this host", maxV)
	}
	if tp := t.Topology; tp != nil {
		switch {
		case tp.Sockets < 1 || tp.Cores < 1 || tp.Threads < 1:
			p.add("topology", "sockets, cores and threads are at least 1")
		case tp.Threads > max(l.ThreadsPerCore, 1):
			p.add("topology.threads", "this host offers %d thread(s) per core", max(l.ThreadsPerCore, 1))
		case tp.Sockets > 4096 || tp.Cores > 4096 || tp.Sockets*tp.Cores*tp.Threads != t.MaxVCPUs:
			p.add("topology", "sockets × cores × threads must equal max_vcpus (%d)", t.MaxVCPUs)
		}
	}
	switch {
	case t.MemoryMiB < MinMemoryMiB:
		p.add("memory_mib", "at least %d MiB", MinMemoryMiB)
	case t.MaxMemoryMiB < t.MemoryMiB:
		p.add("max_memory_mib", "at least memory_mib (%d)", t.MemoryMiB)
	case l.MaxMemoryMiB > 0 && t.MaxMemoryMiB > l.MaxMemoryMiB:
		p.add("max_memory_mib", "at most %d MiB on this host", l.MaxMemoryMiB)
	}
	switch t.Firmware {
	case "bios":
		if t.SecureBoot {
			p.add("secure_boot", "secure boot needs UEFI")
		}
	case "uefi":
		if !l.UEFI {
			p.add("firmware", "UEFI firmware (OVMF) is not installed on this host")
		} else if t.SecureBoot && !l.SecureBoot {
			p.add("secure_boot", "this host's firmware has no secure boot")
		}
	default:
		p.add("firmware", "bios or uefi")
	}
	if t.Machine != "" && !machineRE.MatchString(t.Machine) {
		p.add("machine", "a machine type such as q35 or pc")
	}
	validateSource(&p, t)
	validateDevices(&p, t)
	if t.CloudInit != nil {
		validateCloudInit(&p, *t.CloudInit)
	}
	if t.Listen != "" && t.Listen != "127.0.0.1" && !admin {
		p.add("graphics_listen", "127.0.0.1 unless an administrator sets another address")
	}
	if len(p) > 0 {
		return CodeInvalidTemplate.New("the template is not valid").WithDetails(p)
	}
	return nil
}

func validateSource(p *problems, t api.Template) {
	s := t.Source
	switch s.Kind {
	case api.SourceNone:
		if s.Pool != "" || s.Volume != "" || s.Linked {
			p.add("source", "a source of kind none names no volume")
		}
	case api.SourceISO, api.SourceCloudImage, api.SourceDisk:
		ident(p, "source.pool", "pool", s.Pool)
		ident(p, "source.volume", "volume", s.Volume)
		if s.Linked && s.Kind == api.SourceISO {
			p.add("source.linked", "only an image or a disk can be linked")
		}
	default:
		p.add("source.kind", "none, iso, cloud_image or disk")
	}
	if len(t.Disks) == 0 && s.Kind != api.SourceISO {
		p.add("disks", "at least one disk (only an installer ISO may run without one)")
	}
}

func validateDevices(p *problems, t api.Template) {
	if len(t.Disks) > MaxDisks {
		p.add("disks", "at most %d disks", MaxDisks)
	}
	for i, d := range t.Disks {
		f := fmt.Sprintf("disks[%d]", i)
		ident(p, f+".pool", "pool", d.Pool)
		if d.Size < MinDiskSize || d.Size > MaxDiskSize {
			p.add(f+".size", "between 1 MiB and 64 TiB")
		}
		if d.Format != "qcow2" && d.Format != "raw" {
			p.add(f+".format", "qcow2 or raw")
		}
		if !slices.Contains([]string{"", "virtio", "sata", "ide", "scsi"}, d.Bus) {
			p.add(f+".bus", "virtio, sata, ide or scsi")
		}
	}
	if len(t.NICs) > MaxNICs {
		p.add("nics", "at most %d interfaces", MaxNICs)
	}
	for i, n := range t.NICs {
		f := fmt.Sprintf("nics[%d]", i)
		ident(p, f+".network", "network", n.Network)
		if !slices.Contains([]string{"", "virtio", "e1000e", "e1000", "rtl8139"}, n.Model) {
			p.add(f+".model", "virtio, e1000e, e1000 or rtl8139")
		}
	}
	switch t.Graphics {
	case "vnc", "spice":
		if t.Listen != "" {
			if a, err := netip.ParseAddr(t.Listen); err != nil || a.Zone() != "" {
				p.add("graphics_listen", "an IP address")
			}
		}
	case "none":
		if t.Listen != "" {
			p.add("graphics_listen", "no graphics, no listen address")
		}
	default:
		p.add("graphics", "vnc, spice or none")
	}
	if len(t.BootOrder) > 3 {
		p.add("boot_order", "at most hd, cdrom and network")
	}
	for i, b := range t.BootOrder {
		if !slices.Contains([]string{"hd", "cdrom", "network"}, b) || slices.Index(t.BootOrder, b) != i {
			p.add(fmt.Sprintf("boot_order[%d]", i), "hd, cdrom or network, each once")
		}
	}
}

func validateCloudInit(p *problems, c api.CloudInit) {
	if c.User != "" && !userRE.MatchString(c.User) {
		p.add("cloud_init.user", "a Unix user name (lower case letters, digits, '_' and '-')")
	}
	if len(c.SSHKeys) > MaxSSHKeys {
		p.add("cloud_init.ssh_keys", "at most %d keys", MaxSSHKeys)
	}
	for i, k := range c.SSHKeys {
		if err := checkSSHKey(k); err != nil {
			p.add(fmt.Sprintf("cloud_init.ssh_keys[%d]", i), "%s", err.Error())
		}
	}
	if c.PasswordHash != "" && !cryptRE.MatchString(c.PasswordHash) {
		p.add("cloud_init.password_hash", "a crypt(3) hash such as $6$… (mkpasswd), never a password")
	}
	if c.HostnamePattern != "" && !hostnameRE.MatchString(c.HostnamePattern) {
		p.add("cloud_init.hostname_pattern", "a host name; {name} stands for the guest's name")
	}
	text(p, "cloud_init.user_data", c.UserData, MaxUserDataLen)
	if c.UserData != "" && !strings.HasPrefix(c.UserData, "#cloud-config\n") {
		p.add("cloud_init.user_data", "starts with a #cloud-config line")
	}
}

// checkSSHKey accepts one OpenSSH public key line: a known type, base64
// whose first field repeats the type, an optional comment.
func checkSSHKey(k string) error {
	if len(k) > MaxSSHKeyLen {
		return fmt.Errorf("at most %d bytes", MaxSSHKeyLen)
	}
	if strings.ContainsAny(k, "\r\n\x00") {
		return errors.New("one key per entry, on one line")
	}
	parts := strings.SplitN(strings.TrimSpace(k), " ", 3)
	if len(parts) < 2 || !slices.Contains(keyTypes, parts[0]) {
		return errors.New("an OpenSSH public key such as ssh-ed25519 AAAA… comment")
	}
	blob, err := base64.StdEncoding.DecodeString(parts[1])
	if err != nil || len(blob) < 4 {
		return errors.New("the key's base64 part does not decode")
	}
	n := binary.BigEndian.Uint32(blob)
	if uint64(n)+4 > uint64(len(blob)) || string(blob[4:4+n]) != parts[0] {
		return errors.New("the key's data does not match its type")
	}
	if len(parts) == 3 && !utf8.ValidString(parts[2]) {
		return errors.New("the comment is not valid UTF-8")
	}
	return nil
}
