// Package policy embeds the default Casbin model and policy.
package policy

import _ "embed"

// Model is the default Casbin model (model.conf).
//
//go:embed model.conf
var Model string

// Policy is the default policy (policy.csv).
//
//go:embed policy.csv
var Policy string
