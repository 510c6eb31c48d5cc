package main

import (
	"encoding"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/auth/ldap"
	"github.com/virtportal/virtportal/virt"
	"github.com/virtportal/virtportal/virt/osinfo"
)

// Config is the server's configuration. Every leaf is also a flag
// (--libvirt-uri) and an environment variable (VIRTPORTAL_LIBVIRT_URI),
// derived from its yaml key, so the three can never drift apart.
type Config struct {
	Listen    string `yaml:"listen" usage:"address to listen on (host:port)"`
	DataDir   string `yaml:"data_dir" usage:"directory for the database and keys"`
	Demo      bool   `yaml:"demo" usage:"demo mode: libvirt test driver with sample guests, a printed admin password"`
	AllowRoot bool   `yaml:"allow_root" usage:"allow running as root (demo and tests only)"`
	TLS       struct {
		Cert string `yaml:"cert" usage:"TLS certificate file (PEM); enables HTTPS"`
		Key  string `yaml:"key" usage:"TLS private key file (PEM)"`
	} `yaml:"tls"`
	// Hosts lists the libvirt hosts by short name (file only); absent,
	// libvirt.uri is the one host "local". This version connects one host.
	Hosts   []HostConfig `yaml:"hosts" usage:"-"`
	Libvirt struct {
		URI           string        `yaml:"uri" usage:"libvirt connection URI"`
		StatsInterval time.Duration `yaml:"stats_interval" usage:"how often guest statistics are sampled"`
	} `yaml:"libvirt"`
	// Stats tunes the statistics sampler (issue 12).
	Stats struct {
		Sampler bool `yaml:"sampler" usage:"sample the host's /proc each second and keep the statistics history (off: only the guest rates of the list)"`
	} `yaml:"stats"`
	// Metrics tunes /metrics (issue 12).
	Metrics struct {
		GuestNames bool `yaml:"guest_names" usage:"label per-guest metrics with guest names (off: names are the tenants')"`
	} `yaml:"metrics"`
	// OSInfo is the osinfo database ISOs are recognised by (issue 9).
	OSInfo struct {
		Path string `yaml:"path" usage:"folder of the osinfo database (Debian package osinfo-db); a newer copy may be pointed at"`
	} `yaml:"osinfo"`
	// Volumes tunes volume downloads from URLs (issue 9).
	Volumes struct {
		FromURL struct {
			MaxSize       ByteSize `yaml:"max_size" usage:"largest file a volume may be downloaded from a URL (e.g. 64GiB)"`
			AllowNetworks []string `yaml:"allow_networks" usage:"comma-separated networks (CIDR prefixes or addresses) downloads may reach although loopback, private or link-local"`
		} `yaml:"from_url"`
	} `yaml:"volumes"`
	// Storage: host paths administrators may attach to guests (issue 11).
	Storage struct {
		HostPathRoots []string `yaml:"host_path_roots" usage:"comma-separated folders administrators may attach host paths (files, block devices) from; empty: none"`
	} `yaml:"storage"`
	Session struct {
		IdleTimeout     time.Duration `yaml:"idle_timeout" usage:"a session ends after this long without requests"`
		AbsoluteTimeout time.Duration `yaml:"absolute_timeout" usage:"a session ends this long after login, however active"`
		GroupRefresh    time.Duration `yaml:"group_refresh" usage:"how often a session's groups and roles are re-read from its realm (0: only at login)"`
	} `yaml:"session"`
	Timeouts struct {
		ReadHeader time.Duration `yaml:"read_header" usage:"time to read request headers"`
		Read       time.Duration `yaml:"read" usage:"time to read a whole request"`
		Write      time.Duration `yaml:"write" usage:"time to write a response"`
		Idle       time.Duration `yaml:"idle" usage:"keep-alive idle time"`
		Shutdown   time.Duration `yaml:"shutdown" usage:"grace period for in-flight requests on SIGTERM"`
	} `yaml:"timeouts"`
	Limits struct {
		RequestBody ByteSize `yaml:"request_body" usage:"largest request body accepted (e.g. 1MiB)"`
	} `yaml:"limits"`
	// Realms are offered on the login page in this order: pam, ldap, local.
	Realms struct {
		PAM struct {
			Enabled        bool `yaml:"enabled" usage:"enable system accounts (PAM through virtportal-helper)"`
			auth.PAMConfig `yaml:",inline"`
		} `yaml:"pam"`
		LDAP struct {
			Enabled     bool `yaml:"enabled" usage:"enable the LDAP / Active Directory realm"`
			ldap.Config `yaml:",inline"`
		} `yaml:"ldap"`
		Local struct {
			Enabled bool `yaml:"enabled" usage:"enable the local (database) realm, the break-glass accounts"`
		} `yaml:"local"`
	} `yaml:"realms"`
	Console struct {
		TokenTTL         time.Duration `yaml:"token_ttl" usage:"how long a one-time console token waits for its WebSocket"`
		IdleTimeout      time.Duration `yaml:"idle_timeout" usage:"a console with no traffic either way for this long closes"`
		Keepalive        time.Duration `yaml:"keepalive" usage:"WebSocket ping period of a console; a ping unanswered within it closes the console"`
		MaxPerUser       int           `yaml:"max_per_user" usage:"live consoles per user"`
		MaxPerGuest      int           `yaml:"max_per_guest" usage:"live consoles per guest"`
		ScreenshotCache  time.Duration `yaml:"screenshot_cache" usage:"how long a guest's screenshot is reused before a new one is taken"`
		SpicePasswordTTL time.Duration `yaml:"spice_password_ttl" usage:"validity of the one-time password set on a SPICE display"`
	} `yaml:"console"`
	Tasks struct {
		PerHost   int           `yaml:"per_host" usage:"tasks running at once per host; the rest queue"`
		PerUser   int           `yaml:"per_user" usage:"tasks running at once per user; the rest queue"`
		Heartbeat time.Duration `yaml:"heartbeat" usage:"period of the event stream's keep-alive comment and session check"`
	} `yaml:"tasks"`
	// Uploads are resumable volume uploads (issue 9).
	Uploads struct {
		MaxSize       ByteSize      `yaml:"max_size" usage:"largest upload accepted (e.g. 64GiB)"`
		Expiry        time.Duration `yaml:"expiry" usage:"an unfinished upload untouched this long is deleted with its partial volume"`
		SweepInterval time.Duration `yaml:"sweep_interval" usage:"how often expired uploads are looked for"`
		ViaStream     bool          `yaml:"via_stream" usage:"write every upload through libvirt's volume stream, also into a local file pool the portal could write at copy speed (a remote host always uses the stream)"`
	} `yaml:"uploads"`
	// Clone tunes guest clones (issue 10).
	Clone struct {
		DefaultPool string `yaml:"default_pool" usage:"pool a clone's disk copy goes to when its own pool is short of space or cannot make volumes (iscsi, scsi)"`
	} `yaml:"clone"`
	Audit struct {
		Retention time.Duration `yaml:"retention" usage:"audit events older than this are purged"`
	} `yaml:"audit"`
	Policy struct {
		Model string `yaml:"model" usage:"Casbin model file overriding the embedded one"`
		File  string `yaml:"file" usage:"Casbin policy file overriding the embedded one"`
	} `yaml:"policy"`
	PublicURL      string   `yaml:"public_url" usage:"how browsers reach the portal, e.g. https://portal.example.org: only that Host is served (besides addresses and localhost), Origin must match it, https makes cookies Secure"`
	TrustedProxies []string `yaml:"trusted_proxies" usage:"comma-separated proxies (addresses or CIDR prefixes) whose X-Forwarded-For, -Proto and -Prefix are believed"`
	Log            struct {
		Level  string `yaml:"level" usage:"debug, info, warn or error"`
		Format string `yaml:"format" usage:"text or json"`
	} `yaml:"log"`
}

func defaults() Config {
	var c Config
	c.Listen = "127.0.0.1:8080"
	c.DataDir = "/var/lib/virtportal"
	c.Libvirt.URI = "qemu:///system"
	c.Libvirt.StatsInterval = time.Second
	c.Stats.Sampler = true
	c.OSInfo.Path = osinfo.DefaultPath
	c.Volumes.FromURL.MaxSize = 64 << 30
	c.Session.IdleTimeout = 30 * time.Minute
	c.Session.AbsoluteTimeout = 12 * time.Hour
	c.Session.GroupRefresh = 5 * time.Minute
	c.Timeouts.ReadHeader = 10 * time.Second
	c.Timeouts.Read = 30 * time.Second
	c.Timeouts.Write = 60 * time.Second
	c.Timeouts.Idle = 120 * time.Second
	c.Timeouts.Shutdown = 20 * time.Second
	c.Limits.RequestBody = 1 << 20
	c.Realms.Local.Enabled = true
	c.Realms.PAM.PAMConfig = auth.DefaultPAMConfig()
	c.Console.TokenTTL = 30 * time.Second
	c.Console.IdleTimeout = 15 * time.Minute
	c.Console.Keepalive = 20 * time.Second
	c.Console.MaxPerUser = 8
	c.Console.MaxPerGuest = 4
	c.Console.ScreenshotCache = 5 * time.Second
	c.Console.SpicePasswordTTL = 60 * time.Second
	c.Tasks.PerHost = 4
	c.Tasks.PerUser = 2
	c.Tasks.Heartbeat = 15 * time.Second
	c.Uploads.MaxSize = 64 << 30
	c.Uploads.Expiry = 24 * time.Hour
	c.Uploads.SweepInterval = 10 * time.Minute
	c.Clone.DefaultPool = "default"
	c.Audit.Retention = 90 * 24 * time.Hour
	c.Log.Level = "info"
	c.Log.Format = "text"
	return c
}

// HostConfig is one libvirt host the portal manages.
type HostConfig struct {
	Name string `yaml:"name"`
	URI  string `yaml:"uri"`
}

// maxHosts is how many hosts this version connects.
const maxHosts = 1

// hostList is the host registry: the hosts setting, or libvirt.uri as the
// one host "local".
func (c Config) hostList() ([]HostConfig, error) {
	if len(c.Hosts) == 0 {
		return []HostConfig{{Name: "local", URI: c.Libvirt.URI}}, nil
	}
	if len(c.Hosts) > maxHosts {
		return nil, fmt.Errorf("hosts: this version connects %d host, not %d", maxHosts, len(c.Hosts))
	}
	seen := map[string]bool{}
	for i, h := range c.Hosts {
		if err := virt.ValidateName(h.Name); err != nil {
			return nil, fmt.Errorf("hosts[%d].name %q: a host name starts with a letter or digit and holds letters, digits, '.', '_', '+', '-' (at most %d bytes)", i, h.Name, virt.MaxNameLen)
		}
		if seen[h.Name] {
			return nil, fmt.Errorf("hosts[%d]: name %q twice", i, h.Name)
		}
		seen[h.Name] = true
		if strings.TrimSpace(h.URI) == "" {
			return nil, fmt.Errorf("hosts[%d] (%s): uri is empty", i, h.Name)
		}
	}
	return c.Hosts, nil
}

// ByteSize is a size in bytes written as 1048576, 512KiB, 1MiB or 1GiB.
type ByteSize int64

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *ByteSize) UnmarshalText(t []byte) error {
	s := strings.TrimSpace(string(t))
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSuffix(s, suffix), m
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("bad size %q (want e.g. 1048576 or 1MiB)", string(t))
	}
	*b = ByteSize(n * mult)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(strconv.FormatInt(int64(b), 10)), nil }

// setting is one configuration leaf.
type setting struct {
	key   string // yaml path, e.g. libvirt.uri
	usage string
	v     reflect.Value
}

func (s setting) flagName() string { return strings.NewReplacer(".", "-", "_", "-").Replace(s.key) }
func (s setting) envName() string {
	return "VIRTPORTAL_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(s.key))
}

func settings(c *Config) []setting {
	var out []setting
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("yaml")
			key := prefix + strings.Split(tag, ",")[0]
			fv := v.Field(i)
			if f.Tag.Get("usage") == "-" { // a list of records: the file only
				continue
			}
			if strings.HasSuffix(tag, ",inline") {
				walk(prefix, fv)
				continue
			}
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Time]() {
				walk(key+".", fv)
				continue
			}
			out = append(out, setting{key: key, usage: f.Tag.Get("usage"), v: fv})
		}
	}
	walk("", reflect.ValueOf(c).Elem())
	return out
}

// set parses text into the setting's field.
func (s setting) set(text string) error {
	v := s.v
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(text))
	}
	switch v.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(text)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Slice:
		var parts []string
		for p := range strings.SplitSeq(text, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("unsupported setting type %s", v.Type())
	}
	return nil
}

// flagValue collects a flag's text to apply after the file and environment.
type flagValue struct {
	text   *string
	isBool bool
}

func (f flagValue) String() string {
	if f.text == nil {
		return ""
	}
	return *f.text
}
func (f flagValue) Set(s string) error { *f.text = s; return nil }
func (f flagValue) IsBoolFlag() bool   { return f.isBool }

// loadConfig applies, in order: defaults, the --config file, VIRTPORTAL_*
// variables, then flags.
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	c := defaults()
	configPath := fs.String("config", getenv("VIRTPORTAL_CONFIG"), "configuration file (YAML)")
	ss := settings(&c)
	texts := make(map[string]*string, len(ss))
	for _, s := range ss {
		t := new(string)
		texts[s.flagName()] = t
		fs.Var(flagValue{text: t, isBool: s.v.Kind() == reflect.Bool}, s.flagName(), fmt.Sprintf("%s (env %s)", s.usage, s.envName()))
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *configPath != "" {
		b, err := os.ReadFile(*configPath)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		if err := yaml.UnmarshalWithOptions(b, &c, yaml.Strict()); err != nil {
			return c, fmt.Errorf("config %s: %w", *configPath, err)
		}
	}
	for _, s := range ss {
		if v := getenv(s.envName()); v != "" {
			if err := s.set(v); err != nil {
				return c, fmt.Errorf("%s: %w", s.envName(), err)
			}
		}
	}
	var ferr error
	fs.Visit(func(f *flag.Flag) {
		for _, s := range ss {
			if s.flagName() == f.Name && ferr == nil {
				if err := s.set(*texts[f.Name]); err != nil {
					ferr = fmt.Errorf("--%s: %w", f.Name, err)
				}
			}
		}
	})
	return c, ferr
}

// MinIdleTimeout is the shortest session idle timeout accepted. A session's
// expiry slides at most once every tenth of it (and at least once a
// minute), so shorter timeouts would work, but under a minute a person
// reading a page is logged out: that is a misconfiguration.
const MinIdleTimeout = time.Minute

// validate refuses settings that load but cannot work.
func (c Config) validate() error {
	if c.Session.IdleTimeout < MinIdleTimeout {
		return fmt.Errorf("session.idle_timeout %s is under the minimum of %s", c.Session.IdleTimeout, MinIdleTimeout)
	}
	if c.Session.AbsoluteTimeout < c.Session.IdleTimeout {
		return fmt.Errorf("session.absolute_timeout %s is shorter than session.idle_timeout %s", c.Session.AbsoluteTimeout, c.Session.IdleTimeout)
	}
	return nil
}
