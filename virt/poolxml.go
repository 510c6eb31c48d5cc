package virt

import (
	"errors"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// PoolTypes are the pool types libvirt knows and this portal defines.
var (
	PoolTypes = []string{"dir", "fs", "netfs", "logical", "iscsi", "scsi", "disk"}
	// NetFSFormats are the network file systems a netfs pool mounts.
	NetFSFormats = []string{"nfs", "cifs", "glusterfs"}
	// FSFormats are the file systems an fs pool mounts ("auto" probes).
	FSFormats = []string{"auto", "ext2", "ext3", "ext4", "xfs", "vfat"}
	// DiskFormats are the partition tables of a disk pool.
	DiskFormats = []string{"gpt", "dos"}
)

// CodePoolSetupFailed: libvirt could not build or start a pool (a mount
// that failed, a device that holds data, a missing tool); the message is
// libvirt's, for administrators.
var CodePoolSetupFailed = fault.Define("pool_setup_failed", fault.Conflict)

// setupFail maps a failed define, build or start: what storageFail knows
// reads as before, connection loss as unavailable, the rest as
// CodePoolSetupFailed with libvirt's reason.
func (m *Manager) setupFail(op, pool string, err error) error {
	var le libvirt.Error
	if fault.As(err) == nil && errors.As(err, &le) && !isConnErr(err) {
		switch le.Code {
		case libvirt.ERR_NO_STORAGE_POOL, libvirt.ERR_OPERATION_INVALID, libvirt.ERR_NO_SUPPORT:
		default:
			m.log.Warn("pool setup failed", "op", op, "pool", pool, "err", err)
			return CodePoolSetupFailed.Wrap(err, "%s %q: %s", op, pool, le.Message)
		}
	}
	return m.storageFail(op, pool, "", err)
}

// MaxPathLen bounds a pool's target and source paths, in bytes.
const MaxPathLen = 1024

// maxDevices bounds a logical pool's physical volumes.
const maxDevices = 16

var (
	hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$`)
	// iqnRE is an iSCSI name (RFC 3720 §3.2.6.3): iqn., eui. or naa.
	iqnRE     = regexp.MustCompile(`^(iqn\.[0-9]{4}-[0-9]{2}\.[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[A-Za-z0-9.:_-]+)?|eui\.[0-9A-Fa-f]{16}|naa\.[0-9A-Fa-f]{16}([0-9A-Fa-f]{16})?)$`)
	adapterRE = regexp.MustCompile(`^host[0-9]{1,4}$`)
)

// srcErr is an invalid_pool_source naming the field, so a form shows it
// next to the input.
func srcErr(field, format string, args ...any) error {
	return CodeInvalidPoolSource.New(format, args...).WithDetails([]fault.Detail{{Field: "source." + field, Message: "invalid"}})
}

// validPoolPath checks a pool's target path: absolute, clean (no "..",
// no "//", no trailing '/'), not the root, printable ASCII.
func validPoolPath(path string) error {
	if err := validPath("a pool path", path); err != nil {
		return err.(*fault.Error).WithDetails([]fault.Detail{{Field: "path", Message: "invalid"}})
	}
	return nil
}

func validPath(what, path string) error {
	switch {
	case path == "":
		return CodeInvalidPoolPath.New("%s must not be empty", what)
	case len(path) > MaxPathLen:
		return CodeInvalidPoolPath.New("%s must be at most %d bytes long", what, MaxPathLen)
	case !filepath.IsAbs(path) || filepath.Clean(path) != path || path == "/":
		return CodeInvalidPoolPath.New("%s must be an absolute, clean path below /", what)
	}
	for i := 0; i < len(path); i++ {
		if path[i] < 0x21 || path[i] > 0x7e {
			return CodeInvalidPoolPath.New("%s may hold printable ASCII only, without spaces", what)
		}
	}
	return nil
}

// validDevice checks a block device path: a clean path below /dev.
func validDevice(path string) error {
	if err := validPath("a device path", path); err != nil {
		return srcErr("devices", "%s", err.(*fault.Error).Message)
	}
	if !strings.HasPrefix(path, "/dev/") {
		return srcErr("devices", "a device path must be below /dev/")
	}
	return nil
}

// validSourceHost accepts a host name or an IP address.
func validSourceHost(h string) error {
	if net.ParseIP(h) != nil || (len(h) <= 253 && hostnameRE.MatchString(h)) {
		return nil
	}
	return srcErr("host", "the source host must be a host name or an IP address")
}

// validIQN accepts an iSCSI qualified name of at most 223 bytes.
func validIQN(field, s string) error {
	if len(s) > 223 || !iqnRE.MatchString(s) {
		return srcErr(field, "%s must be an iSCSI name such as iqn.2004-04.org.example:disk1", field)
	}
	return nil
}

// poolPlan is how DefinePool makes one pool.
type poolPlan struct {
	doc   string
	build bool
	flags libvirt.StoragePoolBuildFlags
	// folder: the build makes the target folder (dir, fs, netfs).
	folder bool
	// deletable: a failed definition deletes what its build made (the
	// target folder, or the volume group and physical volumes).
	deletable bool
	path      string
}

// only refuses the source fields a type does not take.
func only(typ string, src *api.PoolSource, allowed ...string) error {
	set := map[string]bool{
		"host": src.Host != "", "port": src.Port != 0, "dir": src.Dir != "", "name": src.Name != "",
		"format": src.Format != "", "devices": len(src.Devices) > 0, "iqn": src.IQN != "",
		"initiator": src.Initiator != "", "adapter": src.Adapter != "",
	}
	for _, f := range []string{"host", "port", "dir", "name", "format", "devices", "iqn", "initiator", "adapter"} {
		if set[f] && !slices.Contains(allowed, f) {
			if len(allowed) == 0 {
				return srcErr(f, "a %s pool has no source", typ)
			}
			return srcErr(f, "a %s pool's source takes %s, not %s", typ, strings.Join(allowed, ", "), f)
		}
	}
	return nil
}

// formatOf is src.Format, or def when empty, checked against allowed.
func formatOf(typ string, src *api.PoolSource, def string, allowed []string) (string, error) {
	f := src.Format
	if f == "" {
		f = def
	}
	if !slices.Contains(allowed, f) {
		return "", srcErr("format", "a %s pool's format is one of %s", typ, strings.Join(allowed, ", "))
	}
	return f, nil
}

// oneDevice checks that src names exactly one valid device.
func oneDevice(typ string, src *api.PoolSource) ([]libvirtxml.StoragePoolSourceDevice, error) {
	if len(src.Devices) != 1 {
		return nil, srcErr("devices", "a %s pool has exactly one source device", typ)
	}
	return devices(src.Devices)
}

func devices(paths []string) ([]libvirtxml.StoragePoolSourceDevice, error) {
	if len(paths) > maxDevices {
		return nil, srcErr("devices", "at most %d devices", maxDevices)
	}
	out := make([]libvirtxml.StoragePoolSourceDevice, len(paths))
	for i, p := range paths {
		if err := validDevice(p); err != nil {
			return nil, err
		}
		if slices.Contains(paths[:i], p) {
			return nil, srcErr("devices", "device %s is named twice", p)
		}
		out[i] = libvirtxml.StoragePoolSourceDevice{Path: p}
	}
	return out, nil
}

// planPool validates a request and plans its definition and build.
func planPool(req api.PoolRequest) (poolPlan, error) {
	var plan poolPlan
	if err := ValidatePoolName(req.Name); err != nil {
		return plan, err
	}
	if !slices.Contains(PoolTypes, req.Type) {
		return plan, CodeUnknownPoolType.New("pool type must be one of %s", strings.Join(PoolTypes, ", ")).
			WithDetails([]fault.Detail{{Field: "type", Message: "invalid"}})
	}
	src := req.Source
	if src == nil {
		src = &api.PoolSource{}
	}
	x := libvirtxml.StoragePool{Type: req.Type, Name: req.Name}
	s := &libvirtxml.StoragePoolSource{}
	noBuild := func() error {
		if req.Build {
			return srcErr("build", "a %s pool has nothing to build", req.Type)
		}
		return nil
	}
	var err error
	switch req.Type {
	case "dir":
		err = only("dir", src)
		s = nil
		plan.build, plan.folder, plan.deletable = true, true, true
	case "fs":
		if err = only("fs", src, "devices", "format"); err != nil {
			break
		}
		if s.Device, err = oneDevice("fs", src); err != nil {
			break
		}
		var f string
		if f, err = formatOf("fs", src, "auto", FSFormats); err != nil {
			break
		}
		if req.Build && f == "auto" {
			err = srcErr("format", "building an fs pool makes a file system: name its format")
			break
		}
		s.Format = &libvirtxml.StoragePoolSourceFormat{Type: f}
		plan.build, plan.folder, plan.deletable = true, true, true
		if req.Build {
			plan.flags = libvirt.STORAGE_POOL_BUILD_NO_OVERWRITE
		}
	case "netfs":
		if err = only("netfs", src, "host", "dir", "format"); err != nil {
			break
		}
		if err = validSourceHost(src.Host); err != nil {
			break
		}
		if e := validPath("the source folder", src.Dir); e != nil {
			err = e.(*fault.Error).WithDetails([]fault.Detail{{Field: "source.dir", Message: "invalid"}})
			break
		}
		var f string
		if f, err = formatOf("netfs", src, NetFSFormats[0], NetFSFormats); err != nil {
			break
		}
		s.Host = []libvirtxml.StoragePoolSourceHost{{Name: src.Host}}
		s.Dir = &libvirtxml.StoragePoolSourceDir{Path: src.Dir}
		s.Format = &libvirtxml.StoragePoolSourceFormat{Type: f}
		plan.build, plan.folder, plan.deletable = true, true, true
	case "logical":
		if err = only("logical", src, "name", "devices"); err != nil {
			break
		}
		vg := src.Name
		if vg == "" {
			vg = req.Name
		}
		if err = validateIdent("volume group", vg, MaxPoolNameLen); err != nil {
			break
		}
		if s.Device, err = devices(src.Devices); err != nil {
			break
		}
		if req.Build && len(src.Devices) == 0 {
			err = srcErr("devices", "building a logical pool makes a volume group: name its devices")
			break
		}
		s.Name = vg
		s.Format = &libvirtxml.StoragePoolSourceFormat{Type: "lvm2"}
		if req.Path == "" {
			req.Path = "/dev/" + vg
		}
		if req.Build {
			plan.build, plan.deletable, plan.flags = true, true, libvirt.STORAGE_POOL_BUILD_NO_OVERWRITE
		}
	case "disk":
		if err = only("disk", src, "devices", "format"); err != nil {
			break
		}
		if s.Device, err = oneDevice("disk", src); err != nil {
			break
		}
		var f string
		if f, err = formatOf("disk", src, DiskFormats[0], DiskFormats); err != nil {
			break
		}
		s.Format = &libvirtxml.StoragePoolSourceFormat{Type: f}
		if req.Path == "" {
			req.Path = "/dev"
		}
		if req.Build {
			// A partition table cannot be taken back: no delete on failure.
			plan.build, plan.flags = true, libvirt.STORAGE_POOL_BUILD_NO_OVERWRITE
		}
	case "iscsi":
		if err = only("iscsi", src, "host", "port", "iqn", "initiator"); err == nil {
			err = noBuild()
		}
		if err != nil {
			break
		}
		if err = validSourceHost(src.Host); err != nil {
			break
		}
		if src.Port < 0 || src.Port > 65535 {
			err = srcErr("port", "the port must be between 1 and 65535")
			break
		}
		if err = validIQN("iqn", src.IQN); err != nil {
			break
		}
		h := libvirtxml.StoragePoolSourceHost{Name: src.Host}
		if src.Port != 0 {
			h.Port = strconv.Itoa(src.Port)
		}
		s.Host = []libvirtxml.StoragePoolSourceHost{h}
		s.Device = []libvirtxml.StoragePoolSourceDevice{{Path: src.IQN}}
		if src.Initiator != "" {
			if err = validIQN("initiator", src.Initiator); err != nil {
				break
			}
			s.Initiator = &libvirtxml.StoragePoolSourceInitiator{IQN: libvirtxml.StoragePoolSourceInitiatorIQN{Name: src.Initiator}}
		}
		if req.Path == "" {
			req.Path = "/dev/disk/by-path"
		}
	case "scsi":
		if err = only("scsi", src, "adapter"); err == nil {
			err = noBuild()
		}
		if err != nil {
			break
		}
		if !adapterRE.MatchString(src.Adapter) {
			err = srcErr("adapter", "the adapter is a SCSI host such as host0")
			break
		}
		s.Adapter = &libvirtxml.StoragePoolSourceAdapter{Type: "scsi_host", Name: src.Adapter}
		if req.Path == "" {
			req.Path = "/dev/disk/by-path"
		}
	}
	if err != nil {
		return plan, err
	}
	if err := validPoolPath(req.Path); err != nil {
		return plan, err
	}
	x.Source = s
	x.Target = &libvirtxml.StoragePoolTarget{Path: req.Path}
	plan.path = req.Path
	plan.doc, err = x.Marshal()
	if err != nil {
		return plan, fault.Internalf(err)
	}
	return plan, nil
}
