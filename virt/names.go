package virt

// MaxNameLen is the longest guest name accepted, in bytes.
const MaxNameLen = 64

// ValidateName checks a guest name before it reaches libvirt or a policy
// domain such as "vm:<name>". Names are restricted to a portable set because
// they end up in file names, URLs, Casbin domains and log lines: no path
// separators, no wildcards, no whitespace, no colons.
func ValidateName(name string) error {
	if name == "" {
		return CodeInvalidName.New("a guest name must not be empty")
	}
	if len(name) > MaxNameLen {
		return CodeInvalidName.New("a guest name must be at most %d bytes long", MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '+' || c == '-'):
		default:
			return CodeInvalidName.New("a guest name must start with a letter or digit and contain only letters, digits, '.', '_', '+' and '-'")
		}
	}
	return nil
}
