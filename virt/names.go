package virt

// MaxNameLen is the longest guest name accepted, in bytes.
const MaxNameLen = 64

// ValidateName checks a guest name before it reaches libvirt or a policy
// domain such as "vm:<name>". Names are restricted to a portable set because
// they end up in file names, URLs, Casbin domains and log lines: no path
// separators, no wildcards, no whitespace, no colons.
func ValidateName(name string) error { return validateIdent("guest", name, MaxNameLen) }

// MaxPoolNameLen and MaxVolumeNameLen bound pool and volume names, in bytes.
const (
	MaxPoolNameLen   = 64
	MaxVolumeNameLen = 128
)

// ValidatePoolName checks a pool name as ValidateName does a guest's: the
// name reaches libvirt, URLs, audit targets and the pool's folder.
func ValidatePoolName(name string) error { return validateIdent("pool", name, MaxPoolNameLen) }

// ValidateVolumeName checks a volume name: it becomes a file name in the
// pool, so separators, "..", NUL and non-ASCII look-alikes are refused.
func ValidateVolumeName(name string) error {
	return validateIdent("volume", name, MaxVolumeNameLen)
}

// validateIdent is the portable-name rule of ValidateName for another kind
// of object. A first character that is a letter or digit rules out ".",
// ".." and hidden files; no '/' rules out leaving the pool.
func validateIdent(kind, name string, max int) error {
	if name == "" {
		return CodeInvalidName.New("a %s name must not be empty", kind)
	}
	if len(name) > max {
		return CodeInvalidName.New("a %s name must be at most %d bytes long", kind, max)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '+' || c == '-'):
		default:
			return CodeInvalidName.New("a %s name must start with a letter or digit and contain only letters, digits, '.', '_', '+' and '-'", kind)
		}
	}
	return nil
}
