package api

// GuestRef names one guest across hosts: guest names are unique on a host
// only, so whatever keys guests beyond one host (grants, roles, caches)
// keys them by both.
type GuestRef struct {
	Host string `json:"host"`
	Name string `json:"name"`
}

// String is host/name, for logs and errors.
func (g GuestRef) String() string { return g.Host + "/" + g.Name }

// Ref names vm by its host and name.
func (vm *VM) Ref() GuestRef { return GuestRef{Host: vm.Host, Name: vm.Name} }
