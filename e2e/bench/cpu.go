package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of /proc/PID/stat's CPU times (USER_HZ, 100 on
// Linux for as long as it has had /proc).
const clockTick = 10 * time.Millisecond

// procCPU is the user and system CPU time a running process has used.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces: the fields start after its ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * clockTick
}

// childrenCPU is the CPU time of every child this process has waited for.
func childrenCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// libvirtdPID finds the running libvirtd, or 0.
func libvirtdPID() int {
	out, err := exec.Command("pgrep", "-x", "-o", "libvirtd").Output()
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return pid
}

// cpuUse is the CPU a measured step cost each party.
type cpuUse struct{ child, server, daemon time.Duration }

// measureCPU runs f and says what it cost the children this process
// waits for, the portal server (pid; 0: none) and libvirtd.
func measureCPU(server int, f func() error) (cpuUse, error) {
	lv := libvirtdPID()
	c0, s0, d0 := childrenCPU(), procCPU(server), procCPU(lv)
	err := f()
	return cpuUse{childrenCPU() - c0, procCPU(server) - s0, procCPU(lv) - d0}, err
}
