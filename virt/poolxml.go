package virt

import (
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// PoolTypes are the pool types libvirt knows; PoolTypesDefinable those
// this version defines. The others (fs, iscsi, scsi, disk) format or scan
// devices when built, which wants a confirmation step the API lacks yet.
var (
	PoolTypes          = []string{"dir", "fs", "netfs", "logical", "iscsi", "scsi", "disk"}
	PoolTypesDefinable = []string{"dir", "netfs", "logical"}
	// NetFSFormats are the network file systems a netfs pool mounts.
	NetFSFormats = []string{"nfs", "cifs", "glusterfs"}
)

// MaxPathLen bounds a pool's target and source paths, in bytes.
const MaxPathLen = 1024

var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$`)

// validPoolPath checks a pool's target path: absolute, clean (no "..",
// no "//", no trailing '/'), not the root, printable ASCII.
func validPoolPath(path string) error {
	return validPath("a pool path", path)
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

// validSourceHost accepts a host name or an IP address.
func validSourceHost(h string) error {
	if net.ParseIP(h) != nil || (len(h) <= 253 && hostnameRE.MatchString(h)) {
		return nil
	}
	return CodeInvalidPoolSource.New("the source host must be a host name or an IP address")
}

// needsBuild reports whether DefinePool builds the pool: a dir or netfs
// pool's build makes its target folder; a logical pool is defined over a
// volume group that exists (building one would write to devices).
func needsBuild(req api.PoolRequest) bool { return req.Type == "dir" || req.Type == "netfs" }

// poolXML is the definition of a pool from a request, through libvirtxml.
func poolXML(req api.PoolRequest) (string, error) {
	if err := ValidatePoolName(req.Name); err != nil {
		return "", err
	}
	switch {
	case slices.Contains(PoolTypesDefinable, req.Type):
	case slices.Contains(PoolTypes, req.Type):
		return "", notSupported("defining %s pools is not supported yet; define it with virsh and it is listed here", req.Type)
	default:
		return "", CodeUnknownPoolType.New("pool type must be one of %s", strings.Join(PoolTypes, ", "))
	}
	src := req.Source
	if src == nil {
		src = &api.PoolSource{}
	}
	x := libvirtxml.StoragePool{Type: req.Type, Name: req.Name}
	switch req.Type {
	case "dir":
		if *src != (api.PoolSource{}) {
			return "", CodeInvalidPoolSource.New("a dir pool has no source")
		}
	case "netfs":
		if err := validSourceHost(src.Host); err != nil {
			return "", err
		}
		if err := validPath("the source folder", src.Dir); err != nil {
			return "", err
		}
		format := src.Format
		if format == "" {
			format = NetFSFormats[0]
		}
		if !slices.Contains(NetFSFormats, format) || src.Name != "" {
			return "", CodeInvalidPoolSource.New("a netfs pool has a host, a folder and a format (%s)", strings.Join(NetFSFormats, ", "))
		}
		x.Source = &libvirtxml.StoragePoolSource{
			Host:   []libvirtxml.StoragePoolSourceHost{{Name: src.Host}},
			Dir:    &libvirtxml.StoragePoolSourceDir{Path: src.Dir},
			Format: &libvirtxml.StoragePoolSourceFormat{Type: format},
		}
	case "logical":
		if src.Host != "" || src.Dir != "" || src.Format != "" {
			return "", CodeInvalidPoolSource.New("a logical pool's source is the name of an existing volume group")
		}
		vg := src.Name
		if vg == "" {
			vg = req.Name
		}
		if err := validateIdent("volume group", vg, MaxPoolNameLen); err != nil {
			return "", err
		}
		x.Source = &libvirtxml.StoragePoolSource{Name: vg, Format: &libvirtxml.StoragePoolSourceFormat{Type: "lvm2"}}
		if req.Path == "" {
			req.Path = "/dev/" + vg
		}
	}
	if err := validPoolPath(req.Path); err != nil {
		return "", err
	}
	x.Target = &libvirtxml.StoragePoolTarget{Path: req.Path}
	return x.Marshal()
}
