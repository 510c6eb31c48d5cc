// Package e2e holds the end-to-end suites: the real server binary against
// qemu:///system with KVM (build tag e2e, run by `make e2e`), the browser
// suite in e2e/browser, and the benchmark program in e2e/bench.
package e2e
