// Package cidata builds cloud-init NoCloud seeds: the user-data,
// meta-data and network-config documents (YAML written by a YAML library,
// never by joining strings) and the ISO 9660 image, volume id "cidata",
// that carries them to the guest.
package cidata

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/goccy/go-yaml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// VolumeID is the ISO volume id cloud-init's NoCloud source looks for.
const VolumeID = "cidata"

// MaxUserData bounds the extra user-data a template or request carries.
const MaxUserData = 64 << 10

// CodeInvalidUserData: the extra user-data is not a #cloud-config mapping.
var CodeInvalidUserData = fault.Define("cloud_init_invalid", fault.Invalid)

// Seed is what a NoCloud seed holds, as files.
type Seed struct {
	UserData      []byte
	MetaData      []byte
	NetworkConfig []byte
}

// Build makes the seed documents for a guest: hostname, instance id, and
// ci's user, keys and password hash; ci.UserData (a #cloud-config mapping)
// is merged in first, so that ours win for the keys we set.
func Build(ci api.CloudInit, hostname, instanceID string) (Seed, error) {
	ud, err := UserData(ci, hostname)
	if err != nil {
		return Seed{}, err
	}
	md, err := yaml.Marshal(yaml.MapSlice{
		{Key: "instance-id", Value: instanceID},
		{Key: "local-hostname", Value: hostname},
	})
	if err != nil {
		return Seed{}, fmt.Errorf("meta-data: %w", err)
	}
	// DHCP on every ethernet NIC: the network is libvirt's.
	nc, err := yaml.Marshal(yaml.MapSlice{
		{Key: "version", Value: 2},
		{Key: "ethernets", Value: yaml.MapSlice{
			{Key: "all", Value: yaml.MapSlice{
				{Key: "match", Value: yaml.MapSlice{{Key: "name", Value: "e*"}}},
				{Key: "dhcp4", Value: true},
			}},
		}},
	})
	if err != nil {
		return Seed{}, fmt.Errorf("network-config: %w", err)
	}
	return Seed{UserData: ud, MetaData: md, NetworkConfig: nc}, nil
}

// UserData renders the #cloud-config document. Extra user-data must be a
// YAML mapping (with or without the #cloud-config line); its keys are kept
// unless ours replace them (hostname, users, ssh_pwauth).
func UserData(ci api.CloudInit, hostname string) ([]byte, error) {
	if len(ci.UserData) > MaxUserData {
		return nil, CodeInvalidUserData.New("user-data is larger than %d bytes", MaxUserData)
	}
	if err := Check(ci, hostname); err != nil {
		return nil, err
	}
	doc := map[string]any{}
	if strings.TrimSpace(ci.UserData) != "" {
		if err := yaml.Unmarshal([]byte(ci.UserData), &doc); err != nil {
			return nil, CodeInvalidUserData.New("user-data is not YAML: %v", firstLine(err.Error()))
		}
		if doc == nil {
			doc = map[string]any{}
		}
	}
	if hostname != "" {
		doc["hostname"] = hostname
		doc["preserve_hostname"] = false
	}
	if ci.User != "" {
		u := map[string]any{
			"name":        ci.User,
			"shell":       "/bin/bash",
			"sudo":        "ALL=(ALL) NOPASSWD:ALL",
			"lock_passwd": ci.PasswordHash == "",
		}
		keys := nonEmpty(ci.SSHKeys)
		if len(keys) > 0 {
			u["ssh_authorized_keys"] = keys
		}
		if ci.PasswordHash != "" {
			u["passwd"] = ci.PasswordHash
		}
		doc["users"] = []any{"default", u}
		doc["ssh_pwauth"] = ci.PasswordHash != ""
	} else if keys := nonEmpty(ci.SSHKeys); len(keys) > 0 {
		doc["ssh_authorized_keys"] = keys
	}
	out, err := yaml.MarshalWithOptions(doc, yaml.UseLiteralStyleIfMultiline(true))
	if err != nil {
		return nil, CodeInvalidUserData.New("user-data cannot be written: %v", firstLine(err.Error()))
	}
	var b bytes.Buffer
	b.WriteString("#cloud-config\n")
	b.Write(out)
	return b.Bytes(), nil
}

// Check refuses what YAML cannot carry faithfully: text that is not
// UTF-8, and control characters in the one-line fields.
func Check(ci api.CloudInit, hostname string) error {
	line := map[string]string{"user": ci.User, "password_hash": ci.PasswordHash, "hostname": hostname}
	for i, k := range ci.SSHKeys {
		line[fmt.Sprintf("ssh_keys[%d]", i)] = k
	}
	for field, v := range line {
		if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) || len(v) > 16<<10 {
			return CodeInvalidUserData.New("%s must be one line of UTF-8 text", field)
		}
	}
	if !utf8.ValidString(ci.UserData) || strings.ContainsFunc(ci.UserData, func(r rune) bool {
		return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r'
	}) {
		return CodeInvalidUserData.New("user_data must be UTF-8 text without control characters")
	}
	return nil
}

func nonEmpty(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// Files is the seed as the ISO's files, in a fixed order.
func (s Seed) Files() []File {
	return []File{
		{Name: "meta-data", Data: s.MetaData},
		{Name: "network-config", Data: s.NetworkConfig},
		{Name: "user-data", Data: s.UserData},
	}
}

// ISO renders the seed as its ISO image.
func (s Seed) ISO() ([]byte, error) { return WriteISO(VolumeID, s.Files()) }
